package suites

// Labels select specs with `ginkgo --label-filter` (or `go test -args
// -ginkgo.label-filter=...`). Every spec carries an operator label, a fault
// label, a replication label, and "disruptive" when it breaks something.
const (
	// LabelFaultPodKill marks specs that delete an instance's pod.
	LabelFaultPodKill = "fault:pod-kill"
	// LabelFaultProcessKill marks specs that SIGKILL PostgreSQL inside its container.
	LabelFaultProcessKill = "fault:process-kill"
	// LabelFaultSwitchover marks specs that ask the operator for a planned switchover.
	LabelFaultSwitchover = "fault:switchover"
	// LabelSync and LabelAsync mark the replication mode of the cluster.
	LabelSync  = "replication:sync"
	LabelAsync = "replication:async"
	// LabelDisruptive marks specs that break the cluster on purpose.
	LabelDisruptive = "disruptive"
	// LabelSmoke marks the smallest end-to-end check CI runs on every change
	// (primary pod kill, synchronous).
	LabelSmoke = "smoke"
	// LabelSlow marks specs that take more than a few minutes.
	LabelSlow = "slow"
	// LabelLeftovers marks specs that kill the harness during a fault and
	// prove nothing outlives it.
	LabelLeftovers = "leftovers"
	// LabelBlastRadius marks specs that treat the kind cluster as foreign
	// and prove pgchaos refuses what reaches beyond the labelled namespace.
	LabelBlastRadius = "blast-radius"
	// LabelGameday marks the game day driven in tmux.
	LabelGameday = "gameday"
)

// FaultLabel maps a fault name (faults.All) to its label.
func FaultLabel(fault string) string {
	switch fault {
	case "primary-pod-delete", "replica-pod-delete", "lagging-primary-pod-delete":
		return LabelFaultPodKill
	case "primary-postmaster-kill":
		return LabelFaultProcessKill
	case "planned-switchover":
		return LabelFaultSwitchover
	}
	return "fault:" + fault
}

// OperatorLabel marks specs against the adapter named name
// (operators/registry): "operator:cnpg".
func OperatorLabel(name string) string { return "operator:" + name }
