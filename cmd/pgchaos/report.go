package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/reports"
	"github.com/spf13/cobra"
)

func newReportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Reports people read: the HTML scorecard and timelines, a Markdown summary",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErr("report: unknown subcommand %q (use 'pgchaos report render DIR' or 'pgchaos report summary DIR')", args[0])
			}
			return usageErr("report: give a subcommand: 'pgchaos report render DIR [-o FILE]' or 'pgchaos report summary DIR'")
		},
		RunE: func(*cobra.Command, []string) error { return nil },
	}
	cmd.AddCommand(newReportRenderCmd(), newReportSummaryCmd())
	return cmd
}

// loadRun reads DIR for a report subcommand, turning every failure into
// bad input (exit 2) with one line saying what to give.
func loadRun(sub, dir string) (reports.Run, error) {
	run, err := reports.LoadRun(dir)
	switch {
	case errors.Is(err, reports.ErrNoTrial), errors.Is(err, history.ErrNoLedger):
		return run, usageErr("report %s: %s holds no trial (no %s in it or its subdirectories); give a trial directory or a directory of them", sub, dir, history.LedgerFile)
	case err != nil:
		return run, usageErr("report %s: %v", sub, err)
	}
	return run, nil
}

func oneDir(sub string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usageErr("report %s: give exactly one directory (a trial directory or a directory of them)", sub)
		}
		return nil
	}
}

func newReportRenderCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "render DIR [-o FILE]",
		Short: "Write one self-contained HTML report of the trials in DIR",
		Long: `Reads DIR, a trial directory or a directory of trial directories (such as
the --out of 'pgchaos selftest'; one more level, scenario/trial, is read
too), with each trial's verdict.json when it has one, and writes one HTML file that opens from disk with no network access:
the scorecard, a timeline chart per trial, the evidence of each failed
verdict, the timeline history and how each trial was run. A trial without
verdict.json is shown as not checked.
Exit codes: 0 written, 2 bad input or the file could not be written.`,
		Args: oneDir("render"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			run, err := loadRun("render", dir)
			if err != nil {
				return err
			}
			if out == "" {
				out = filepath.Join(dir, "report.html")
			}
			if err := writeReport(run, out); err != nil {
				return usageErr("report render: %v", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d trial%s)\n", out, len(run.Trials), map[bool]string{true: "", false: "s"}[len(run.Trials) == 1])
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write (default DIR/report.html)")
	return cmd
}

func newReportSummaryCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "summary DIR",
		Short: "Print a Markdown summary of the trials in DIR (for CI job summaries and pull requests)",
		Long: `Reads DIR like 'pgchaos report render' and prints a Markdown table to
standard output: one row per trial, one column per verdict with its status
and key figure, and a line for each failed or unknown verdict.
Exit codes: 0 printed, 2 bad input.`,
		Args: oneDir("summary"),
		RunE: func(cmd *cobra.Command, args []string) error {
			run, err := loadRun("summary", args[0])
			if err != nil {
				return err
			}
			if err := reports.Markdown(cmd.OutOrStdout(), run); err != nil {
				return usageErr("report summary: %v", err)
			}
			return nil
		},
	}
}

// writeReport renders run into out through a temporary file, so a reader
// never sees half a report.
func writeReport(run reports.Run, out string) error {
	var buf bytes.Buffer
	if err := reports.Render(&buf, run); err != nil {
		return err
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", out, err)
	}
	return nil
}

// renderReport writes DIR/report.html for the trials in dir.
func renderReport(dir string) (string, error) {
	run, err := reports.LoadRun(dir)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "report.html")
	return out, writeReport(run, out)
}
