// Package faults owns the fault library: each fault is a value (mechanism x
// target) with Available, Inject and an idempotent Recover, listed in one
// explicit slice.
//
// Empty for now: the self-test injects its faults by hand through
// internal/pgtestbed; the library comes with the Kubernetes work.
package faults
