package workload

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/internal/pgtestbed"
)

// benchClients and benchDuration are the shape of the side-by-side run.
const (
	benchClients  = 8
	benchDuration = 5 * time.Second
	// benchRounds pair pgbench and the ledger workload back to back, in
	// alternating order (pgbench first in odd rounds, second in even
	// ones), so that a noisy neighbour or a drifting disk hurts both
	// alike; the median of the rounds' ratios is the result. Two rounds
	// of 5 s a few seconds apart differ by up to 20% on this machine even
	// for pgbench against itself: many short rounds.
	benchRounds = 15
	// benchExtraEvery: every so many rounds also run the two further
	// baselines, before the pair.
	benchExtraEvery = 5
)

var tpsRE = regexp.MustCompile(`tps = ([0-9.]+) \((?:without initial connection time|excluding connections establishing)\)`)

// BenchmarkLedgerVsPgbench runs pgbench (a single-row INSERT script, prepared
// statements, 2 threads) and the ledger workload back to back, with the same
// number of clients against the same local server, and reports acknowledged
// writes per second of each, their ratio (target: at least 0.95) and each
// client's CPU per write. Each round also runs, before the pair, two more
// baselines: pgbench with the workload's own statement (the harness's cost
// on the server) and pgbench with a thread per client. Run with
// -benchtime 1x.
func BenchmarkLedgerVsPgbench(b *testing.B) {
	ctx := context.Background()
	tb, err := pgtestbed.Start(ctx, pgtestbed.Options{Replicas: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer tb.Close()
	pg := tb.Instances[0]
	dsn := tb.DSN(pg)
	cc, err := ParseDSN(dsn, 2*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	if err := Prepare(ctx, cc, "pgbench_writes"); err != nil {
		b.Fatal(err)
	}
	pgbench, err := exec.LookPath("pgbench")
	if err != nil {
		pgbench = filepath.Join(tb.BinDir, "pgbench")
	}
	script := filepath.Join(b.TempDir(), "insert.sql")
	err = os.WriteFile(script, []byte("\\set id random(1, 1000000000)\nINSERT INTO pgbench_writes (run, id, client) VALUES (1, :id, 1);\n"), 0o644)
	if err != nil {
		b.Fatal(err)
	}
	// The same statement the workload sends, evidence included: the ratio
	// against it is the harness's own overhead.
	same := filepath.Join(b.TempDir(), "same.sql")
	err = os.WriteFile(same, []byte("\\set id random(1, 1000000000)\nINSERT INTO pgbench_writes (run, id, client) VALUES (1, :id, 1) "+evidenceSQL+";\n"), 0o644)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		var ratios, sameRatios, threadRatios, pgbenchAll, oursAll, pgbenchCPU, threadCPU, oursCPU []float64
		for round := 0; round < benchRounds; round++ {
			var sameRun, threaded, plain, ours contender
			extra := round%benchExtraEvery == 0
			if extra {
				reset(ctx, b, dsn)
				sameRun = runPgbench(ctx, b, pgbench, pg.Port, same, pgbenchThreads)
				reset(ctx, b, dsn)
				threaded = runPgbench(ctx, b, pgbench, pg.Port, script, benchClients)
			}
			if round%2 == 0 {
				reset(ctx, b, dsn)
				plain = runPgbench(ctx, b, pgbench, pg.Port, script, pgbenchThreads)
				reset(ctx, b, dsn)
				ours = runLedger(ctx, b, dsn)
			} else {
				reset(ctx, b, dsn)
				ours = runLedger(ctx, b, dsn)
				reset(ctx, b, dsn)
				plain = runPgbench(ctx, b, pgbench, pg.Port, script, pgbenchThreads)
			}
			ratios = append(ratios, ours.rate/plain.rate)
			pgbenchAll = append(pgbenchAll, plain.rate)
			oursAll = append(oursAll, ours.rate)
			pgbenchCPU = append(pgbenchCPU, plain.cpuPerOp)
			oursCPU = append(oursCPU, ours.cpuPerOp)
			fmt.Printf("round %d: pgbench plain INSERT %.0f tps, ledger workload %.0f acknowledged writes/s: ratio %.3f; client CPU per write: pgbench %.1f µs, ledger workload %.1f µs\n",
				round+1, plain.rate, ours.rate, ours.rate/plain.rate, plain.cpuPerOp, ours.cpuPerOp)
			if extra {
				sameRatios = append(sameRatios, ours.rate/sameRun.rate)
				threadRatios = append(threadRatios, ours.rate/threaded.rate)
				threadCPU = append(threadCPU, threaded.cpuPerOp)
				fmt.Printf("         pgbench with the evidence RETURNING %.0f tps (ratio %.3f), plain with a thread per client %.0f tps (ratio %.3f, client CPU per write %.1f µs)\n",
					sameRun.rate, ours.rate/sameRun.rate, threaded.rate, ours.rate/threaded.rate, threaded.cpuPerOp)
			}
		}
		b.ReportMetric(median(pgbenchAll), "pgbench-tps")
		b.ReportMetric(median(oursAll), "ledger-acks/s")
		b.ReportMetric(median(ratios), "ratio")
		b.ReportMetric(median(sameRatios), "ratio-same-stmt")
		b.ReportMetric(median(threadRatios), "ratio-thread-per-client")
		b.ReportMetric(median(pgbenchCPU), "pgbench-client-µs/op")
		b.ReportMetric(median(threadCPU), "pgbench-thread-per-client-µs/op")
		b.ReportMetric(median(oursCPU), "ledger-client-µs/op")
		fmt.Printf("ledger workload vs pgbench, %d clients, %d rounds of %s each: median ratio %.3f vs the plain INSERT (target >= 0.95; rounds %s); %.3f vs the same statement, %.3f vs the plain INSERT with a thread per client (%d rounds each); median client CPU per write %.1f µs (pgbench %.1f µs, with a thread per client %.1f µs)\n",
			benchClients, benchRounds, benchDuration, median(ratios), spread(ratios), median(sameRatios), median(threadRatios), len(sameRatios), median(oursCPU), median(pgbenchCPU), median(threadCPU))
	}
}

// contender is one side of a round: writes per second, and the client's own
// CPU time (user + system) per write in µs, which the noise of a shared
// machine moves far less than the rate.
type contender struct{ rate, cpuPerOp float64 }

// pgbenchThreads is pgbench's -j for the main baseline: 2 threads (one per
// core) multiplexing the clients' connections with poll. The thread-per-
// client baseline (-j = clients) is how the workload's clients are built:
// each waits for its own answer.
const pgbenchThreads = 2

func runPgbench(ctx context.Context, b *testing.B, pgbench string, port int, script string, threads int) contender {
	cmd := exec.CommandContext(ctx, pgbench, "-n", "-M", "prepared", "-h", "127.0.0.1",
		"-p", strconv.Itoa(port), "-U", "postgres", "-c", strconv.Itoa(benchClients), "-j", strconv.Itoa(threads),
		"-T", strconv.Itoa(int(benchDuration/time.Second)), "-f", script, "postgres")
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("pgbench: %v\n%s", err, out)
	}
	m := tpsRE.FindSubmatch(out)
	if m == nil {
		b.Fatalf("pgbench printed no tps:\n%s", out)
	}
	tps, _ := strconv.ParseFloat(string(m[1]), 64)
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return contender{rate: tps, cpuPerOp: float64(cpu.Microseconds()) / (tps * benchDuration.Seconds())}
}

// cpuTime is this process's user + system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func runLedger(ctx context.Context, b *testing.B, dsn string) contender {
	dir := b.TempDir()
	led, err := history.NewLedger(dir, history.Meta{})
	if err != nil {
		b.Fatal(err)
	}
	w, err := New(Config{DSN: dsn, Clients: benchClients, Duration: benchDuration, Table: "pgbench_writes"}, led)
	if err != nil {
		b.Fatal(err)
	}
	start, cpu0 := time.Now(), cpuTime(b)
	if err := w.Run(ctx); err != nil {
		b.Fatal(err)
	}
	elapsed, cpu := time.Since(start), cpuTime(b)-cpu0
	if err := led.Close(); err != nil {
		b.Fatal(err)
	}
	acks := float64(w.Stats.OK.Load())
	return contender{rate: acks / elapsed.Seconds(), cpuPerOp: float64(cpu.Microseconds()) / acks}
}

// reset gives both contenders the same start: an empty table and a fresh
// checkpoint (no full-page writes owed).
func reset(ctx context.Context, b *testing.B, dsn string) {
	cc, err := ParseDSN(dsn, 2*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{"TRUNCATE pgbench_writes", "CHECKPOINT"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}

// spread is the range of xs, for the reader to judge the median by.
func spread(xs []float64) string {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return fmt.Sprintf("%.2f-%.2f", s[0], s[len(s)-1])
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}
