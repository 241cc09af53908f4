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
	bed := newBenchBed(ctx, b)
	dsn, pg, pgbench, script, same := bed.dsn, bed.pg, bed.pgbench, bed.script, bed.same
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

// benchBed is the server both contenders write to and pgbench's scripts.
type benchBed struct {
	dsn          string
	pg           *pgtestbed.Instance
	pgbench      string
	script, same string // a plain single-row INSERT; the workload's own statement
}

func newBenchBed(ctx context.Context, b *testing.B) benchBed {
	tb, err := pgtestbed.Start(ctx, pgtestbed.Options{Replicas: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tb.Close() })
	bed := benchBed{pg: tb.Instances[0], dsn: tb.DSN(tb.Instances[0])}
	cc, err := ParseDSN(bed.dsn, 2*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	if err := Prepare(ctx, cc, "pgbench_writes"); err != nil {
		b.Fatal(err)
	}
	if bed.pgbench, err = exec.LookPath("pgbench"); err != nil {
		bed.pgbench = filepath.Join(tb.BinDir, "pgbench")
	}
	bed.script = filepath.Join(b.TempDir(), "insert.sql")
	err = os.WriteFile(bed.script, []byte("\\set id random(1, 1000000000)\nINSERT INTO pgbench_writes (run, id, client) VALUES (1, :id, 1);\n"), 0o644)
	if err != nil {
		b.Fatal(err)
	}
	// The same statement the workload sends, evidence included: the ratio
	// against it is the harness's own overhead.
	bed.same = filepath.Join(b.TempDir(), "same.sql")
	err = os.WriteFile(bed.same, []byte("\\set id random(1, 1000000000)\nINSERT INTO pgbench_writes (run, id, client) VALUES (1, :id, 1) "+evidenceSQL+";\n"), 0o644)
	if err != nil {
		b.Fatal(err)
	}
	return bed
}

// alongsideRounds is how many times BenchmarkLedgerAlongsidePgbench runs
// each pairing.
const alongsideRounds = 3

// BenchmarkLedgerAlongsidePgbench runs the ledger workload and pgbench at
// the same time, 8 clients each, against the same server, and reports the
// ratio of their rates: both see the same machine at the same moment, so
// the ratio moves far less than in BenchmarkLedgerVsPgbench. On a saturated
// server it measures how well a client holds its share: a client that is
// slower to answer gets fewer commits. Against pgbench -j 2 (two threads)
// and -j 1 (one thread, as the workload's loop). Informational: no target.
func BenchmarkLedgerAlongsidePgbench(b *testing.B) {
	ctx := context.Background()
	bed := newBenchBed(ctx, b)
	for i := 0; i < b.N; i++ {
		for _, threads := range []int{pgbenchThreads, 1} {
			var ratios []float64
			for round := 0; round < alongsideRounds; round++ {
				reset(ctx, b, bed.dsn)
				led, err := history.NewLedger(b.TempDir(), history.Meta{})
				if err != nil {
					b.Fatal(err)
				}
				w, err := New(Config{DSN: bed.dsn, Clients: benchClients, Duration: benchDuration + 2*time.Second, Table: "pgbench_writes"}, led)
				if err != nil {
					b.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- w.Run(ctx) }()
				time.Sleep(time.Second) // connected and writing
				ok0, start := w.Stats.OK.Load(), time.Now()
				theirs := runPgbench(ctx, b, bed.pgbench, bed.pg.Port, bed.script, threads)
				ours := float64(w.Stats.OK.Load()-ok0) / time.Since(start).Seconds()
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				if err := led.Close(); err != nil {
					b.Fatal(err)
				}
				ratios = append(ratios, ours/theirs.rate)
				fmt.Printf("at once with pgbench -j %d: pgbench %.0f tps, ledger workload %.0f acknowledged writes/s: ratio %.3f\n", threads, theirs.rate, ours, ours/theirs.rate)
			}
			b.ReportMetric(median(ratios), fmt.Sprintf("ratio-alongside-j%d", threads))
			fmt.Printf("ledger workload alongside pgbench -j %d, %d clients each, %d rounds of %s: median ratio %.3f (rounds %s)\n",
				threads, benchClients, alongsideRounds, benchDuration, median(ratios), spread(ratios))
		}
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
