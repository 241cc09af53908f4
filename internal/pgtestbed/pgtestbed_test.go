package pgtestbed

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// waitTimeout bounds every wait of these tests.
const waitTimeout = 30 * time.Second

// startCluster starts a testbed that is closed, and checked for leftover
// server processes, when the test ends.
func startCluster(t *testing.T, opts Options) *Cluster {
	t.Helper()
	opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	began := time.Now()
	c, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("starting testbed: %v", err)
	}
	t.Logf("testbed up in %s: %s", time.Since(began).Round(time.Millisecond), c.MultiHostDSN())
	t.Cleanup(func() {
		base := c.BaseDir
		if err := c.Close(); err != nil {
			t.Errorf("closing testbed: %v", err)
		}
		if err := c.Close(); err != nil {
			t.Errorf("closing testbed twice: %v", err)
		}
		if left := serversIn(base); len(left) > 0 {
			t.Errorf("server processes left behind in %s: %v", base, left)
		}
		if _, err := os.Stat(base); !os.IsNotExist(err) {
			t.Errorf("base directory %s not removed: %v", base, err)
		}
	})
	return c
}

func mustExec(t *testing.T, c *Cluster, i *Instance, sql string) {
	t.Helper()
	if err := c.exec(t.Context(), i, sql); err != nil {
		t.Fatal(err)
	}
}

// queryInt runs a query returning one integer (or boolean as 0/1) on i.
func queryInt(ctx context.Context, c *Cluster, i *Instance, sql string) (int64, error) {
	conn, err := c.Connect(ctx, i)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var v int64
	if err := conn.QueryRow(ctx, sql).Scan(&v); err != nil {
		return 0, err
	}
	return v, nil
}

func mustInt(t *testing.T, c *Cluster, i *Instance, sql string) int64 {
	t.Helper()
	v, err := queryInt(t.Context(), c, i, sql)
	if err != nil {
		t.Fatalf("%s on %s: %v", sql, i.Name, err)
	}
	return v
}

// eventuallyInt polls sql on i until it returns want.
func eventuallyInt(t *testing.T, c *Cluster, i *Instance, sql string, want int64) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		v, err := queryInt(t.Context(), c, i, sql)
		if err == nil && v == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s on %s: want %d, last got %d (err %v)\n%s", sql, i.Name, want, v, err, i.LogTail(20))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func portOpen(port int) bool {
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

const (
	inRecovery = "SELECT pg_is_in_recovery()::int"
	timeline   = "SELECT timeline_id::bigint FROM pg_control_checkpoint()"
	receiveTLI = "SELECT coalesce(max(received_tli), 0)::bigint FROM pg_stat_wal_receiver WHERE status = 'streaming'"
)

