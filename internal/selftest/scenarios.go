package selftest

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pgchaos/pgchaos/assert"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/internal/pgtestbed"
	"github.com/pgchaos/pgchaos/internal/recount"
	"github.com/pgchaos/pgchaos/monitor"
)

// lagTime is how long the replicas' WAL receivers are frozen before the
// primary is killed: the acknowledged writes of that second exist only on
// the primary.
const lagTime = time.Second

func noFault() Scenario {
	return Scenario{
		Name:        "no-fault",
		Description: "no fault at all: every check must pass",
		Expect:      allPass(),
		run: func(ctx context.Context, e *env) (func(history.Report, *history.Trial) []string, error) {
			e.step("running without faults")
			sleep(ctx, 3*time.Second)
			return func(rep history.Report, t *history.Trial) []string {
				var p []string
				// Every check must pass (Expect). A window may still appear
				// when the machine itself stalls writes past the gap
				// threshold (seen with load 10 on 2 cores): that is real
				// unavailability, short of the budget, and not a fault's.
				if v, _ := verdict(rep, history.CheckUnavailability); countWindows(v) != 0 {
					e.step(fmt.Sprintf("note: %d short windows without a fault (a stall of this machine)", countWindows(v)))
				}
				if acked(t) == 0 {
					p = append(p, "no write was acknowledged")
				}
				return p
			}, nil
		},
	}
}

func asyncFailover() Scenario {
	exp := allPass()
	exp[history.CheckLostAckedWrites] = history.Failed
	return Scenario{
		Name: "async-failover",
		Description: "asynchronous replication; the primary's WAL senders frozen for 1 s; primary SIGKILLed under load; the most " +
			"advanced replica promoted, the other follows, the old primary is rewound and rejoins: " +
			"lost acknowledged writes detected, as many as truly missing",
		Expect: exp,
		run:    failover(false),
	}
}

func syncFailover() Scenario {
	return Scenario{
		Name: "sync-failover",
		Description: "synchronous replication (ANY 1 of the replicas); the same fault: " +
			"zero acknowledged writes lost",
		Synchronous: true,
		Expect:      allPass(),
		run:         failover(true),
	}
}

// failover freezes both replicas' WAL receivers, kills the primary, promotes
// the most advanced replica and rejoins the others to it.
func failover(sync bool) func(ctx context.Context, e *env) (func(history.Report, *history.Trial) []string, error) {
	return func(ctx context.Context, e *env) (func(history.Report, *history.Trial) []string, error) {
		old := e.tb.Instances[0]
		replicas := e.tb.Instances[1:]
		// Freeze the primary's WAL senders, not the replicas' receivers:
		// WAL already written into a socket would still arrive after a
		// receiver is thawed, and nothing would be lost.
		pids, err := walSenderPIDs(ctx, e.tb, old)
		if err != nil {
			return nil, err
		}
		if len(pids) != len(replicas) {
			return nil, fmt.Errorf("%s has %d WAL senders, want %d", old.Name, len(pids), len(replicas))
		}
		if err := e.inject("replica-lag", old.Name, "SIGSTOP of the primary's WAL senders"); err != nil {
			return nil, err
		}
		for _, pid := range pids {
			if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
				return nil, fmt.Errorf("freezing WAL sender %d: %w", pid, err)
			}
		}
		sleep(ctx, lagTime)
		if err := e.inject("kill-primary", old.Name, "SIGKILL of the postmaster and its children"); err != nil {
			return nil, err
		}
		// The kill takes the frozen WAL senders with it.
		if err := old.Kill(); err != nil {
			for _, pid := range pids {
				_ = syscall.Kill(pid, syscall.SIGCONT)
			}
			return nil, err
		}
		if err := e.recovered("replica-lag"); err != nil {
			return nil, err
		}
		// The killed primary's disk holds every write it acknowledged: keep
		// a copy to count the lost writes independently of the checkers.
		e.step("copying the killed primary's data directory")
		cp, err := e.tb.StartCopy(ctx, old, "pg0-crashed")
		if err != nil {
			return nil, err
		}
		e.extras = append(e.extras, cp)
		best, err := mostAdvanced(ctx, e.tb, replicas)
		if err != nil {
			return nil, err
		}
		if err := best.Promote(ctx); err != nil {
			return nil, err
		}
		if err := e.event(history.EventPromoted, best.Name); err != nil {
			return nil, err
		}
		for _, r := range replicas {
			if r != best {
				if err := r.Follow(ctx, best); err != nil {
					return nil, err
				}
			}
		}
		if err := old.Rewind(ctx, best); err != nil {
			return nil, err
		}
		if err := old.Start(ctx); err != nil {
			return nil, err
		}
		if err := e.tb.WaitStreaming(ctx, best, 2, 60*time.Second); err != nil {
			return nil, err
		}
		if err := e.recovered("kill-primary"); err != nil {
			return nil, err
		}
		return func(rep history.Report, t *history.Trial) []string {
			return verifyLost(ctx, e, t, rep, best, cp, sync)
		}, nil
	}
}

