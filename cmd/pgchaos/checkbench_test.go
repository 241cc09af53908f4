package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// genTrial writes a trial directory of n writes as a long run leaves it: 8
// clients (one write in flight each), ~95% acknowledged, 3% failed, 2%
// unknown; the primary moves twice (pg-0 on timeline 1, pg-1 on 2, pg-2 on
// 3), the writes in flight at each move unknown and the clients reconnecting
// for 1.5 s; a monitor polling the three instances every 250 ms; a final
// state whose one primary (pg-2) holds every acknowledged id, as ranges.
// Every check passes on it.
func genTrial(dir string, n int) error {
	const clients = 8
	r := rand.New(rand.NewPCG(12, 12))
	lf, err := os.Create(filepath.Join(dir, history.LedgerFile))
	if err != nil {
		return err
	}
	defer lf.Close()
	w := bufio.NewWriterSize(lf, 1<<20)
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	hdr, _ := json.Marshal(struct {
		T string `json:"t"`
		history.Meta
	}{"header", history.Meta{Format: history.LedgerFormat, Version: history.LedgerVersion, Start: start,
		Target: "host=pg-rw port=5432 user=pgchaos password=REDACTED", Clients: clients, Table: "pgchaos_writes", Run: 1}})
	w.Write(hdr)
	w.WriteByte('\n')
	quote := func(s string) []byte { b, _ := json.Marshal(s); return b }
	fails := [][]byte{
		quote("ERROR: cannot execute INSERT in a read-only transaction (SQLSTATE 25006)"),
		quote("dial tcp 10.244.1.5:5432: connect: connection refused"),
		quote(`ERROR: relation "pgchaos_writes" is being \ vacuumed (SQLSTATE 55000)`),
	}
	unks := [][]byte{
		quote("timeout: context deadline exceeded"),
		quote("unexpected EOF"),
		quote("FATAL: terminating connection due to administrator command (SQLSTATE 57P01)"),
	}
	type nodeT struct {
		server, instance string
		tl               uint32
	}
	nodes := []nodeT{{"10.244.1.5:5432", "pg-0", 1}, {"10.244.2.5:5432", "pg-1", 2}, {"10.244.3.5:5432", "pg-2", 3}}
	moves := []int{n * 2 / 5, n * 4 / 5} // ids at which the primary moves
	var (
		at         = time.Duration(1e6)
		lsn        = history.LSN(0x3000000)
		cur        = 0 // current primary
		announced  = -1
		switchLSN  []history.LSN
		moveAt     []time.Duration
		acked      = make([]bool, n+1)
		pending    [clients]int64 // id in flight per client, 0 = none
		b          []byte
		id         int64
		lastMoveID int64
	)
	outcome := func(c int) {
		pid := pending[c]
		if pid == 0 {
			return
		}
		pending[c] = 0
		b = b[:0]
		p := r.IntN(100)
		switch {
		case p < 95:
			if announced < cur {
				announced = cur
				nd := nodes[cur]
				b = fmt.Appendf(b, `{"t":"node","node":%d,"server":%q,"instance":%q,"sysid":"7311000000000000001","started":"2026-12-01 00:00:0%d+00"}`+"\n",
					cur, nd.server, nd.instance, cur)
			}
			lsn += 0x98
			b = append(b, `{"t":"ok","id":`...)
			b = strconv.AppendInt(b, pid, 10)
			b = append(b, `,"at":`...)
			b = strconv.AppendInt(b, int64(at), 10)
			b = append(b, `,"n":`...)
			b = strconv.AppendInt(b, int64(cur), 10)
			b = append(b, `,"lsn":"`...)
			b = lsn.AppendText(b)
			b = append(b, `","tl":`...)
			b = strconv.AppendUint(b, uint64(nodes[cur].tl), 10)
			b = append(b, `,"clk":`...)
			b = strconv.AppendInt(b, start.Add(at).UnixMicro()+int64(r.IntN(200)), 10)
			b = append(b, "}\n"...)
			acked[pid] = true
		case p < 98:
			b = append(b, `{"t":"fail","id":`...)
			b = strconv.AppendInt(b, pid, 10)
			b = append(b, `,"at":`...)
			b = strconv.AppendInt(b, int64(at), 10)
			b = append(b, `,"err":`...)
			b = append(b, fails[r.IntN(len(fails))]...)
			b = append(b, "}\n"...)
		default:
			b = append(b, `{"t":"unk","id":`...)
			b = strconv.AppendInt(b, pid, 10)
			b = append(b, `,"at":`...)
			b = strconv.AppendInt(b, int64(at), 10)
			b = append(b, `,"err":`...)
			b = append(b, unks[r.IntN(len(unks))]...)
			b = append(b, "}\n"...)
		}
		w.Write(b)
	}
	for id < int64(n) {
		if len(moveAt) < len(moves) && id >= int64(moves[len(moveAt)]) && id > lastMoveID {
			// The primary dies: what is in flight goes unknown.
			for c := range pending {
				if pending[c] != 0 {
					b = b[:0]
					b = fmt.Appendf(b, `{"t":"unk","id":%d,"at":%d,"err":%s}`+"\n", pending[c], int64(at), unks[2])
					w.Write(b)
					pending[c] = 0
				}
			}
			switchLSN = append(switchLSN, lsn+0x1000)
			moveAt = append(moveAt, at)
			lsn += 0x2000
			at += 1500 * time.Millisecond
			cur++
			lastMoveID = id
		}
		c := r.IntN(clients)
		outcome(c)
		id++
		pending[c] = id
		at += time.Duration(40_000 + r.IntN(20_000)) // 20-25 k writes/s
		b = b[:0]
		b = append(b, `{"t":"inv","id":`...)
		b = strconv.AppendInt(b, id, 10)
		b = append(b, `,"c":`...)
		b = strconv.AppendInt(b, int64(c), 10)
		b = append(b, `,"at":`...)
		b = strconv.AppendInt(b, int64(at), 10)
		b = append(b, "}\n"...)
		w.Write(b)
	}
	for c := range pending {
		at += 50_000
		outcome(c)
	}
	end := at + 10*time.Millisecond
	fmt.Fprintf(w, `{"t":"end","at":%d}`+"\n", int64(end))
	if err := w.Flush(); err != nil {
		return err
	}
	if err := lf.Close(); err != nil {
		return err
	}

	// The monitor: every 250 ms, each of the three instances.
	mf, err := os.Create(filepath.Join(dir, history.MonitorFile))
	if err != nil {
		return err
	}
	defer mf.Close()
	mw := bufio.NewWriter(mf)
	for i, nd := range nodes {
		fmt.Fprintf(mw, `{"t":"inst","i":%d,"name":%q,"target":"host=%s port=5432 user=pgchaos"}`+"\n", i, nd.instance, nd.instance)
	}
	for t := time.Duration(0); t <= end; t += 250 * time.Millisecond {
		prim, tl := 0, uint32(1)
		for k, m := range moveAt {
			if t >= m {
				prim, tl = k+1, uint32(k+2)
			}
		}
		down := false
		for _, m := range moveAt {
			if t >= m && t < m+2*time.Second {
				down = true
			}
		}
		for i := range nodes {
			switch {
			case i == prim:
				fmt.Fprintf(mw, `{"t":"obs","i":%d,"at":%d,"up":true,"tl":%d,"w":"%s"}`+"\n", i, int64(t), tl, lsn)
			case down:
				fmt.Fprintf(mw, `{"t":"obs","i":%d,"at":%d,"up":true,"rec":true,"tl":%d}`+"\n", i, int64(t), tl)
			default:
				fmt.Fprintf(mw, `{"t":"obs","i":%d,"at":%d,"up":true,"rec":true,"tl":%d,"rcv":"%s","rpl":"%s","str":true}`+"\n", i, int64(t), tl, lsn, lsn)
			}
		}
	}
	if err := mw.Flush(); err != nil {
		return err
	}
	if err := mf.Close(); err != nil {
		return err
	}

	var present []history.IDRange
	for id, ok := range acked {
		if !ok {
			continue
		}
		if k := len(present); k > 0 && present[k-1].Last+1 == int64(id) {
			present[k-1].Last = int64(id)
		} else {
			present = append(present, history.IDRange{First: int64(id), Last: int64(id)})
		}
	}
	var hist []history.TimelineSwitch
	for k, s := range switchLSN {
		hist = append(hist, history.TimelineSwitch{TLI: uint32(k + 1), SwitchLSN: s})
	}
	fs := &history.FinalState{ReadAt: end + time.Second}
	for i, nd := range nodes {
		in := history.InstanceState{Name: nd.instance, Server: nd.server, Reachable: true, Primary: i == len(nodes)-1,
			SystemID: "7311000000000000001", Started: fmt.Sprintf("2026-12-01 00:00:0%d+00", i),
			Timeline: 3, LSN: lsn, History: hist}
		if in.Primary {
			in.Present = present
			for _, p := range present {
				in.Rows += p.Last - p.First + 1
			}
		}
		fs.Instances = append(fs.Instances, in)
	}
	return history.WriteFinal(dir, fs)
}

