package assert

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/pgchaos/pgchaos/history"
)

// TestSavedTrials re-checks the trials saved in testdata: each directory is
// in the on-disk format (history/FORMAT.md) and read with history.Load.
func TestSavedTrials(t *testing.T) {
	pass, fail := history.Pass, history.Failed
	for _, tc := range []struct {
		dir       string
		truncated bool
		want      [6]history.Status // in the order of All
		figures   map[string]map[string]any
	}{
		{
			dir:  "clean",
			want: [6]history.Status{pass, pass, pass, pass, pass, pass},
			figures: map[string]map[string]any{
				history.CheckLostAckedWrites: {"lost": 0, "acked": 40},
				history.CheckUnavailability:  {"count": 0},
				history.CheckSplitBrain:      {"client_side": false, "server_side": false, "keys": 1},
				history.CheckWALContinuity:   {"newest": uint32(1)},
			},
		},
		{
			// The primary is killed; pg-2 is promoted on timeline 2, which
			// forked before the last two writes pg-1 acknowledged.
			dir:  "async-failover-lost",
			want: [6]history.Status{fail, pass, pass, pass, pass, pass},
			figures: map[string]map[string]any{
				history.CheckLostAckedWrites:     {"lost": 2, "acked": 84, "wal_bytes": int64(320), "first_lost_s": 9.504, "last_lost_s": 9.754},
				history.CheckUnavailability:      {"count": 1, "max_s": 4.8},
				history.CheckSplitBrain:          {"client_side": false, "server_side": false, "keys": 2},
				history.CheckWALContinuity:       {"newest": uint32(2)},
				history.CheckReplicationRecovery: {"max_s": 9.0, "end_streaming": true},
			},
		},
		{
			// pg-1 is cut off from its replicas but not from client 0; pg-2
			// is promoted and client 1 writes to it. The harness dies: the
			// ledger is truncated, and the final state holds one id past it.
			dir:       "split-brain",
			truncated: true,
			want:      [6]history.Status{fail, pass, fail, fail, fail, pass},
			figures: map[string]map[string]any{
				history.CheckLostAckedWrites:     {"lost": 16},
				history.CheckSplitBrain:          {"client_side": true, "server_side": true, "server_side_overlap_s": 8.0},
				history.CheckReplicationRecovery: {"end_streaming": false},
				history.CheckPhantomWrites:       {"phantoms": 0, "beyond_truncated_ledger": 1},
			},
		},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			tr, err := history.Load(filepath.Join("testdata", tc.dir))
			if err != nil {
				t.Fatal(err)
			}
			if tr.Truncated != tc.truncated {
				t.Fatalf("truncated = %v", tr.Truncated)
			}
			r := Run(tr, DefaultConfig())
			for i, v := range r.Checks {
				checkShape(t, v, All()[i].Name())
				if v.Status != tc.want[i] {
					t.Errorf("%s: %s, want %s: %s%s", v.Name, v.Status, tc.want[i], v.Summary, v.Reason)
				}
				for k, want := range tc.figures[v.Name] {
					if got := fig(t, v, k); got != want {
						t.Errorf("%s: figure %s = %v (%T), want %v (%T)", v.Name, k, got, got, want, want)
					}
				}
			}
			if _, err := json.Marshal(r); err != nil {
				t.Errorf("report does not encode: %v", err)
			}
			if testing.Verbose() {
				for _, v := range r.Checks {
					t.Logf("%-22s %-7s %s", v.Name, v.Status, v.Summary)
				}
			}
		})
	}
}