// TestFailoverCycle drives one cluster through a crash, a failover, a
// follow, a split brain and a rewind.
func TestFailoverCycle(t *testing.T) {
	t.Parallel()
	c := startCluster(t, Options{})
	ctx := t.Context()
	if len(c.Instances) != 3 {
		t.Fatalf("want 3 instances, got %d", len(c.Instances))
	}
	pg0, pg1, pg2 := c.Instances[0], c.Instances[1], c.Instances[2]
	if c.Primary() != pg0 {
		t.Fatalf("Primary() = %s, want pg0", c.Primary().Name)
	}

	// Replication works.
	mustExec(t, c, pg0, "CREATE TABLE t (id int PRIMARY KEY)")
	mustExec(t, c, pg0, "INSERT INTO t VALUES (1)")
	for _, r := range []*Instance{pg1, pg2} {
		if got := mustInt(t, c, r, inRecovery); got != 1 {
			t.Fatalf("%s: pg_is_in_recovery() = %d, want 1", r.Name, got)
		}
		eventuallyInt(t, c, r, "SELECT count(*) FROM t WHERE id = 1", 1)
	}

	// A crash of the primary releases its port and leaves nothing running;
	// Start brings it back with its replicas.
	if err := pg0.Kill(); err != nil {
		t.Fatal(err)
	}
	if pg0.Running() {
		t.Fatal("pg0 still running after Kill")
	}
	if portOpen(pg0.Port) {
		t.Fatalf("port %d of pg0 still open after Kill", pg0.Port)
	}
	if left := serversIn(pg0.DataDir); len(left) > 0 {
		t.Fatalf("processes of pg0 survived Kill: %v", left)
	}
	if err := pg0.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if !pg0.Running() {
		t.Fatal("pg0 not running after Start")
	}
	mustExec(t, c, pg0, "INSERT INTO t VALUES (2)")
	if err := c.WaitStreaming(ctx, pg0, 2, waitTimeout); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReplayed(ctx, pg0, 2, waitTimeout); err != nil {
		t.Fatal(err)
	}

	// Failover: crash pg0, promote the replica that received the most WAL
	// (a new timeline), the other one follows it. Below, pg1 is the new
	// primary and pg2 the follower, whatever their names.
	if err := pg0.Kill(); err != nil {
		t.Fatal(err)
	}
	const received = "SELECT (pg_last_wal_receive_lsn() - '0/0'::pg_lsn)::bigint"
	if mustInt(t, c, pg2, received) > mustInt(t, c, pg1, received) {
		pg1, pg2 = pg2, pg1
	}
	if err := pg1.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	if got := mustInt(t, c, pg1, inRecovery); got != 0 {
		t.Fatalf("%s still in recovery after Promote", pg1.Name)
	}
	mustExec(t, c, pg1, "CHECKPOINT")
	if got := mustInt(t, c, pg1, timeline); got != 2 {
		t.Fatalf("%s on timeline %d after Promote, want 2", pg1.Name, got)
	}
	if err := pg2.Follow(ctx, pg1); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitStreaming(ctx, pg1, 1, waitTimeout); err != nil {
		t.Fatal(err)
	}
	mustExec(t, c, pg1, "INSERT INTO t VALUES (3)")
	eventuallyInt(t, c, pg2, "SELECT count(*) FROM t WHERE id IN (1, 2, 3)", 3)
	eventuallyInt(t, c, pg2, receiveTLI, 2)

	// The multi-host DSN lands on the new primary.
	mh, err := pgx.Connect(ctx, c.MultiHostDSN())
	if err != nil {
		t.Fatal(err)
	}
	var port int64
	if err := mh.QueryRow(ctx, "SELECT current_setting('port')::bigint").Scan(&port); err != nil {
		t.Fatal(err)
	}
	mh.Close(ctx)
	if int(port) != pg1.Port {
		t.Fatalf("multi-host DSN reached port %d, want %s's %d", port, pg1.Name, pg1.Port)
	}

	// Split brain: the old primary comes back alone and takes a write that
	// the new timeline never saw, then crashes again.
	if err := pg0.Start(ctx); err != nil {
		t.Fatal(err)
	}
	mustExec(t, c, pg0, "INSERT INTO t VALUES (100)")
	if err := pg0.Kill(); err != nil {
		t.Fatal(err)
	}

	// Rewind throws the divergent write away and makes pg0 a replica of the
	// new primary.
	if err := pg0.Rewind(ctx, pg1); err != nil {
		t.Fatal(err)
	}
	if pg0.Running() {
		t.Fatal("Rewind started pg0")
	}
	if err := pg0.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitStreaming(ctx, pg1, 2, waitTimeout); err != nil {
		t.Fatal(err)
	}
	mustExec(t, c, pg1, "INSERT INTO t VALUES (4)")
	if err := c.WaitReplayed(ctx, pg1, 2, waitTimeout); err != nil {
		t.Fatal(err)
	}
	if got := mustInt(t, c, pg0, inRecovery); got != 1 {
		t.Fatal("pg0 not in recovery after Rewind and Start")
	}
	if got := mustInt(t, c, pg0, "SELECT count(*) FROM t WHERE id IN (1, 2, 3, 4)"); got != 4 {
		t.Fatalf("pg0 has %d of rows 1-4 after Rewind, want 4", got)
	}
	if got := mustInt(t, c, pg0, "SELECT count(*) FROM t WHERE id = 100"); got != 0 {
		t.Fatal("pg0 kept its divergent row after Rewind")
	}
	eventuallyInt(t, c, pg0, receiveTLI, 2)

	// Immediate stop and restart of a replica.
	if err := pg2.StopImmediate(ctx); err != nil {
		t.Fatal(err)
	}
	if pg2.Running() || portOpen(pg2.Port) {
		t.Fatalf("%s still up after StopImmediate", pg2.Name)
	}
	if err := pg2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitStreaming(ctx, pg1, 2, waitTimeout); err != nil {
		t.Fatal(err)
	}
}