// checkBinary is the pgchaos command the end-to-end benchmark runs:
// $PGCHAOS_BIN (scripts/bench.sh passes bin/pgchaos), else this test binary
// acting as the command (TestMain).
func checkBinary() (string, []string) {
	if p := os.Getenv("PGCHAOS_BIN"); p != "" {
		return p, nil
	}
	return os.Args[0], []string{"PGCHAOS_TEST_AS_MAIN=1"}
}

// BenchmarkCheckEndToEnd5M runs `pgchaos check DIR` as a child process on a
// generated trial of 5 million writes (ledger, monitor, final state) and
// reports writes checked per second of wall time and the child's peak RSS
// per write (targets: >= 1e6 ops/s, <= 100 B/op; reported, not enforced),
// with its CPU time (user + system), which a busy machine moves less.
// It fails only when the check cannot run (a failed check on the generated
// trial, which passes every check, is a warning).
// PGCHAOS_BENCH_TRIAL=DIR keeps the generated trial in DIR (reused when
// its ledger is there).
func BenchmarkCheckEndToEnd5M(b *testing.B) { benchmarkCheckEndToEnd(b, 5_000_000) }

// BenchmarkCheckEndToEnd500K is the same on 500,000 writes, for quick runs.
func BenchmarkCheckEndToEnd500K(b *testing.B) { benchmarkCheckEndToEnd(b, 500_000) }

