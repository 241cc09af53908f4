package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/monitor"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
	"github.com/spf13/cobra"
)

// version is the pgchaos version recorded in every trial.
const version = "0.1.0-dev"

func newWorkloadCmd() *cobra.Command {
	var (
		dsns        []string
		monitorDSNs []string
		clients     int
		rate        string
		duration    time.Duration
		out         string
		table       string
		opTimeout   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "workload --dsn DSN [--monitor-dsn DSN]... [--clients N] [--rate R/s] [--duration D] --out DIR",
		Short: "Run the write workload against any PostgreSQL and record the fate of every write",
		Long: `Runs N clients that each insert unique ids, one transaction per write, and
streams the ledger (every write: invoked, ok with commit evidence, fail or
unknown) to DIR/ledger.jsonl. With --monitor-dsn, every listed instance is
polled every 200 ms (role, timeline, WAL positions) into DIR/monitor.jsonl.
Stops after --duration, or on Ctrl-C. Then run 'pgchaos check DIR'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(dsns) == 0 || dsns[0] == "" {
				return usageErr("workload: --dsn is required (a libpq connection string or postgres:// URL)")
			}
			if out == "" {
				return usageErr("workload: --out DIR is required")
			}
			if clients < 1 || clients > 1024 {
				return usageErr("workload: --clients must be between 1 and 1024, got %d", clients)
			}
			if duration < 0 {
				return usageErr("workload: --duration must not be negative")
			}
			r, err := parseRate(rate)
			if err != nil {
				return usageErr("workload: --rate: %v", err)
			}
			for _, d := range dsns {
				if _, err := workload.ParseDSN(d, time.Second); err != nil {
					return usageErr("workload: --dsn: %v", err)
				}
			}
			targets, err := monitorTargets(monitorDSNs)
			if err != nil {
				return usageErr("workload: %v", err)
			}
			spec := scenario.Spec{
				Out: out,
				Workload: workload.Config{DSN: dsns[0], MoreDSNs: dsns[1:], Clients: clients, Rate: r, Duration: duration,
					Table: table, OpTimeout: opTimeout},
				Monitor: targets,
				Command: commandLine(cmd),
				Version: version,
			}
			ctx := cmd.Context()
			tr, err := scenario.Start(ctx, spec)
			if err != nil {
				return usageErr("workload: %v", err)
			}
			src := progressSource{
				Counts: func() (int64, int64, int64) {
					s := &tr.Workload.Stats
					return s.OK.Load(), s.Fail.Load(), s.Unknown.Load()
				},
				Primary: tr.Workload.Stats.Current,
			}
			if tr.Monitor != nil {
				src.Primary = func() string { return strings.Join(tr.Monitor.Primaries(), "+") }
			}
			p := startProgress(ctx, cmd.ErrOrStderr(), src)
			err = tr.Wait()
			p.Stop()
			s := &tr.Workload.Stats
			fmt.Fprintf(cmd.OutOrStdout(), "ledger %s/ledger.jsonl: %d writes: %d ok, %d fail, %d unknown\n",
				out, s.OK.Load()+s.Fail.Load()+s.Unknown.Load(), s.OK.Load(), s.Fail.Load(), s.Unknown.Load())
			if err != nil {
				return &exitError{code: exitBadInput, msg: fmt.Sprintf("workload: %v (the ledger up to this point is in %s)", err, out)}
			}
			if ctx.Err() != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "interrupted: the ledger is complete up to the interruption")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "next: pgchaos check %s\n", out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&dsns, "dsn", nil, "connection string or URL of the target (multi-host with target_session_attrs=read-write follows a moving primary); repeat to spread the clients round-robin over several")
	f.StringArrayVar(&monitorDSNs, "monitor-dsn", nil, "connection string of one instance to observe (repeat for each instance)")
	f.IntVar(&clients, "clients", 4, "concurrent clients, one connection each")
	f.StringVar(&rate, "rate", "0", "total write attempts per second, e.g. 500 or 500/s (0: as fast as possible)")
	f.DurationVar(&duration, "duration", 0, "how long to run, e.g. 60s (0: until Ctrl-C)")
	f.StringVar(&out, "out", "", "trial directory to create")
	f.StringVar(&table, "table", workload.DefaultTable, "the workload's own table (created if missing)")
	f.DurationVar(&opTimeout, "op-timeout", 5*time.Second, "per-write timeout; a write past it is recorded unknown")
	return cmd
}

func parseRate(s string) (float64, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "/s")
	r, err := strconv.ParseFloat(s, 64)
	if err != nil || r < 0 {
		return 0, fmt.Errorf("%q is not a rate (writes per second, e.g. 500 or 500/s)", s)
	}
	return r, nil
}

// monitorTargets names each instance after its host and port.
func monitorTargets(dsns []string) ([]monitor.Target, error) {
	var out []monitor.Target
	seen := map[string]int{}
	for _, d := range dsns {
		cc, err := workload.ParseDSN(d, time.Second)
		if err != nil {
			return nil, fmt.Errorf("--monitor-dsn: %w", err)
		}
		name := net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port)))
		if workload.MultiHost(cc) {
			return nil, errors.New("--monitor-dsn: give one instance per flag, not a multi-host string")
		}
		seen[name]++
		if seen[name] > 1 {
			name = fmt.Sprintf("%s#%d", name, seen[name])
		}
		out = append(out, monitor.Target{Name: name, DSN: d})
	}
	return out, nil
}

// commandLine reconstructs the command line with passwords redacted.
func commandLine(cmd *cobra.Command) string {
	parts := []string{cmd.CommandPath()}
	cmd.Flags().Visit(func(f *pflagFlag) {
		v := f.Value.String()
		if f.Value.Type() == "stringArray" {
			v = strings.Trim(v, "[]")
		}
		parts = append(parts, "--"+f.Name+"="+strconv.Quote(workload.RedactDSN(v)))
	})
	return strings.Join(parts, " ")
}
