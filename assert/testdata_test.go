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
	pass, fail, unk := history.Pass, history.Failed, history.Undecided
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
			// Replication: 10 s watched of a 60 s budget, undecided.
			want: [6]history.Status{fail, pass, fail, fail, unk, pass},
			figures: map[string]map[string]any{
				history.CheckLostAckedWrites:     {"lost": 16},
				history.CheckSplitBrain:          {"client_side": true, "server_side": true, "server_side_overlap_s": 8.0},
				history.CheckReplicationRecovery: {"end_streaming": false, "undecided": 2},
				history.CheckPhantomWrites:       {"phantoms": 0, "beyond_truncated_ledger": 1},
			},
		},
		// The regression trials of issue 12: each failed (a wrong verdict)
		// before the checkers were made sound. See testdata/README.md.
		{
			// Defect 1: one client, every commit 1.2 s for 40 s, nothing
			// failing: slow but available, not a 40.8 s outage.
			dir:  "slow-one-client",
			want: [6]history.Status{pass, pass, pass, pass, pass, pass},
			figures: map[string]map[string]any{
				history.CheckUnavailability: {"max_s": 1.208, "count": 34, "partial_count": 0, "longest_client_stall_s": 1.208},
			},
		},
		{
			// Defect 2: one server through 127.0.0.1 and 127.0.0.2, clients
			// and the monitor on both: no split brain.
			dir:  "two-addresses",
			want: [6]history.Status{pass, pass, pass, pass, unk, pass},
			figures: map[string]map[string]any{
				history.CheckSplitBrain:      {"client_side": false, "server_side": false, "final_state": false, "keys": 1},
				history.CheckLostAckedWrites: {"lost": 0, "acked": 8000},
			},
		},
		{
			// Defect 3: the primary's final read failed; a paused replica
			// listed first must not be judged instead ("599 lost").
			dir:  "primary-read-failed",
			want: [6]history.Status{unk, pass, pass, unk, pass, unk},
			figures: map[string]map[string]any{
				history.CheckLostAckedWrites: {"lost": 0, "acked": 1200},
			},
		},
		{
			// Defect 4: no monitor, two primaries in the final state.
			dir:  "two-primaries-no-monitor",
			want: [6]history.Status{unk, pass, fail, fail, unk, pass},
			figures: map[string]map[string]any{
				history.CheckSplitBrain: {"client_side": false, "server_side_evaluated": false, "final_state": true},
			},
		},
		{
			// Defect 5: the harness died at 20 s with writes failing; the
			// monitor saw the primary down until 70 s: not "available".
			dir:       "truncated-dead-tail",
			truncated: true,
			want:      [6]history.Status{pass, unk, pass, pass, pass, pass},
			figures: map[string]map[string]any{
				history.CheckUnavailability: {"unobserved_s": 59.605},
			},
		},
		{
			// Defect 6: an id of 10^12 above a truncated ledger of 100.
			dir:       "phantom-far-beyond",
			truncated: true,
			want:      [6]history.Status{pass, pass, pass, pass, pass, fail},
			figures: map[string]map[string]any{
				history.CheckPhantomWrites: {"phantoms": 1, "beyond_truncated_ledger": 0},
			},
		},
		{
			// Defect 6: an end record without its newline is the end; the
			// id after the last is a phantom, not "beyond a truncation".
			dir:  "end-without-newline",
			want: [6]history.Status{pass, pass, pass, pass, pass, fail},
			figures: map[string]map[string]any{
				history.CheckPhantomWrites: {"phantoms": 1, "beyond_truncated_ledger": 0},
			},
		},
		{
			// Defect 7: a change of primary at 14.2 s, the trial stopped at
			// 52.6 s with a replica on the old timeline: undecided, not fail.
			dir:  "replication-watched-too-briefly",
			want: [6]history.Status{pass, pass, pass, unk, unk, pass},
			figures: map[string]map[string]any{
				history.CheckReplicationRecovery: {"undecided": 2}, // the fault and the change of primary
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
