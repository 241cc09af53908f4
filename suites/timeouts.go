package suites

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Timeouts is the one table of the suites' time limits and budgets. Each
// can be overridden from the environment: PGCHAOS_TIMEOUT_<NAME>=<duration>,
// NAME in upper case (e.g. PGCHAOS_TIMEOUT_RTO_BUDGET=45s).
type Timeouts struct {
	// Images bounds building and loading the images (cold: ~8 min here).
	Images time.Duration
	// Install bounds installing the operator.
	Install time.Duration
	// ClusterReady bounds creating a cluster until it is healthy.
	ClusterReady time.Duration
	// Spec bounds one faulted trial spec, final read and checks included.
	Spec time.Duration
	// Recover bounds the wait for the cluster to be healthy after a fault.
	Recover time.Duration
	// RTOBudget: an unavailability window longer than this fails the spec.
	RTOBudget time.Duration
	// ReplicationBudget: every replica must stream again within this.
	ReplicationBudget time.Duration
	// Cleanup bounds deleting a cluster.
	Cleanup time.Duration
}

// DefaultTimeouts are the limits measured to fit this project's machines.
func DefaultTimeouts() Timeouts {
	return Timeouts{
		Images: 20 * time.Minute, Install: 3 * time.Minute, ClusterReady: 5 * time.Minute,
		Spec: 6 * time.Minute, Recover: 3 * time.Minute, RTOBudget: 30 * time.Second,
		ReplicationBudget: 60 * time.Second, Cleanup: 3 * time.Minute,
	}
}

// TimeoutsFromEnv applies PGCHAOS_TIMEOUT_* overrides to the defaults.
func TimeoutsFromEnv(getenv func(string) string) (Timeouts, error) {
	t := DefaultTimeouts()
	fields := []struct {
		name string
		p    *time.Duration
	}{
		{"IMAGES", &t.Images}, {"INSTALL", &t.Install}, {"CLUSTER_READY", &t.ClusterReady}, {"SPEC", &t.Spec},
		{"RECOVER", &t.Recover}, {"RTO_BUDGET", &t.RTOBudget}, {"REPLICATION_BUDGET", &t.ReplicationBudget},
		{"CLEANUP", &t.Cleanup},
	}
	for _, f := range fields {
		key := "PGCHAOS_TIMEOUT_" + f.name
		v := strings.TrimSpace(getenv(key))
		if v == "" {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return t, fmt.Errorf("%s=%q: want a positive duration such as 90s", key, v)
		}
		*f.p = d
	}
	return t, nil
}

// Getenv is os.Getenv, for TimeoutsFromEnv and EnvFromOS.
func Getenv(k string) string { return os.Getenv(k) }
