package iofs

import (
	"strings"
	"testing"
	"time"
)

func TestSpecValidateAndString(t *testing.T) {
	for _, tc := range []struct {
		spec    Spec
		wantErr string
		str     string
	}{
		{Spec{}, "", "no fault"},
		{Spec{FsyncDelay: 50 * time.Millisecond, DelayPrefix: "pg_wal/"}, "", "fsync +50ms on pg_wal/"},
		{Spec{WriteDelay: time.Millisecond, ENOSPC: true}, "", "write +1ms on everything; ENOSPC on everything"},
		{Spec{WriteDelay: -1}, "write delay -1ns out of range", ""},
		{Spec{FsyncDelay: 2 * time.Hour}, "fsync delay 2h0m0s out of range", ""},
		{Spec{ENOSPC: true, ENOSPCPrefix: "/pg_wal"}, "must be relative", ""},
	} {
		err := tc.spec.Validate()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%+v: unexpected error %v", tc.spec, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%+v: error %v, want %q", tc.spec, err, tc.wantErr)
		}
		if tc.str != "" && tc.spec.String() != tc.str {
			t.Errorf("%+v: String() = %q, want %q", tc.spec, tc.spec.String(), tc.str)
		}
	}
	for in, want := range map[string]string{"/": "", "": "", ".": "", "/pg_wal/": "pg_wal/", "./pgdata/pg_wal/": "pgdata/pg_wal/"} {
		if got := CleanPrefix(in); got != want {
			t.Errorf("CleanPrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestControlSetClearEvents(t *testing.T) {
	c := NewControl()
	if c.active() != nil {
		t.Fatal("a new control has a fault")
	}
	if _, err := c.Set(Spec{FsyncDelay: time.Millisecond}, 0, "test"); err == nil || !strings.Contains(err.Error(), "needs a deadline") {
		t.Errorf("Set without deadline: %v", err)
	}
	if _, err := c.Set(Spec{FsyncDelay: -time.Millisecond}, time.Minute, "test"); err == nil {
		t.Error("Set of an invalid spec succeeded")
	}
	spec := Spec{FsyncDelay: 50 * time.Millisecond, DelayPrefix: "pg_wal/"}
	dl, err := c.Set(spec, time.Minute, "test")
	if err != nil {
		t.Fatal(err)
	}
	if until := time.Until(dl); until < 59*time.Second || until > time.Minute {
		t.Errorf("deadline in %s, want ~1m", until)
	}
	if got := c.active(); got == nil || *got != spec {
		t.Errorf("active = %v, want %v", got, spec)
	}
	c.Clear("test done")
	c.Clear("again") // clearing nothing records nothing
	st := c.State()
	if st.Active != nil || !st.Deadline.IsZero() {
		t.Errorf("after Clear: %+v", st)
	}
	if len(st.Events) != 2 || st.Events[0].Kind != EventSet || st.Events[1].Kind != EventClear ||
		st.Events[0].Spec != spec || st.Events[1].Reason != "test done" {
		t.Errorf("events = %v", st.Events)
	}
	// An empty Spec is a Clear.
	if _, err := c.Set(Spec{ENOSPC: true}, time.Minute, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Set(Spec{}, time.Minute, "empty"); err != nil {
		t.Fatal(err)
	}
	if c.active() != nil {
		t.Error("Set(empty) left a fault")
	}
	c.Close()
	if _, err := c.Set(spec, time.Minute, "after close"); err == nil {
		t.Error("Set after Close succeeded")
	}
}

// TestControlDeadline is the dead man's switch: a fault not renewed clears
// itself; a renewal pushes the deadline; a stale timer does not clear a
// newer fault.
func TestControlDeadline(t *testing.T) {
	c := NewControl()
	defer c.Close()
	spec := Spec{WriteDelay: time.Millisecond}
	if _, err := c.Set(spec, 200*time.Millisecond, "first"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Set(spec, time.Second, "renewed"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // past the first deadline
	if c.active() == nil {
		t.Fatal("the first Set's timer cleared the renewed fault")
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.active() != nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	st := c.State()
	if st.Active != nil {
		t.Fatal("fault still active 4s after its deadline")
	}
	if len(st.Events) != 3 {
		t.Fatalf("events %v, want set, set, expired", st.Events)
	}
	last := st.Events[2]
	if last.Kind != EventExpired {
		t.Errorf("last event %v, want %s", last, EventExpired)
	}
	// Never early; late only by scheduling (generous: a loaded machine).
	if late := last.At.Sub(st.Events[1].Deadline); late < 0 || late > time.Second {
		t.Errorf("expired %s after the deadline", late)
	}
}

func TestControlKeepsBoundedEvents(t *testing.T) {
	c := NewControl()
	defer c.Close()
	for range maxEvents + 10 {
		if _, err := c.Set(Spec{ENOSPC: true}, time.Minute, ""); err != nil {
			t.Fatal(err)
		}
	}
	st := c.State()
	if len(st.Events)+st.Dropped != maxEvents+10 || len(st.Events) > maxEvents {
		t.Errorf("%d events kept, %d dropped", len(st.Events), st.Dropped)
	}
}
