package main

import (
	"fmt"
	"time"

	"github.com/pgchaos/pgchaos/history"
	"github.com/spf13/cobra"
)

// newLatencyCmd is `pgchaos latency DIR...`: commit latency around each
// fault window of recorded trials (the proof of a slow-storage fault).
func newLatencyCmd() *cobra.Command {
	var settle, wantRise time.Duration
	cmd := &cobra.Command{
		Use:   "latency TRIAL_DIR...",
		Short: "Commit latency of acknowledged writes before, during and after each fault window of a trial",
		Long: `Reads each trial's ledger and prints, for every fault window, the median and
p95 of Return - Invoke of the acknowledged writes invoked before the fault, during
it and after its recovery (writes invoked within --settle after a change left out),
and how much the median rose during the window. With --want-rise D it fails
(exit 1) unless every window raised the median by at least D and the median
after it came back within D/2 of the one before.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var bad []string
			for _, dir := range args {
				tr, err := history.Load(dir)
				if err != nil {
					return usageErr("latency: %v", err)
				}
				for _, f := range history.CommitLatency(tr, settle) {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %s on %s, %.1fs to %.1fs\n  before: %s\n  during: %s\n  after:  %s\n  median rise during the window: %s\n",
						dir, f.Fault.Name, f.Fault.Target, f.Fault.Injected.Seconds(), f.Fault.Recovered.Seconds(),
						f.Before, f.During, f.After, f.Rise().Round(10*time.Microsecond))
					if wantRise <= 0 {
						continue
					}
					if f.Rise() < wantRise {
						bad = append(bad, fmt.Sprintf("%s: %s raised the median by %s, want >= %s", dir, f.Fault.Name, f.Rise(), wantRise))
					}
					if f.After.N == 0 || f.After.Median-f.Before.Median >= wantRise/2 {
						bad = append(bad, fmt.Sprintf("%s: after %s the median is %s (before: %s): not back", dir, f.Fault.Name, f.After.Median, f.Before.Median))
					}
				}
			}
			if len(bad) > 0 {
				for _, b := range bad {
					fmt.Fprintln(cmd.ErrOrStderr(), b)
				}
				return &exitError{code: exitFailed}
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&settle, "settle", 100*time.Millisecond, "leave out writes invoked this soon after a change")
	cmd.Flags().DurationVar(&wantRise, "want-rise", 0, "fail unless each window raised the median by this much and it came back after")
	return cmd
}
