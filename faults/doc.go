// Package faults owns the fault library: each fault is a value, a mechanism
// (pod deletion, a SIGKILL inside a container, an operator's switchover)
// composed with a target (the primary, a replica), with Available, Inject
// and an idempotent Recover, listed in one explicit slice (All).
//
// Faults act through the Kubernetes API and the operator adapter only; the
// scenario package records their windows into the trial. Mechanisms that
// must run on a node live in subpackages: iofs is the storage-fault
// filesystem (latency, ENOSPC) that `pgchaos iofs serve` runs there.
package faults
