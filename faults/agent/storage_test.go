package agent

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/faults/iofs"
)

// serveControl serves a fresh Control on a unix socket in a temp dir (no
// FUSE mount: the executor only talks to the control).
func serveControl(t *testing.T) (*iofs.Control, string) {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "c.sock")
	l, err := iofs.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctl := iofs.NewControl()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = iofs.Serve(ctx, l, ctl, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	t.Cleanup(func() { cancel(); <-done; ctl.Close() })
	return ctl, sock
}

func TestIOFSApplyRevert(t *testing.T) {
	ctl, sock := serveControl(t)
	e := &Executor{Store: Store{Dir: t.TempDir()}, IOFSControl: sock}
	ctx := context.Background()
	spec := iofs.Spec{FsyncDelay: 50 * time.Millisecond, DelayPrefix: "pvc-1_db_pg-1/pgdata/pg_wal/"}
	a := Action{ID: "r-wal-slow", RunID: "r", Kind: IOFS, Deadline: time.Now().Add(time.Minute), Storage: &spec}
	if _, err := e.Apply(ctx, a); err != nil {
		t.Fatal(err)
	}
	st := ctl.State()
	if st.Active == nil || *st.Active != spec {
		t.Fatalf("fault in force %v, want %v", st.Active, spec)
	}
	// The filesystem's own deadline is the action's (within a second).
	if d := st.Deadline.Sub(a.Deadline); d < -time.Second || d > time.Second {
		t.Errorf("filesystem deadline %s, action deadline %s", st.Deadline, a.Deadline)
	}
	// A second fault on the same node is refused, and the first stays.
	b := a
	b.ID = "r-other"
	if _, err := e.Apply(ctx, b); err == nil || !strings.Contains(err.Error(), "another storage fault") {
		t.Fatalf("second apply: %v, want a refusal", err)
	}
	if ctl.State().Active == nil {
		t.Fatal("the refused apply cleared the fault in force")
	}
	if err := e.Revert(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if ctl.State().Active != nil {
		t.Fatal("revert left the fault in force")
	}
}

func TestIOFSRevertLeavesOthersFault(t *testing.T) {
	ctl, sock := serveControl(t)
	e := &Executor{IOFSControl: sock}
	if _, err := ctl.Set(iofs.Spec{ENOSPC: true, ENOSPCPrefix: "x/"}, time.Minute, "someone-else"); err != nil {
		t.Fatal(err)
	}
	a := Action{ID: "mine", Kind: IOFS, Storage: &iofs.Spec{ENOSPC: true, ENOSPCPrefix: "x/"}}
	if err := e.storageRevert(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if ctl.State().Active == nil {
		t.Fatal("reverting an action cleared a fault it did not set")
	}
}

func TestIOFSRevertWithoutServer(t *testing.T) {
	e := &Executor{IOFSControl: filepath.Join(t.TempDir(), "absent.sock")}
	a := Action{ID: "mine", Kind: IOFS, Storage: &iofs.Spec{ENOSPC: true, ENOSPCPrefix: "x/"}}
	if err := e.storageRevert(context.Background(), a); err != nil {
		t.Fatalf("revert without a server: %v (a stopped filesystem holds no fault)", err)
	}
	st := Store{Dir: t.TempDir()}
	e.Store = st
	a.Deadline = time.Now().Add(time.Minute)
	if _, err := e.Apply(context.Background(), a); err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Fatalf("apply without a server: %v", err)
	}
	if held, _ := st.List(); len(held) != 0 {
		t.Fatalf("a failed apply is still held: %v", held)
	}
}
