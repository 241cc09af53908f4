package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/reports"
	"github.com/spf13/cobra"
)

func newReportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Reports people read: the HTML scorecard and timelines, a Markdown summary, runs compared",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErr("report: unknown subcommand %q (use 'pgchaos report render DIR', 'pgchaos report summary DIR' or 'pgchaos report compare DIR... -o FILE')", args[0])
			}
			return usageErr("report: give a subcommand: 'pgchaos report render DIR [-o FILE]', 'pgchaos report summary DIR' or 'pgchaos report compare DIR... -o FILE'")
		},
		RunE: func(*cobra.Command, []string) error { return nil },
	}
	cmd.AddCommand(newReportRenderCmd(), newReportSummaryCmd(), newReportCompareCmd(), newReportTrendCmd())
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
verdict, the timeline history and how each trial was run, and when DIR holds
results.json (from 'pgchaos run', any version) the run's versions, budgets
and schedule. A trial without verdict.json is shown as not checked.
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

func newReportCompareCmd() *cobra.Command {
	var out string
	var allow bool
	cmd := &cobra.Command{
		Use:   "compare DIR... -o FILE [--allow-mismatch]",
		Short: "Write one HTML comparison of runs (operators, async vs sync) side by side",
		Long: `Reads results.json of each run directory DIR (as written by 'pgchaos run';
any version so far) and writes FILE: one self-contained HTML file with a
column per configuration (run, operator, replication mode) and a row per
scenario and verdict: status and figures (lost writes, seconds unavailable;
p50/p95/max over repeated trials), the cells where the configurations differ
outlined, and which configuration held every expectation. One DIR with both
asynchronous and synchronous trials compares the two. When FILE ends in .md,
FILE is Markdown and the HTML goes next to it (same name, .html).
Refuses runs whose scenarios, budgets or schedule differ (RTO and replication
budgets, warm-up, hold, cool-down, clients, rate) unless --allow-mismatch,
which compares them with a warning listing the differences.
Exit codes: 0 written, 2 bad input, runs not comparable, or the file could
not be written.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr("report compare: give one or more run directories (each with results.json from 'pgchaos run')")
			}
			if out == "" {
				return usageErr("report compare: -o FILE is required (FILE.html, or FILE.md for Markdown plus FILE.html)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return compareRuns(cmd, args, out, allow)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write: .html, or .md for Markdown (the HTML is then written next to it)")
	cmd.Flags().BoolVar(&allow, "allow-mismatch", false, "compare runs whose scenarios or budgets differ, with a warning listing the differences")
	return cmd
}

// compareRuns is 'report compare': every failure is bad input (exit 2).
func compareRuns(cmd *cobra.Command, dirs []string, out string, allow bool) error {
	for _, d := range dirs {
		if st, err := os.Stat(d); err != nil {
			return usageErr("report compare: run directory %s: %v", d, err)
		} else if !st.IsDir() {
			return usageErr("report compare: %s is not a directory (give run directories, each with results.json)", d)
		}
	}
	runs, err := reports.LoadRunResults(dirs)
	switch {
	case errors.Is(err, reports.ErrNoResults):
		return usageErr("report compare: %v (give the --out directory of 'pgchaos run')", err)
	case err != nil:
		return usageErr("report compare: %v", err)
	}
	cmp, err := reports.Compare(runs, reports.CompareOptions{AllowMismatch: allow})
	switch {
	case errors.Is(err, reports.ErrMismatch):
		return usageErr("report compare: %v (give --allow-mismatch to compare them anyway, with a warning)", err)
	case err != nil:
		return usageErr("report compare: %v", err)
	}
	htmlOut := out
	if strings.EqualFold(filepath.Ext(out), ".md") {
		htmlOut = strings.TrimSuffix(out, filepath.Ext(out)) + ".html"
		var md bytes.Buffer
		if err := cmp.Markdown(&md); err != nil {
			return usageErr("report compare: %v", err)
		}
		if err := writeFileAtomic(out, md.Bytes()); err != nil {
			return usageErr("report compare: %v", err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", out)
	}
	var page bytes.Buffer
	if err := cmp.HTML(&page); err != nil {
		return usageErr("report compare: %v", err)
	}
	if err := writeFileAtomic(htmlOut, page.Bytes()); err != nil {
		return usageErr("report compare: %v", err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d configurations: %s)\n", htmlOut, len(cmp.Configs), configLabels(cmp))
	for _, m := range cmp.Mismatches {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s\n", m)
	}
	return nil
}

func configLabels(c *reports.Comparison) string {
	var l []string
	for _, cfg := range c.Configs {
		l = append(l, cfg.Label())
	}
	return strings.Join(l, ", ")
}

// writeReport renders run into out through a temporary file, so a reader
// never sees half a report.
func writeReport(run reports.Run, out string) error {
	var buf bytes.Buffer
	if err := reports.Render(&buf, run); err != nil {
		return err
	}
	return writeFileAtomic(out, buf.Bytes())
}

// writeFileAtomic writes b to out through a temporary file.
func writeFileAtomic(out string, b []byte) error {
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
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
