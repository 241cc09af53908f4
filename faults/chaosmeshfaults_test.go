package faults

import (
	"testing"

	"github.com/pgchaos/pgchaos/faults/chaosmesh"
	"github.com/pgchaos/pgchaos/operators"
)

// TestChaosMeshRequestsBuild: what the faults would ask Chaos Mesh for when
// it is installed builds into valid objects (Chaos Mesh's own validation).
func TestChaosMeshRequestsBuild(t *testing.T) {
	e, _ := env(1)
	e.RunID = "run-1"
	in := operators.Instance{Name: "pg-1", Pod: "pg-1", Container: "postgres",
		Layout: operators.Layout{DataDir: "/home/postgres/pgdata/pgroot/data", VolumePath: "/home/postgres/pgdata", Port: 5432}}
	want := map[string][]chaosmesh.Kind{
		PrimaryWALSlow.Name():  {chaosmesh.IOLatency},
		PrimaryDataSlow.Name(): {chaosmesh.IOLatency, chaosmesh.IOLatency},
		PrimaryWALFull.Name():  {chaosmesh.IOFault},
	}
	for _, f := range []Fault{PrimaryWALSlow, PrimaryDataSlow, PrimaryWALFull} {
		m := f.(fault).mech.(storageFault)
		reqs := ioRequests(e, in, "/home/postgres/pgdata/pgroot/data/pg_wal", m.spec)
		if len(reqs) != len(want[f.Name()]) {
			t.Fatalf("%s: %d requests, want %d", f.Name(), len(reqs), len(want[f.Name()]))
		}
		for i, r := range reqs {
			if r.Kind != want[f.Name()][i] || r.IO.Path != "/home/postgres/pgdata/pgroot/data/pg_wal/**" || r.IO.VolumePath != "/home/postgres/pgdata" {
				t.Errorf("%s: request %+v", f.Name(), r)
			}
			if r.Duration <= 0 {
				t.Errorf("%s: no duration: Chaos Mesh would hold the fault forever if the harness died", f.Name())
			}
			if _, err := chaosmesh.Build(r, chaosmesh.Options{}); err != nil {
				t.Errorf("%s: %v", f.Name(), err)
			}
		}
	}
	if _, err := chaosmesh.Build(podKillRequest(e, in), chaosmesh.Options{}); err != nil {
		t.Errorf("pod kill: %v", err)
	}
}