// verifyLost counts the lost writes independently of the checkers: the ids
// the ledger says were acknowledged (read here line by line, without the
// history package), absent from the new primary (read with SQL), each of
// which must be on the crashed primary's disk (its copy, started apart).
func verifyLost(ctx context.Context, e *env, t *history.Trial, rep history.Report, primary, crashed *pgtestbed.Instance, sync bool) []string {
	var p []string
	fromFile, err := recount.ReadLedger(filepath.Join(e.dir, history.LedgerFile))
	if err != nil {
		return []string{err.Error()}
	}
	ackedIDs := fromFile.IDs
	onPrimary, err := idsOn(ctx, e.tb, primary, t.Meta.Table, t.Meta.Run)
	if err != nil {
		return []string{err.Error()}
	}
	onCrashed, err := idsOn(ctx, e.tb, crashed, t.Meta.Table, t.Meta.Run)
	if err != nil {
		return []string{err.Error()}
	}
	missing := 0
	for id := range ackedIDs {
		if !onPrimary[id] {
			missing++
			if !onCrashed[id] {
				p = append(p, fmt.Sprintf("write %d acknowledged but on neither the new primary nor the crashed primary's disk", id))
			}
		}
	}
	v, err := verdict(rep, history.CheckLostAckedWrites)
	if err != nil {
		return append(p, err.Error())
	}
	reported := figureInt(v, "lost")
	if reported != missing {
		p = append(p, fmt.Sprintf("lost-acked-writes reports %d lost, independent count is %d", reported, missing))
	}
	if !sync && missing == 0 {
		p = append(p, "no acknowledged write was lost: the fault did not exercise the detector")
	}
	e.step(fmt.Sprintf("independent count: %d acknowledged writes missing on %s; reported %d", missing, primary.Name, reported))
	return p
}

