package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/assert"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/scenario"
)

func TestChooseFaultsAndModes(t *testing.T) {
	all, err := chooseFaults("all")
	if err != nil || len(all) < 5 {
		t.Fatalf("all: %d %v", len(all), err)
	}
	two, err := chooseFaults("primary-pod-delete, planned-switchover")
	if err != nil || len(two) != 2 || two[1].Name() != "planned-switchover" {
		t.Fatalf("two: %v %v", two, err)
	}
	if _, err := chooseFaults("nope"); err == nil {
		t.Fatal("an unknown fault must be refused")
	}
	if m, err := chooseModes("both"); err != nil || strings.Join(m, ",") != "async,sync" {
		t.Fatalf("both: %v %v", m, err)
	}
	if _, err := chooseModes("semi"); err == nil {
		t.Fatal("an unknown mode must be refused")
	}
}

func TestRunBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--out", "x"},
		{"run", "--operator", "no-such-operator", "--out", "x"},
		{"run", "--operator", "zalando", "--operator-version", "2.0", "--out", "x"},
		{"run", "--operator", "cnpg"},
		{"run", "--operator", "cnpg", "--out", "x", "--scenario", "nope"},
		{"run", "--operator", "cnpg", "--out", "x", "--replication", "semi"},
		{"run", "--operator", "cnpg", "--out", "x", "--repeat", "0"},
		{"run", "--operator", "cnpg", "--out", "x", "--cluster", "pg", "--replication", "both"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != exitBadInput || !strings.HasPrefix(errb.String(), "pgchaos: run: ") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
		}
	}
}

// TestRunRecordsBudgetsAndCluster: what results.json version 2 gets from
// the flags, and the PostgreSQL version from the image tag when the server
// does not answer.
func TestRunRecordsBudgetsAndCluster(t *testing.T) {
	f := runFlags{sched: scenario.DefaultSchedule(), clients: 4, rate: 200}
	b := runBudgets(f)
	if b.RTO != assert.DefaultRTOBudget || b.Replication != assert.DefaultReplicationBudget || b.WarmUp != 10*time.Second ||
		b.Hold != 5*time.Second || b.CoolDown != 15*time.Second || b.Clients != 4 || b.Rate != 200 {
		t.Errorf("budgets %+v", b)
	}
	var log bytes.Buffer
	spec := operators.ClusterSpec{Ref: operators.Ref{Namespace: "ns", Name: "pg-sync"}, Instances: 3, Synchronous: true,
		StorageSize: "1Gi", Image: "pgchaos.local/postgresql:15-0c5e5e3cc505"}
	ci := clusterInfo(context.Background(), spec, "sync", "quorum ANY 1, data durability required", "host=127.0.0.1 port=1 sslmode=disable", newStepPrinter(&log))
	if ci.PostgreSQL != "15 (image tag)" || ci.Instances != 3 || ci.Synchronous == "" || ci.Name != "pg-sync" {
		t.Errorf("cluster %+v", ci)
	}
	if !strings.Contains(log.String(), "from its image tag") {
		t.Errorf("the fallback is not said: %q", log.String())
	}
}

// TestCompareModes: a run of both replication modes ends with compare.html.
func TestCompareModes(t *testing.T) {
	r, _, err := reports.LoadResults(filepath.Join("..", "..", "reports", "testdata", "cnpg-v2"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out, err := compareModes(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(b), "cnpg · async") || !strings.Contains(string(b), "cnpg · sync") {
		t.Fatalf("compare.html: %v", err)
	}
}
