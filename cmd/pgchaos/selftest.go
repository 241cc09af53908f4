package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pgchaos/pgchaos/internal/selftest"
	"github.com/spf13/cobra"
)

func newSelftestCmd() *cobra.Command {
	var (
		out  string
		only []string
		keep bool
	)
	cmd := &cobra.Command{
		Use:   "selftest [--out DIR]",
		Short: "Prove the detectors on real PostgreSQL servers started on loopback",
		Long: `Starts a real PostgreSQL primary and two streaming replicas on 127.0.0.1
from the machine's PostgreSQL binaries, once per scenario, runs the workload,
injects faults by hand and shows that each detector fires when it must and
stays silent when it must not:
  ` + strings.Join(selftest.Names(), ", ") + `
Prints one row per scenario (expected, observed, verdict). Exit code 1 if any
detector misbehaved, 2 if the self-test could not run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				d, err := os.MkdirTemp("", "pgchaos-selftest-")
				if err != nil {
					return usageErr("selftest: %v", err)
				}
				out = d
			}
			out, _ = filepath.Abs(out)
			errw := cmd.ErrOrStderr()
			res, err := selftest.Run(cmd.Context(), selftest.Options{
				Out: out, Only: only, Keep: keep, Version: version,
				Progress: func(sc, step string) {
					fmt.Fprintf(errw, "%s  %-15s %s\n", time.Now().Format("15:04:05.000"), sc, step)
				},
			})
			if len(res) > 0 {
				printSelftest(cmd, res)
			}
			if err != nil {
				return usageErr("selftest: %v", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "trials and verdicts: %s\n", out)
			if path, err := renderReport(out); err != nil {
				fmt.Fprintf(errw, "report not written: %v\n", err)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "report: %s\n", path)
			}
			for _, r := range res {
				if !r.OK {
					return &exitError{code: exitFailed, msg: "selftest: a detector misbehaved (see the rows marked MISBEHAVED)"}
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "directory for the scenarios' trials (default: a new temporary directory)")
	cmd.Flags().StringSliceVar(&only, "scenario", nil, "run only these scenarios")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the servers' data directories")
	return cmd
}

func printSelftest(cmd *cobra.Command, res []selftest.Result) {
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tEXPECTED\tOBSERVED\tVERDICT")
	for _, r := range res {
		v := "ok"
		if !r.OK {
			v = "MISBEHAVED: " + strings.Join(r.Problems, "; ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Scenario, r.Expected, r.Observed, v)
	}
	_ = tw.Flush()
}
