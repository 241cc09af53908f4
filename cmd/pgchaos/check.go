package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pgchaos/pgchaos/assert"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
	"github.com/spf13/cobra"
)

func newCheckCmd() *cobra.Command {
	var (
		finalDSNs []string
		cfg       = assert.DefaultConfig()
		strict    bool
	)
	cmd := &cobra.Command{
		Use:   "check DIR [--final-dsn DSN]...",
		Short: "Judge a recorded trial: lost writes, unavailability, split brain, WAL continuity",
		Long: `Reads the trial in DIR, reads the final state from every --final-dsn (by
default: final.json if the trial has one, else the instances the monitor
observed, else the workload's DSN; passwords come from PGPASSWORD or
~/.pgpass since trials never store them), runs every checker, prints a table
and writes DIR/verdict.json.
Exit codes: 0 no check failed (with --strict: every check passed), 1 a check
failed, 2 bad input or the final state could not be read.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErr("check: give exactly one trial directory (pgchaos check DIR)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			t, err := history.Load(dir)
			if err != nil {
				if errors.Is(err, history.ErrNoLedger) {
					return usageErr("check: %s holds no trial (no %s); give the --out directory of 'pgchaos workload'", dir, history.LedgerFile)
				}
				return usageErr("check: %v", err)
			}
			if len(t.Ops) == 0 {
				return usageErr("check: the ledger in %s records no write; nothing to judge", dir)
			}
			targets, err := finalTargets(t, finalDSNs)
			if err != nil {
				return usageErr("check: %v", err)
			}
			if len(targets) > 0 {
				ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Minute)
				t.Final, err = scenario.RecordFinal(ctx, dir, t.Meta.Start, t.Meta.Table, t.Meta.Run, targets, time.Minute)
				cancel()
				if err != nil {
					return usageErr("check: %v", err)
				}
			}
			rep, err := scenario.Judge(dir, t, cfg)
			if err != nil {
				return usageErr("check: %v", err)
			}
			printReport(cmd.OutOrStdout(), rep)
			if au := assert.FinalAuthority(t); au.Undecidable {
				return usageErr("check: the final state cannot be judged (%s); fix or pass --final-dsn (verdicts needing it are unknown in %s/verdict.json)", au.Reason, dir)
			}
			switch st := rep.Worst(); {
			case st == history.Failed:
				return &exitError{code: exitFailed}
			case st == history.Undecided && strict:
				return &exitError{code: exitFailed, msg: "check: some checks are unknown and --strict was given"}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&finalDSNs, "final-dsn", nil, "connection string of an instance to read the final state from (repeat for each)")
	f.DurationVar(&cfg.RTOBudget, "rto-budget", cfg.RTOBudget, "an unavailability window longer than this fails")
	f.DurationVar(&cfg.GapThreshold, "gap-threshold", cfg.GapThreshold, "a pause in acknowledgements without failures counts as unavailability past this")
	f.DurationVar(&cfg.ReplicationBudget, "replication-budget", cfg.ReplicationBudget, "replicas must stream again within this after a fault or failover")
	f.BoolVar(&strict, "strict", false, "exit 1 when a check is unknown, not only when one failed")
	return cmd
}

// finalTargets chooses where the final state is read from.
func finalTargets(t *history.Trial, finalDSNs []string) ([]workload.FinalTarget, error) {
	var out []workload.FinalTarget
	if len(finalDSNs) > 0 {
		for _, d := range finalDSNs {
			cc, err := workload.ParseDSN(d, time.Second)
			if err != nil {
				return nil, fmt.Errorf("--final-dsn: %w", err)
			}
			out = append(out, workload.FinalTarget{Name: net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port))), DSN: d})
		}
		return out, nil
	}
	if t.Final != nil {
		return nil, nil // final.json recorded with the trial
	}
	for _, in := range t.Instances {
		out = append(out, workload.FinalTarget{Name: in.Name, DSN: workload.UnredactDSN(in.Target)})
	}
	if len(out) == 0 && t.Meta.Target != "" {
		for i, d := range strings.Split(t.Meta.Target, " | ") {
			out = append(out, workload.FinalTarget{Name: fmt.Sprintf("target%d", i), DSN: workload.UnredactDSN(d)})
		}
	}
	if len(out) == 0 {
		return nil, errors.New("the trial names no target; pass --final-dsn")
	}
	return out, nil
}

func printReport(w io.Writer, rep history.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSTATUS\tSUMMARY")
	for _, c := range rep.Checks {
		s := c.Summary
		if c.Status == history.Undecided && c.Reason != "" && s == "" {
			s = c.Reason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, c.Status, s)
	}
	_ = tw.Flush()
	for _, c := range rep.Checks {
		if c.Status != history.Failed || len(c.Evidence) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s: first evidence (all in verdict.json)\n", c.Name)
		for i, e := range c.Evidence {
			if i == 3 {
				break
			}
			if e.ID != 0 {
				fmt.Fprintf(w, "  - write %d (client %d, lsn %s): %s\n", e.ID, e.Client, e.LSN, e.What)
			} else {
				fmt.Fprintf(w, "  - %s\n", e.What)
			}
		}
	}
}
