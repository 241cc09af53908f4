package iofs

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveT serves a fresh Control on a socket in a temporary directory.
func serveT(t *testing.T) (*Control, *Client, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	l, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctl := NewControl()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, ctl, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		ctl.Close()
		if _, err := os.Stat(sock); !os.IsNotExist(err) {
			t.Errorf("socket %s left behind: %v", sock, err)
		}
	})
	return ctl, NewClient(sock), sock
}

func TestServeSetClearState(t *testing.T) {
	ctx := context.Background()
	ctl, c, _ := serveT(t)
	spec := Spec{FsyncDelay: 50 * time.Millisecond, DelayPrefix: "pg_wal/", ENOSPC: true, ENOSPCPrefix: "pg_wal/"}
	st, err := c.Set(ctx, spec, time.Minute, "test")
	if err != nil {
		t.Fatal(err)
	}
	if st.Active == nil || *st.Active != spec || time.Until(st.Deadline) < 50*time.Second {
		t.Fatalf("after Set: %+v", st)
	}
	if got := ctl.active(); got == nil || *got != spec {
		t.Fatalf("control has %v", got)
	}
	if st, err = c.Clear(ctx, "done"); err != nil || st.Active != nil {
		t.Fatalf("after Clear: %+v, %v", st, err)
	}
	if st, err = c.State(ctx); err != nil || len(st.Events) != 2 || st.Events[1].Reason != "done" {
		t.Fatalf("State: %+v, %v", st, err)
	}
}

func TestServeDeadline(t *testing.T) {
	ctx := context.Background()
	ctl, c, _ := serveT(t)
	if _, err := c.Set(ctx, Spec{ENOSPC: true}, 200*time.Millisecond, "short"); err != nil {
		t.Fatal(err)
	}
	var st State
	for end := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var err error
		if st, err = c.State(ctx); err != nil {
			t.Fatal(err)
		}
		if st.Active == nil && ctl.active() == nil {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("fault outlived its 200ms deadline by 3s: %+v", st)
		}
	}
	if last := st.Events[len(st.Events)-1]; last.Kind != EventExpired {
		t.Errorf("last event %v, want expired", last)
	}
}

func TestServeBadRequests(t *testing.T) {
	ctx := context.Background()
	_, c, sock := serveT(t)
	if _, err := c.Set(ctx, Spec{FsyncDelay: -time.Second}, time.Minute, ""); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("negative delay: %v", err)
	}
	if _, err := c.Set(ctx, Spec{ENOSPC: true}, 0, ""); err == nil || !strings.Contains(err.Error(), "needs a deadline") {
		t.Errorf("zero deadline: %v", err)
	}
	hc := NewClient(sock).hc
	for _, body := range []string{`{"fault":{"enospc":true}}`, `{"fault":{"fsync_delay":"fast"},"deadline":"1m"}`, `{"bogus":1}`, `not json`} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, "http://iofs"+FaultPath, bytes.NewReader([]byte(body)))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", body, resp.StatusCode)
		}
	}
	if st, err := c.State(ctx); err != nil || st.Active != nil {
		t.Errorf("a bad request set a fault: %+v %v", st, err)
	}
	if _, err := NewClient(filepath.Join(t.TempDir(), "absent.sock")).State(ctx); err == nil || !strings.Contains(err.Error(), "absent.sock") {
		t.Errorf("client of an absent socket: %v", err)
	}
}

func TestListenSocketFile(t *testing.T) {
	dir := t.TempDir()
	// A stale socket (nobody listening) is replaced.
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	if l, err = Listen(stale); err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	// A live one is refused.
	if _, err := Listen(stale); err == nil || !strings.Contains(err.Error(), "another server") {
		t.Errorf("live socket: %v", err)
	}
	l.Close()
	// A regular file is never removed.
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(file); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("regular file: %v", err)
	}
}