func benchmarkCheckEndToEnd(b *testing.B, n int) {
	dir := os.Getenv("PGCHAOS_BENCH_TRIAL")
	if dir == "" {
		dir = filepath.Join(b.TempDir(), "trial")
	} else {
		dir = filepath.Join(dir, strconv.Itoa(n))
	}
	if _, err := os.Stat(filepath.Join(dir, history.LedgerFile)); err != nil {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if err := genTrial(dir, n); err != nil {
			b.Fatalf("generating the trial: %v", err)
		}
		b.Logf("generated %d writes in %s", n, time.Since(t0).Round(time.Millisecond))
	}
	st, err := os.Stat(filepath.Join(dir, history.LedgerFile))
	if err != nil {
		b.Fatal(err)
	}
	bin, env := checkBinary()
	var maxRSS int64
	var wall, cpu time.Duration
	b.ResetTimer()
	for range b.N {
		cmd := exec.Command(bin, "check", dir)
		cmd.Env = append(os.Environ(), env...)
		t0 := time.Now()
		out, err := cmd.CombinedOutput()
		wall += time.Since(t0)
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee) && ee.ExitCode() == exitFailed:
			// It ran: the figures stand, but the trial was meant to pass.
			b.Logf("warning: a check failed on the generated trial (every check should pass on it):\n%s", out)
		case err != nil:
			b.Fatalf("%s check %s: %v\n%s", bin, dir, err, out)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			maxRSS = max(maxRSS, ru.Maxrss*1024) // KiB on Linux
			cpu += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)*float64(b.N)/wall.Seconds(), "ops/s")
	b.ReportMetric(float64(maxRSS)/float64(n), "rss-bytes/op")
	b.ReportMetric(float64(maxRSS)/(1<<20), "peak-rss-MiB")
	b.ReportMetric(wall.Seconds()/float64(b.N), "s/check")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/check")
	b.ReportMetric(float64(st.Size())/float64(n), "ledger-bytes/op")
}
