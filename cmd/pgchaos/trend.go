package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/pgchaos/pgchaos/reports"
	"github.com/spf13/cobra"
)

// newReportTrendCmd is `pgchaos report trend`: several nights side by side,
// regressions of the newest first.
func newReportTrendCmd() *cobra.Command {
	var out string
	var opts reports.TrendOptions
	cmd := &cobra.Command{
		Use:   "trend DIR... [-o FILE] [--margin F] [--min-delta S]",
		Short: "Several nights' runs side by side: status and unavailability per night, the newest night's regressions first",
		Long: `Reads results.json of each run directory (one per night; their order is
taken from the runs' start times) and prints, per configuration (operator,
version, replication mode) and scenario, each night's status, unavailability
p50 (the median over its trials of the longest window) and lost writes.
A regression of the newest night against the latest earlier night that ran
the same scenario: it passed and fails now; its p50 is worse by more than
--margin (a fraction) and by at least --min-delta seconds; it lost writes
where none were lost. Regressions are listed first; -o FILE writes the same
as HTML with a small chart per row. Exit 1 when the newest night regressed,
0 otherwise, 2 on bad input.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr("report trend: give the run directories of the nights (each with results.json)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Margin < 0 || opts.MinDelta < 0 {
				return usageErr("report trend: --margin and --min-delta must not be negative")
			}
			runs, err := reports.LoadRunResults(args)
			switch {
			case errors.Is(err, reports.ErrNoResults):
				return usageErr("report trend: %v (give the --out directories of 'pgchaos run' or 'pgchaos certify')", err)
			case err != nil:
				return usageErr("report trend: %v", err)
			}
			tr := reports.BuildTrend(runs, opts)
			if out != "" {
				var b bytes.Buffer
				if err := tr.HTML(&b); err != nil {
					return usageErr("report trend: %v", err)
				}
				if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
					return usageErr("report trend: %v", err)
				}
			}
			if err := tr.Text(cmd.OutOrStdout()); err != nil {
				return err
			}
			if out != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "trend: %s\n", out)
			}
			if len(tr.Regressions) > 0 {
				return &exitError{code: exitFailed}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "also write the trend as HTML to FILE")
	cmd.Flags().Float64Var(&opts.Margin, "margin", 0.5, "p50 regression: worse by more than this fraction of the previous night's")
	cmd.Flags().Float64Var(&opts.MinDelta, "min-delta", 1, "p50 regression: and by at least this many seconds")
	return cmd
}
