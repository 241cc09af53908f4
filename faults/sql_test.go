package faults

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/internal/bedcluster"
	"github.com/pgchaos/pgchaos/internal/pgtestbed"
	"github.com/pgchaos/pgchaos/operators"
)

// Faults ask PostgreSQL through the superuser DSN: the synchronous
// standbys a real primary counts (quorum commit over two replicas), a
// CHECKPOINT, rows in order; a failing statement and a missing DSN are
// errors naming what failed.
func TestQueryThroughSuperuserDSN(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real PostgreSQL servers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tb, err := pgtestbed.Start(ctx, pgtestbed.Options{Synchronous: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	env := Env{Cluster: bedcluster.Cluster{TB: tb}, Superuser: map[string]string{}, Rand: rand.New(rand.NewPCG(3, 3))}
	for _, in := range tb.Instances {
		env.Superuser[in.Name] = tb.DSN(in)
	}
	primary := operators.Instance{Name: tb.Primary().Name}
	out, err := env.query(ctx, primary, "SELECT g, 'x' || g FROM generate_series(1, 3) g ORDER BY g", 0)
	if err != nil || out != "1|x1\n2|x2\n3|x3" {
		t.Fatalf("query = %q, %v", out, err)
	}
	if out, err := env.query(ctx, primary, "CHECKPOINT", 0); err != nil || out != "" {
		t.Fatalf("CHECKPOINT = %q, %v", out, err)
	}
	if _, err := env.query(ctx, primary, "SELECT * FROM no_such_table", 0); err == nil || !strings.Contains(err.Error(), "no_such_table") {
		t.Fatalf("a failing statement: %v", err)
	}
	if _, err := env.query(ctx, operators.Instance{Name: "pg9", Pod: "pg9"}, "SELECT 1", 0); err == nil || !strings.Contains(err.Error(), "pg9") {
		t.Fatalf("no DSN and no Kubernetes: want an error naming the instance, got %v", err)
	}
	// The replicas become quorum standbys once they stream.
	var hit Hit
	deadline := time.Now().Add(30 * time.Second)
	for {
		hit, err = pickSyncStandby(ctx, env)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("no synchronous standby found on a quorum-commit primary: %v", err)
	}
	if m := hit.Main(); m.Role != operators.RoleReplica || m.Name == primary.Name {
		t.Fatalf("picked %+v, want a replica", m)
	}
}
