package suites

import (
	"fmt"
	"path/filepath"
	"sort"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/registry"
	"github.com/pgchaos/pgchaos/operators/target"
)

// DefaultTargets is where the suite finds the target files shipped with
// pgchaos, from a suite's package directory (suites/e2e).
const DefaultTargets = "../../targets/*/target.yaml"

// Adapters are what the suite judges: every adapter of the registry, then
// every target file matching glob (PGCHAOS_TARGETS, default
// DefaultTargets), sorted by path. A target that does not load is an
// error: the suite must not silently judge less.
func Adapters(glob string) ([]operators.Adapter, error) {
	out := registry.All()
	if glob == "" {
		glob = DefaultTargets
	}
	files, err := filepath.Glob(glob)
	if err != nil {
		return nil, fmt.Errorf("PGCHAOS_TARGETS %q: %w", glob, err)
	}
	sort.Strings(files)
	for _, f := range files {
		t, err := target.Load(f)
		if err != nil {
			return nil, err
		}
		out = append(out, target.NewAdapter(t))
	}
	return out, nil
}

// Modes are the replication modes an adapter's clusters can run: both,
// unless it is a target that runs only one (spec.synchronous).
func Modes(a operators.Adapter) []string {
	if t, ok := a.(*target.Adapter); ok {
		switch t.T.SyncMode() {
		case target.SyncNever:
			return []string{faults.Async}
		case target.SyncAlways:
			return []string{faults.Sync}
		}
	}
	return []string{faults.Async, faults.Sync}
}