// TestSynchronous checks that with Synchronous a commit on the primary
// blocks once no synchronous standby is left, and that SetSynchronous("")
// releases it.
func TestSynchronous(t *testing.T) {
	t.Parallel()
	c := startCluster(t, Options{Synchronous: true, ExtraConf: []string{"log_min_messages = warning"}})
	ctx := t.Context()
	pg0 := c.Primary()

	conn, err := c.Connect(ctx, pg0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var names string
	if err := conn.QueryRow(ctx, "SHOW synchronous_standby_names").Scan(&names); err != nil {
		t.Fatal(err)
	}
	if names != "ANY 1 (pg1, pg2)" {
		t.Fatalf("synchronous_standby_names = %q", names)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE t (id int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}

	for _, r := range c.Instances[1:] {
		if err := r.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	blocked, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	began := time.Now()
	_, err = conn.Exec(blocked, "INSERT INTO t VALUES (1)")
	took := time.Since(began)
	if err == nil {
		t.Fatalf("INSERT returned after %s with no synchronous standby left", took)
	}
	if took < 1900*time.Millisecond {
		t.Fatalf("INSERT failed after %s, before the 2s timeout: %v", took, err)
	}
	if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "timeout") {
		t.Logf("INSERT ended with %v", err)
	}

	// A port taken while an instance is down: Start fails, naming the
	// instance and quoting its log (the string startFresh looks for).
	// The instances listen on 127.0.0.1 and 127.0.0.2 (conf.go): PostgreSQL
	// starts when it can bind either, so both are taken.
	pg1 := c.Instances[1]
	var taken []net.Listener
	for _, host := range []string{"127.0.0.1", "127.0.0.2"} {
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(pg1.Port)))
		if err != nil {
			t.Fatal(err)
		}
		taken = append(taken, l)
	}
	err = pg1.Start(ctx)
	for _, l := range taken {
		l.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "starting pg1") ||
		!strings.Contains(err.Error(), "could not create any TCP/IP sockets") {
		t.Fatalf("starting pg1 on a taken port: got %v", err)
	}
	t.Logf("as expected: %v", err)

	if err := c.SetSynchronous(ctx, pg0, ""); err != nil {
		t.Fatal(err)
	}
	done, cancel2 := context.WithTimeout(ctx, 10*time.Second)
	defer cancel2()
	if err := c.exec(done, pg0, "INSERT INTO t VALUES (2)"); err != nil {
		t.Fatalf("INSERT after SetSynchronous(\"\"): %v", err)
	}
}

func TestStartWithoutBinaries(t *testing.T) {
	base := filepath.Join(t.TempDir(), "base")
	_, err := Start(t.Context(), Options{BinDir: t.TempDir(), BaseDir: base})
	if err == nil || !strings.Contains(err.Error(), "PostgreSQL binaries") {
		t.Fatalf("Start with an empty BinDir: got %v", err)
	}
	if got := ErrNoBinaries.Error(); !strings.Contains(got, "apt-get install -y postgresql") {
		t.Fatalf("ErrNoBinaries = %q", got)
	}
}

func TestFindBinDir(t *testing.T) {
	root := t.TempDir()
	if _, err := findBinDir(root); !errors.Is(err, ErrNoBinaries) {
		t.Fatalf("empty root: got %v, want ErrNoBinaries", err)
	}
	if _, err := findBinDir(filepath.Join(root, "absent")); !errors.Is(err, ErrNoBinaries) {
		t.Fatalf("absent root: got %v, want ErrNoBinaries", err)
	}
	for _, v := range []string{"9.6", "13", "15", "16"} {
		bin := filepath.Join(root, v, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, tool := range []string{"postgres", "initdb", "pg_ctl", "pg_basebackup", "pg_rewind"} {
			if v == "16" && tool == "pg_rewind" {
				continue // incomplete installation
			}
			if err := os.WriteFile(filepath.Join(bin, tool), nil, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := findBinDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "15", "bin"); got != want {
		t.Fatalf("findBinDir = %s, want %s", got, want)
	}
}

func TestSetAutoConf(t *testing.T) {
	dir := t.TempDir()
	c := &Cluster{run: &runner{}}
	i := &Instance{Name: "pg9", DataDir: dir}
	path := filepath.Join(dir, "postgresql.auto.conf")
	old := "# Do not edit this file manually!\n# It will be overwritten by the ALTER SYSTEM command.\n" +
		"primary_conninfo = 'host=a'\nprimary_slot_name = 's'\nprimary_conninfo='host=b'\n"
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.setAutoConf(i, "primary_conninfo", "host=c application_name='x'"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "# Do not edit this file manually!\n# It will be overwritten by the ALTER SYSTEM command.\n" +
		"primary_slot_name = 's'\nprimary_conninfo = 'host=c application_name=''x'''\n"
	if string(b) != want {
		t.Fatalf("postgresql.auto.conf:\n%s\nwant:\n%s", b, want)
	}
}