func splitBrain() Scenario {
	return Scenario{
		Name: "split-brain",
		Description: "a replica promoted while the old primary still accepts writes, half the clients " +
			"moved to it: split brain detected from the client side and the server side",
		// With two primaries every cross-instance detector must fire: each
		// primary misses writes the other acknowledged (lost is judged
		// against both), the instances sit on two timelines. Replication
		// is not healthy again, but the trial ends seconds after the
		// promotion, well within the 60 s replication budget: undecided.
		Expect: map[string]history.Status{
			history.CheckSplitBrain:          history.Failed,
			history.CheckLostAckedWrites:     history.Failed,
			history.CheckWALContinuity:       history.Failed,
			history.CheckReplicationRecovery: history.Undecided,
			history.CheckPhantomWrites:       history.Pass,
			history.CheckUnavailability:      history.Pass,
		},
		dsns: func(tb *pgtestbed.Cluster) []string {
			a, b := tb.Instances[0], tb.Instances[1]
			hosts := func(first, second *pgtestbed.Instance, app string) string {
				return fmt.Sprintf("host=127.0.0.1,127.0.0.1 port=%d,%d user=postgres dbname=postgres sslmode=disable connect_timeout=2 target_session_attrs=read-write application_name=%s",
					first.Port, second.Port, app)
			}
			return []string{hosts(a, b, "pgchaos_a"), hosts(b, a, "pgchaos_b")}
		},
		run: func(ctx context.Context, e *env) (func(history.Report, *history.Trial) []string, error) {
			old, promoted := e.tb.Instances[0], e.tb.Instances[1]
			if err := e.inject("promote-with-live-primary", promoted.Name, "pg_ctl promote while pg0 still accepts writes"); err != nil {
				return nil, err
			}
			if err := promoted.Promote(ctx); err != nil {
				return nil, err
			}
			if err := e.event(history.EventPromoted, promoted.Name); err != nil {
				return nil, err
			}
			// Half the clients list the promoted replica first: cut their
			// connections to the old primary and they reconnect to it.
			conn, err := e.tb.Connect(ctx, old)
			if err != nil {
				return nil, err
			}
			_, err = conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pgchaos_b'`)
			_ = conn.Close(ctx)
			if err != nil {
				return nil, fmt.Errorf("moving clients to %s: %w", promoted.Name, err)
			}
			if err := e.event(history.EventClientsRedirect, "pgchaos_b clients -> "+promoted.Name); err != nil {
				return nil, err
			}
			sleep(ctx, 3*time.Second)
			if err := e.recovered("promote-with-live-primary"); err != nil {
				return nil, err
			}
			return func(rep history.Report, t *history.Trial) []string {
				var p []string
				v, err := verdict(rep, history.CheckSplitBrain)
				if err != nil {
					return []string{err.Error()}
				}
				if b, _ := v.Figures["client_side"].(bool); !b {
					p = append(p, "split-brain: the client side did not fire")
				}
				if b, _ := v.Figures["server_side"].(bool); !b {
					p = append(p, "split-brain: the server side did not fire")
				}
				return p
			}, nil
		},
	}
}

// outage is how long the primary is down in the known-outage scenario.
const outage = 3 * time.Second

// outageTolerance bounds |window - outage interval|. The window starts at
// the last acknowledgement before the stop (within one write's latency,
// milliseconds here) and ends at the first acknowledgement after the restart:
// clients retry with a jittered backoff of at most 300 ms, and pg_ctl start
// -w notices readiness up to 100 ms late, so the window may be that much
// shorter or longer than the interval measured around the commands.
const outageTolerance = 500 * time.Millisecond

func knownOutage() Scenario {
	return Scenario{
		Name: "known-outage",
		Description: "the primary stopped (pg_ctl stop -m immediate) for a known interval and started again: " +
			"one unavailability window whose length matches the interval",
		Expect: allPass(),
		run: func(ctx context.Context, e *env) (func(history.Report, *history.Trial) []string, error) {
			pg0 := e.tb.Instances[0]
			t0 := e.trial.Since()
			if err := e.inject("stop-primary", pg0.Name, fmt.Sprintf("pg_ctl stop -m immediate, start after %s", outage)); err != nil {
				return nil, err
			}
			if err := pg0.StopImmediate(ctx); err != nil {
				return nil, err
			}
			sleep(ctx, outage)
			if err := pg0.Start(ctx); err != nil {
				return nil, err
			}
			t1 := e.trial.Since()
			if err := e.recovered("stop-primary"); err != nil {
				return nil, err
			}
			interval := t1 - t0
			return func(rep history.Report, t *history.Trial) []string {
				v, err := verdict(rep, history.CheckUnavailability)
				if err != nil {
					return []string{err.Error()}
				}
				// Exactly one window belongs to the outage. Others, not
				// attributed to it, would be stalls of the machine itself
				// (seen under heavy load): reported, not failed.
				var ws []history.Window
				for _, w := range windows(v) {
					if w.Fault == "stop-primary" {
						ws = append(ws, w)
					}
				}
				if len(ws) != 1 {
					return []string{fmt.Sprintf("unavailability: %d windows attributed to the outage (of %d), want exactly 1", len(ws), len(windows(v)))}
				}
				if n := len(windows(v)); n > 1 {
					e.step(fmt.Sprintf("note: %d more short windows outside the outage (stalls of this machine)", n-1))
				}
				diff := time.Duration(math.Abs(ws[0].Seconds-interval.Seconds()) * float64(time.Second))
				e.step(fmt.Sprintf("window %.3fs, outage interval %.3fs, difference %s (tolerance %s)",
					ws[0].Seconds, interval.Seconds(), diff.Round(time.Millisecond), outageTolerance))
				if diff > outageTolerance {
					return []string{fmt.Sprintf("unavailability window %.3fs differs from the outage %.3fs by more than %s",
						ws[0].Seconds, interval.Seconds(), outageTolerance)}
				}
				// The same trial against a budget shorter than the outage
				// must fail.
				cfg := assert.DefaultConfig()
				cfg.RTOBudget = outage / 2
				if v := (assert.Unavailability{}).Check(t, cfg); v.Status != history.Failed {
					return []string{fmt.Sprintf("unavailability with a %s budget: %s, want fail", cfg.RTOBudget, v.Status)}
				}
				return nil
			}, nil
		},
	}
}

