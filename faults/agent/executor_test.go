package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgchaos/pgchaos/internal/pgtestbed"
)

// The test binary doubles as `pgchaos agent nsexec` for the executor.
func TestMain(m *testing.M) {
	if os.Getenv("PGCHAOS_AGENT_TEST_NSEXEC") == "1" {
		args := os.Args[1:] // agent nsexec --net NS -- cmd...
		if len(args) < 6 || args[0] != "agent" || args[1] != "nsexec" || args[2] != "--net" || args[4] != "--" {
			fmt.Fprintln(os.Stderr, "bad nsexec args", args)
			os.Exit(2)
		}
		if err := NSExec(args[3], args[5:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	os.Exit(m.Run())
}

func needRoot(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: needs root, network namespaces and iptables")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, iptables, cgroups)")
	}
	for _, tool := range []string{"ip", "iptables", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// podCgroup makes a cgroup named like a pod's (pod<uid>, as the kubelet
// names them) and returns a function that moves a pid into it.
func podCgroup(t *testing.T, uid string) func(pid int) {
	t.Helper()
	dir := filepath.Join("/sys/fs/cgroup/pids", "pgchaos-test-"+strconv.Itoa(os.Getpid()), "pod"+uid)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Skipf("cannot create a cgroup to stand for a pod: %v", err)
	}
	t.Cleanup(func() {
		// Move whatever is left back to the root before removing.
		data, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		for _, p := range strings.Fields(string(data)) {
			_ = os.WriteFile("/sys/fs/cgroup/pids/cgroup.procs", []byte(p), 0o644)
		}
		_ = os.Remove(dir)
		_ = os.Remove(filepath.Dir(dir))
	})
	return func(pid int) {
		err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644)
		if errors.Is(err, syscall.ESRCH) {
			return // a short-lived process (a backend, a worker) exited meanwhile
		}
		if err != nil {
			t.Fatalf("moving pid %d into %s: %v", pid, dir, err)
		}
	}
}

// netnsPod is a network namespace joined to the host by a veth pair, with
// TCP listeners on 5432 and 5433 inside, in a cgroup named like a pod.
type netnsPod struct {
	uid, hostIP, podIP string
}

func newNetnsPod(t *testing.T, n int) netnsPod {
	t.Helper()
	ns := fmt.Sprintf("pgchaos-t%d-%d", os.Getpid()%100000, n)
	hv, pv := fmt.Sprintf("pgct%dh%d", os.Getpid()%10000, n), fmt.Sprintf("pgct%dp%d", os.Getpid()%10000, n)
	p := netnsPod{uid: fmt.Sprintf("0000-test-%d-%d", os.Getpid(), n),
		hostIP: fmt.Sprintf("10.199.%d.1", n), podIP: fmt.Sprintf("10.199.%d.2", n)}
	run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	run(t, "ip", "link", "add", hv, "type", "veth", "peer", "name", pv)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", hv).Run() })
	run(t, "ip", "link", "set", pv, "netns", ns)
	run(t, "ip", "addr", "add", p.hostIP+"/30", "dev", hv)
	run(t, "ip", "link", "set", hv, "up")
	run(t, "ip", "netns", "exec", ns, "ip", "addr", "add", p.podIP+"/30", "dev", pv)
	run(t, "ip", "netns", "exec", ns, "ip", "link", "set", pv, "up")
	run(t, "ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
	listener := exec.Command("ip", "netns", "exec", ns, "python3", "-c", `
import socket, threading, time
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(64)
    while True:
        c, _ = s.accept(); c.close()
for p in (5432, 5433):
    threading.Thread(target=serve, args=(p,), daemon=True).start()
time.sleep(600)
`)
	if err := listener.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = listener.Process.Kill(); _ = listener.Wait() })
	podCgroup(t, p.uid)(listener.Process.Pid)
	// Wait until both listeners answer.
	for i := 0; ; i++ {
		if reach(p.podIP, 5432) && reach(p.podIP, 5433) {
			break
		}
		if i == 50 {
			t.Fatalf("listeners in %s never answered", ns)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return p
}

func reach(ip string, port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, strconv.Itoa(port)), 700*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func testExecutor(t *testing.T) *Executor {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PGCHAOS_AGENT_TEST_NSEXEC", "1")
	return &Executor{Store: Store{Dir: t.TempDir()}, Self: self, Log: func(s string) { t.Log(s) }}
}

func TestPartitionShapesInANetworkNamespace(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	e := testExecutor(t)
	p := newNetnsPod(t, 1)
	dl := time.Now().Add(time.Minute)

	// Everything cut (the isolated instance).
	a, err := e.Apply(ctx, Action{ID: "t-all", RunID: "t", Kind: Partition, PodUID: p.uid, Pod: "test/all", Deadline: dl})
	if err != nil {
		t.Fatal(err)
	}
	if a.Applied.IsZero() {
		t.Fatal("applied time not recorded")
	}
	if reach(p.podIP, 5432) || reach(p.podIP, 5433) {
		t.Fatal("the isolated namespace is still reachable")
	}
	if err := e.Revert(ctx, "t-all"); err != nil {
		t.Fatal(err)
	}
	if !reach(p.podIP, 5432) {
		t.Fatal("not reachable after revert")
	}
	if err := e.Revert(ctx, "t-all"); err == nil {
		t.Fatal("a second revert of a forgotten action should say not found")
	}

	// Clients cut: port 5432 only; 5433 still answers.
	if _, err := e.Apply(ctx, Action{ID: "t-port", RunID: "t", Kind: Partition, PodUID: p.uid, Deadline: dl, Ports: []int{5432}}); err != nil {
		t.Fatal(err)
	}
	if reach(p.podIP, 5432) || !reach(p.podIP, 5433) {
		t.Fatalf("port partition: 5432 reachable=%v (want false), 5433 reachable=%v (want true)", reach(p.podIP, 5432), reach(p.podIP, 5433))
	}
	// The same with the host excepted: nothing dropped for it.
	if _, err := e.RevertRun(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Apply(ctx, Action{ID: "t-except", RunID: "t", Kind: Partition, PodUID: p.uid, Deadline: dl, Ports: []int{5432}, Except: []string{p.hostIP}}); err != nil {
		t.Fatal(err)
	}
	if !reach(p.podIP, 5432) {
		t.Fatal("an excepted peer was dropped")
	}
	// Peers: only the named peer is cut.
	if _, err := e.RevertRun(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Apply(ctx, Action{ID: "t-peer", RunID: "t", Kind: Partition, PodUID: p.uid, Deadline: dl, Peers: []string{p.hostIP}}); err != nil {
		t.Fatal(err)
	}
	if reach(p.podIP, 5433) {
		t.Fatal("the named peer still reaches the namespace")
	}
	if held, _ := e.Store.List(); len(held) != 1 {
		t.Fatalf("store holds %d actions, want 1", len(held))
	}
	if _, err := e.RevertRun(ctx, "other-run"); err != nil {
		t.Fatal(err)
	}
	if reach(p.podIP, 5433) {
		t.Fatal("reverting another run's actions reverted this one")
	}
	if _, err := e.RevertRun(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	if !reach(p.podIP, 5433) {
		t.Fatal("not reachable after reverting the run")
	}
}

func TestDeadlineRevertsByItself(t *testing.T) {
	needRoot(t)
	e := testExecutor(t)
	p := newNetnsPod(t, 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := e.Apply(ctx, Action{ID: "t-dl", RunID: "t", Kind: Partition, PodUID: p.uid, Deadline: time.Now().Add(2 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if reach(p.podIP, 5432) {
		t.Fatal("partition not applied")
	}
	// The harness "dies" here: nobody calls Revert. The agent's loop runs.
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, 200*time.Millisecond) }()
	start := time.Now()
	for {
		held, _ := e.Store.List()
		if len(held) == 0 && reach(p.podIP, 5432) {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("the deadline passed 8 s ago and the partition is still there (held: %v)", held)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A second action, then the agent is stopped: it reverts what it holds.
	if _, err := e.Apply(ctx, Action{ID: "t-stop", RunID: "t", Kind: Partition, PodUID: p.uid, Deadline: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if reach(p.podIP, 5432) {
		t.Fatal("partition not applied")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !reach(p.podIP, 5432) {
		t.Fatal("a stopped agent left its partition behind")
	}
	// An already expired action is refused.
	if _, err := e.Apply(context.Background(), Action{ID: "t-late", Kind: Partition, PodUID: p.uid, Deadline: time.Now().Add(-time.Second)}); err == nil {
		t.Fatal("an expired action was applied")
	}
}

func TestFreezePostgres(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	tb, err := pgtestbed.Start(ctx, pgtestbed.Options{Replicas: -1})
	if err != nil {
		t.Skipf("no PostgreSQL here: %v", err)
	}
	defer tb.Close()
	pm := tb.Primary().PostmasterPID()
	if pm == 0 {
		t.Fatal("no postmaster pid")
	}
	uid := fmt.Sprintf("0000-freeze-%d", os.Getpid())
	move := podCgroup(t, uid)
	e := testExecutor(t)
	procs := []int{pm}
	ents, _ := os.ReadDir("/proc")
	for _, en := range ents {
		pid, err := strconv.Atoi(en.Name())
		if err != nil {
			continue
		}
		if st, err := e.stat(pid); err == nil && st.ppid == pm {
			procs = append(procs, pid)
		}
	}
	for _, pid := range procs {
		move(pid)
	}
	write := func(timeout time.Duration) error {
		c, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		conn, err := pgx.Connect(c, tb.DSN(tb.Primary()))
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(c, "CREATE TABLE IF NOT EXISTS freeze_t (x int); INSERT INTO freeze_t VALUES (1)")
		return err
	}
	if err := write(5 * time.Second); err != nil {
		t.Fatalf("write before the freeze: %v", err)
	}
	a, err := e.Apply(ctx, Action{ID: "t-freeze", RunID: "t", Kind: Freeze, PodUID: uid, Pod: "test/pg0", Deadline: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Frozen) < 3 || a.Frozen[0].PID != pm {
		t.Fatalf("frozen %v: want the postmaster %d first and its children", a.Frozen, pm)
	}
	if err := write(2 * time.Second); err == nil {
		t.Fatal("a frozen server accepted a write")
	}
	if err := e.Revert(ctx, "t-freeze"); err != nil {
		t.Fatal(err)
	}
	if err := write(10 * time.Second); err != nil {
		t.Fatalf("write after the thaw: %v", err)
	}
}
