package history

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func inst(name string, primary bool, sysid, started string) InstanceState {
	return InstanceState{Name: name, Reachable: true, Primary: primary, Timeline: 1, SystemID: sysid, Started: started,
		Present: []IDRange{{First: 1, Last: 10}}}
}

func TestAuthority(t *testing.T) {
	failed := inst("pg0", true, "S", "1")
	failed.Error = "reading pgchaos_writes: statement timeout"
	missing := inst("pg0", true, "S", "1")
	missing.TableMissing, missing.Error = true, "table pgchaos_writes does not exist"
	down := InstanceState{Name: "pg2", Error: "connection refused"}
	for _, tc := range []struct {
		name       string
		ins        []InstanceState
		ids        []string
		want       string // name of the authoritative instance, or ""
		primaries  int
		undecided  bool
		reasonPart string
	}{
		{name: "one primary", ins: []InstanceState{inst("pg1", false, "S", "2"), inst("pg0", true, "S", "1"), down}, want: "pg0", primaries: 1},
		{name: "a primary whose read failed is never replaced by a replica", ins: []InstanceState{inst("pg1", false, "S", "2"), failed}, undecided: true, reasonPart: "could not be read"},
		{name: "a missing table is an input error", ins: []InstanceState{missing, inst("pg1", false, "S", "2")}, undecided: true, reasonPart: "missing"},
		{name: "only replicas", ins: []InstanceState{inst("pg1", false, "S", "2"), down}, undecided: true, reasonPart: "replicas are not authoritative"},
		{name: "one server under two names counts once", ins: []InstanceState{inst("b-alias", true, "S", "1"), inst("a", true, "S", "1")}, want: "a", primaries: 1},
		{name: "two servers are two primaries", ins: []InstanceState{inst("pg0", true, "S", "1"), inst("pg1", true, "S", "2")}, primaries: 2, reasonPart: "2 primaries"},
		{name: "another system is ignored", ins: []InstanceState{inst("other", true, "T", "9"), inst("pg0", true, "S", "1")}, ids: []string{"S"}, want: "pg0", primaries: 1},
		{name: "unknown identity: two names are two servers", ins: []InstanceState{inst("a", true, "", ""), inst("b", true, "", "")}, primaries: 2},
		{name: "no final state", ins: nil, undecided: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			for k := 0; k < 20; k++ { // every order gives the same answer
				ins := append([]InstanceState(nil), tc.ins...)
				r.Shuffle(len(ins), func(i, j int) { ins[i], ins[j] = ins[j], ins[i] })
				f := &FinalState{Instances: ins}
				if tc.ins == nil {
					f = nil
				}
				a := f.Authority(tc.ids)
				got := ""
				if a.Index >= 0 {
					got = ins[a.Index].Name
				}
				if got != tc.want || len(a.Primaries) != tc.primaries || a.Undecidable != tc.undecided || !strings.Contains(a.Reason, tc.reasonPart) {
					t.Fatalf("order %d: got %q, %d primaries, undecidable %v, reason %q", k, got, len(a.Primaries), a.Undecidable, a.Reason)
				}
				if (a.Index < 0) != (a.Reason != "") {
					t.Fatalf("index %d with reason %q", a.Index, a.Reason)
				}
			}
		})
	}
}