func rogueWriter() Scenario {
	exp := allPass()
	exp[history.CheckPhantomWrites] = history.Failed
	return Scenario{
		Name: "rogue-writer",
		Description: "no fault, but something else writes into the workload's table: a value never " +
			"attempted and a copy of an acknowledged one; phantom-writes must fire, nothing else",
		Expect: exp,
		run: func(ctx context.Context, e *env) (func(history.Report, *history.Trial) []string, error) {
			sleep(ctx, time.Second)
			run := e.trial.Workload.Config().Run
			table := e.trial.Workload.Config().Table
			conn, err := e.tb.Connect(ctx, e.tb.Instances[0])
			if err != nil {
				return nil, err
			}
			defer conn.Close(ctx)
			if err := e.inject("rogue-writes", "pg0", "one never-attempted id and one duplicated id"); err != nil {
				return nil, err
			}
			_, err = conn.Exec(ctx, `INSERT INTO `+table+` (run, id, client) VALUES ($1, 1000000000000, 999)`, run)
			if err == nil {
				_, err = conn.Exec(ctx, `INSERT INTO `+table+` (run, id, client) SELECT run, id, client FROM `+table+` WHERE run = $1 AND id = 1`, run)
			}
			if err != nil {
				return nil, fmt.Errorf("rogue writes on pg0: %w", err)
			}
			if err := e.recovered("rogue-writes"); err != nil {
				return nil, err
			}
			sleep(ctx, time.Second)
			return func(rep history.Report, t *history.Trial) []string {
				v, err := verdict(rep, history.CheckPhantomWrites)
				if err != nil {
					return []string{err.Error()}
				}
				var p []string
				if n := figureInt(v, "phantoms"); n != 1 {
					p = append(p, fmt.Sprintf("phantom-writes: %d phantoms, want 1", n))
				}
				if n := figureInt(v, "duplicates"); n != 1 {
					p = append(p, fmt.Sprintf("phantom-writes: %d duplicates, want 1", n))
				}
				return p
			}, nil
		},
	}
}

