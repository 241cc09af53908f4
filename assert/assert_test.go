package assert

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/pgchaos/pgchaos/history"
)

func TestAllOrder(t *testing.T) {
	var names []string
	for _, c := range All() {
		names = append(names, c.Name())
	}
	want := []string{
		history.CheckLostAckedWrites, history.CheckUnavailability, history.CheckSplitBrain,
		history.CheckWALContinuity, history.CheckReplicationRecovery, history.CheckPhantomWrites,
		history.CheckExpectations,
	}
	if !slices.Equal(names, want) {
		t.Errorf("All() = %v, want %v", names, want)
	}
}

func TestDefaultConfig(t *testing.T) {
	if got := (Config{}).withDefaults(); got != DefaultConfig() {
		t.Errorf("zero config with defaults = %+v, want %+v", got, DefaultConfig())
	}
	c := Config{MaxEvidence: 3}.withDefaults()
	if c.MaxEvidence != 3 || c.RTOBudget != DefaultRTOBudget {
		t.Errorf("%+v", c)
	}
}

func TestRunNilTrial(t *testing.T) {
	r := Run(nil, DefaultConfig())
	if len(r.Checks) != 6 || r.Worst() != history.Undecided {
		t.Fatalf("report %+v", r)
	}
	for _, v := range r.Checks {
		checkShape(t, v, v.Name)
	}
}

// panicky is a checker with a bug.
type panicky struct{}

func (panicky) Name() string { return "panicky" }
func (panicky) Check(*history.Trial, Config) history.Verdict {
	panic("a checker with a bug")
}

func TestRunOneRecovers(t *testing.T) {
	v := runOne(panicky{}, nil, Config{})
	if v.Status != history.Undecided || v.Name != "panicky" || v.Figures == nil || v.Evidence == nil {
		t.Errorf("verdict %+v", v)
	}
}

// TestReportJSON checks the contract of verdict.json: every check named,
// figures "lost" and "windows" (a list of start_s, end_s, seconds).
func TestReportJSON(t *testing.T) {
	b := newTrial()
	b.acks(0, 10, 0.5, "pg0", 1)
	b.fails(10, 12, 0.5)
	b.acks(12, 20, 0.5, "pg1", 2)
	s := state("pg1", true, 2, b.presentExcept(20))
	s.History = hist(history.TimelineSwitch{TLI: 1, SwitchLSN: 0x4000000})
	b.final(s)
	raw, err := json.Marshal(Run(b.t, DefaultConfig()))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Checks []struct {
			Name     string         `json:"name"`
			Status   string         `json:"status"`
			Figures  map[string]any `json:"figures"`
			Evidence []any          `json:"evidence"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Checks) != 6 {
		t.Fatalf("%s", raw)
	}
	lost, unav := got.Checks[0], got.Checks[1]
	if lost.Name != "lost-acked-writes" || lost.Status != "fail" || lost.Figures["lost"] != 1.0 || lost.Evidence == nil {
		t.Errorf("lost-acked-writes: %+v", lost)
	}
	w, ok := unav.Figures["windows"].([]any)
	if unav.Name != "unavailability" || !ok || len(w) != 1 {
		t.Fatalf("unavailability: %+v", unav)
	}
	for _, k := range []string{"start_s", "end_s", "seconds"} {
		if _, ok := w[0].(map[string]any)[k]; !ok {
			t.Errorf("window without %s: %v", k, w[0])
		}
	}
}

func TestIDSet(t *testing.T) {
	s := newIDSet([]history.IDRange{{First: 10, Last: 12}, {First: 1, Last: 3}, {First: 3, Last: 5}, {First: 9, Last: 8}})
	if want := (idSet{{First: 1, Last: 5}, {First: 10, Last: 12}}); !slices.Equal(s, want) {
		t.Fatalf("set %v, want %v", s, want)
	}
	c := idCursor{s: s}
	for id := int64(0); id <= 13; id++ {
		want := (id >= 1 && id <= 5) || (id >= 10 && id <= 12)
		if c.has(id) != want {
			t.Errorf("has(%d) = %v", id, !want)
		}
	}
	below, above := s.outside(2, 10)
	if len(below) != 1 || below[0] != (history.IDRange{First: 1, Last: 1}) || len(above) != 1 || above[0] != (history.IDRange{First: 11, Last: 12}) {
		t.Errorf("outside: %v %v", below, above)
	}
	if n := unionSize([]history.IDRange{{First: 1, Last: 4}, {First: 3, Last: 6}, {First: 10, Last: 10}}); n != 7 {
		t.Errorf("union %d", n)
	}
}
