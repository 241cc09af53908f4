package suites

import (
	"testing"
	"time"
)

func TestTimeoutsFromEnv(t *testing.T) {
	env := map[string]string{"PGCHAOS_TIMEOUT_RTO_BUDGET": "45s", "PGCHAOS_TIMEOUT_SPEC": "10m"}
	got, err := TimeoutsFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultTimeouts()
	want.RTOBudget, want.Spec = 45*time.Second, 10*time.Minute
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	env["PGCHAOS_TIMEOUT_RECOVER"] = "soon"
	if _, err := TimeoutsFromEnv(func(k string) string { return env[k] }); err == nil {
		t.Fatal("a bad duration must be an error")
	}
}

func TestFaultLabels(t *testing.T) {
	for f, l := range map[string]string{"primary-pod-delete": LabelFaultPodKill, "replica-pod-delete": LabelFaultPodKill,
		"primary-postmaster-kill": LabelFaultProcessKill, "planned-switchover": LabelFaultSwitchover} {
		if got := FaultLabel(f); got != l {
			t.Errorf("FaultLabel(%s) = %s, want %s", f, got, l)
		}
	}
}
