package suites

import "testing"

func TestGateFindingsFromEnv(t *testing.T) {
	for v, want := range map[string]bool{"": false, "0": false, "1": true} {
		env := map[string]string{"PGCHAOS_ARTIFACTS": t.TempDir(), "PGCHAOS_GATE_FINDINGS": v}
		e, err := EnvFromOS(func(k string) string { return env[k] })
		if err != nil {
			t.Fatalf("PGCHAOS_GATE_FINDINGS=%q: %v", v, err)
		}
		if e.GateFindings != want {
			t.Errorf("PGCHAOS_GATE_FINDINGS=%q: GateFindings=%v, want %v", v, e.GateFindings, want)
		}
	}
	env := map[string]string{"PGCHAOS_ARTIFACTS": t.TempDir(), "PGCHAOS_GATE_FINDINGS": "yes"}
	if _, err := EnvFromOS(func(k string) string { return env[k] }); err == nil {
		t.Fatal("PGCHAOS_GATE_FINDINGS=yes must be an error, not silently ungated")
	}
}