func walSenderPIDs(ctx context.Context, tb *pgtestbed.Cluster, p *pgtestbed.Instance) ([]int, error) {
	conn, err := tb.Connect(ctx, p)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT pid FROM pg_stat_replication`)
	if err != nil {
		return nil, fmt.Errorf("finding the WAL senders of %s: %w", p.Name, err)
	}
	defer rows.Close()
	var pids []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			return nil, fmt.Errorf("finding the WAL senders of %s: %w", p.Name, err)
		}
		pids = append(pids, pid)
	}
	return pids, rows.Err()
}

// mostAdvanced returns the replica that received the most WAL.
func mostAdvanced(ctx context.Context, tb *pgtestbed.Cluster, replicas []*pgtestbed.Instance) (*pgtestbed.Instance, error) {
	var best *pgtestbed.Instance
	var bestLSN history.LSN
	for _, r := range replicas {
		conn, err := tb.Connect(ctx, r)
		if err != nil {
			return nil, err
		}
		var s string
		err = conn.QueryRow(ctx, `SELECT COALESCE(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text`).Scan(&s)
		_ = conn.Close(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the received WAL of %s: %w", r.Name, err)
		}
		l, err := history.ParseLSN(s)
		if err != nil {
			return nil, fmt.Errorf("reading the received WAL of %s: %w", r.Name, err)
		}
		if best == nil || l > bestLSN {
			best, bestLSN = r, l
		}
	}
	return best, nil
}

func idsOn(ctx context.Context, tb *pgtestbed.Cluster, in *pgtestbed.Instance, table string, run int64) (map[int64]bool, error) {
	conn, err := tb.Connect(ctx, in)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT id FROM `+table+` WHERE run = $1`, run)
	if err != nil {
		return nil, fmt.Errorf("reading ids on %s: %w", in.Name, err)
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("reading ids on %s: %w", in.Name, err)
		}
		out[id] = true
	}
	return out, rows.Err()
}

func acked(t *history.Trial) int {
	n := 0
	for _, o := range t.Ops {
		if o.Outcome == history.OK {
			n++
		}
	}
	return n
}

func figureInt(v history.Verdict, name string) int {
	switch x := v.Figures[name].(type) {
	case int:
		return x
	case int64:
		return int(x)
	case float64:
		return int(x)
	}
	return -1
}

func windows(v history.Verdict) []history.Window {
	ws, _ := v.Figures["windows"].([]history.Window)
	return ws
}

func countWindows(v history.Verdict) int { return len(windows(v)) }

// twoAddresses reaches the primary through two addresses, 127.0.0.1 and
// 127.0.0.2, from the clients and from the monitor: one server, whatever
// the address, so no split brain (issue 12, defect 2).
func twoAddresses() Scenario {
	alias := func(tb *pgtestbed.Cluster, in *pgtestbed.Instance) string {
		return strings.Replace(tb.DSN(in), "host=127.0.0.1", "host=127.0.0.2", 1)
	}
	return Scenario{
		Name: "two-addresses",
		Description: "no fault; the primary reached through 127.0.0.1 and 127.0.0.2 by the clients and the monitor: " +
			"one server under two names, no split brain",
		Expect: allPass(),
		dsns: func(tb *pgtestbed.Cluster) []string {
			p := tb.Instances[0]
			return []string{tb.DSN(p), alias(tb, p)}
		},
		monitor: func(tb *pgtestbed.Cluster) []monitor.Target {
			var out []monitor.Target
			for _, in := range tb.Instances {
				out = append(out, monitor.Target{Name: in.Name, DSN: tb.DSN(in)})
			}
			return append(out, monitor.Target{Name: tb.Instances[0].Name + "-alias", DSN: alias(tb, tb.Instances[0])})
		},
		run: func(ctx context.Context, e *env) (func(history.Report, *history.Trial) []string, error) {
			e.step("running without faults, clients on both addresses")
			sleep(ctx, 3*time.Second)
			return func(rep history.Report, t *history.Trial) []string {
				var p []string
				servers := map[string]bool{}
				idents := map[string]bool{}
				for _, n := range t.Nodes {
					servers[n.Server] = true
					idents[n.Identity()] = true
				}
				if len(servers) != 2 || len(idents) != 1 {
					p = append(p, fmt.Sprintf("the ledger names %d addresses and %d identities, want 2 and 1: %+v", len(servers), len(idents), t.Nodes))
				}
				seen := map[history.InstanceID]uint32{}
				for _, o := range t.Observations {
					if o.Reachable && !o.InRecovery {
						seen[o.Instance] = o.Ident
					}
				}
				if len(seen) != 2 || seen[0] == 0 || seen[0] != seen[3] {
					p = append(p, fmt.Sprintf("the monitor's two views of the primary carry identities %v, want one", seen))
				}
				e.step(fmt.Sprintf("%d addresses, %d server identity in the ledger; the monitor saw one primary under two names", len(servers), len(idents)))
				return p
			}, nil
		},
	}
}
