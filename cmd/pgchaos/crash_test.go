package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"context"

	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/internal/pgtestbed"
)

// TestMain lets the test binary act as the pgchaos command, so a test can
// run it as a separate process and kill it.
func TestMain(m *testing.M) {
	if os.Getenv("PGCHAOS_TEST_AS_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestLedgerSurvivesKilledHarness SIGKILLs a running workload and checks
// that its ledger is a checkable prefix: loaded as truncated, every write it
// acknowledged present, nothing called a phantom.
func TestLedgerSurvivesKilledHarness(t *testing.T) {
	ctx := context.Background()
	tb, err := pgtestbed.Start(ctx, pgtestbed.Options{Replicas: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	trial := filepath.Join(t.TempDir(), "trial")
	cmd := exec.Command(os.Args[0], "workload", "--dsn", tb.DSN(tb.Instances[0]), "--clients", "4", "--out", trial)
	cmd.Env = append(os.Environ(), "PGCHAOS_TEST_AS_MAIN=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	tr, err := history.Load(trial)
	if err != nil {
		t.Fatalf("the ledger of a killed harness must load: %v", err)
	}
	if !tr.Truncated {
		t.Error("ledger of a killed harness not marked truncated")
	}
	if len(tr.Ops) < 100 {
		t.Fatalf("only %d writes recorded in 2.5 s", len(tr.Ops))
	}
	code, stdout, stderr := runCLI(t, "check", trial, "--final-dsn", tb.DSN(tb.Instances[0]))
	if code != 0 {
		t.Fatalf("check of a killed harness's prefix: exit %d\n%s\n%s", code, stdout, stderr)
	}
	rep := readVerdict(t, trial)
	if lost := figure(t, rep, "lost-acked-writes", "lost"); lost != float64(0) {
		t.Errorf("lost = %v, want 0", lost)
	}
	if ph := figure(t, rep, "phantom-writes", "phantoms"); ph != float64(0) {
		t.Errorf("phantoms = %v, want 0 (ids beyond a truncated ledger are not phantoms)", ph)
	}
}
