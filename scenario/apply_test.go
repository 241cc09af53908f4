package scenario

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/history"
)

// countFault counts its recoveries; Inject may fail after applying.
type countFault struct {
	recovered *int
	fail      error
}

func (countFault) Name() string                                { return "count" }
func (countFault) Available(context.Context, faults.Env) error { return nil }
func (countFault) Target(context.Context, faults.Env) (faults.Hit, error) {
	return faults.Hit{Label: "x"}, nil
}
func (countFault) Describe(faults.Hit) string { return "count" }
func (c countFault) Inject(context.Context, faults.Env, faults.Hit) (faults.Recover, error) {
	return func(context.Context) error { *c.recovered++; return nil }, c.fail
}

// A fault is reverted once however often Revert is called, also when its
// Inject failed after applying something; the recovery is recorded once.
func TestApplyRevertsOnce(t *testing.T) {
	for _, fail := range []error{nil, errors.New("half applied")} {
		dir := t.TempDir()
		log, err := history.NewFaultLog(dir, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		a, err := Apply(context.Background(), log, countFault{&n, fail}, faults.Env{}, faults.Hit{Label: "x"}, "count")
		if !errors.Is(err, fail) || a == nil {
			t.Fatalf("Apply: %v, %v", a, err)
		}
		for i := 0; i < 3; i++ {
			if err := a.Revert(); err != nil {
				t.Fatal(err)
			}
		}
		if n != 1 {
			t.Fatalf("reverted %d times", n)
		}
		_ = log.Close()
		b, _ := os.ReadFile(filepath.Join(dir, history.FaultsFile))
		if c := strings.Count(string(b), `"t":"recover"`); c != 1 {
			t.Fatalf("%d recoveries recorded:\n%s", c, b)
		}
	}
	var nilApplied *Applied
	if err := nilApplied.Revert(); err != nil {
		t.Fatal(err)
	}
}
