package faults

import (
	"time"

	"github.com/pgchaos/pgchaos/faults/iofs"
)

// longHold keeps a fault applied long enough for an operator to notice a
// lost primary or node and act (the kubelet reports a node lost after 40 s).
const longHold = 60 * time.Second

// The faults. Each is a target composed with a mechanism; All lists them.
var (
	// PrimaryPodDelete deletes the primary's pod with grace period 0.
	PrimaryPodDelete Fault = fault{name: "primary-pod-delete", target: Primary, mech: podDelete{grace: 0},
		summary: "the primary's pod vanishes: failover, or restart in place"}
	// ReplicaPodDelete deletes a replica's pod with grace period 0.
	ReplicaPodDelete Fault = fault{name: "replica-pod-delete", target: AnyReplica, mech: podDelete{grace: 0},
		summary: "a replica's pod vanishes: writes must go on"}
	// PrimaryPostmasterKill SIGKILLs the primary's postmaster from inside its container.
	PrimaryPostmasterKill Fault = fault{name: "primary-postmaster-kill", target: Primary, mech: postmasterKill{},
		summary: "PostgreSQL crashes, the pod stays"}
	// ReplicaPostmasterKill SIGKILLs a replica's postmaster.
	ReplicaPostmasterKill Fault = fault{name: "replica-postmaster-kill", target: AnyReplica, mech: postmasterKill{},
		summary: "a replica's PostgreSQL crashes: no failover expected"}
	// PlannedSwitchover promotes a replica through the operator's switchover.
	PlannedSwitchover Fault = fault{name: "planned-switchover", target: SwitchoverCandidate, mech: switchover{},
		summary: "a planned switchover: no acknowledged write may be lost"}
	// LaggingPrimaryPodDelete freezes the primary's WAL senders for 1 s, then
	// deletes the primary's pod with grace 0.
	LaggingPrimaryPodDelete Fault = fault{name: "lagging-primary-pod-delete", target: Primary, mech: laggingDelete{lag: time.Second},
		summary: "the primary dies while its replicas lag: asynchronous replication loses writes"}
	// ReplicaPodRestart deletes a replica's pod gracefully: the same instance
	// comes back with a new IP and must rejoin without a failover.
	ReplicaPodRestart Fault = fault{name: "replica-pod-restart", target: AnyReplica, mech: podDelete{grace: -1},
		summary: "a replica restarted in place (same identity, new IP): no spurious failover"}

	// PrimaryFreeze SIGSTOPs every PostgreSQL process of the primary.
	PrimaryFreeze Fault = fault{name: "primary-freeze", target: Primary, mech: freeze{},
		hold:    longHold,
		summary: "the primary hangs (SIGSTOP) while its pod looks alive"}
	// PrimaryIsolateFromReplicas cuts the primary from the other instances;
	// clients still reach it.
	PrimaryIsolateFromReplicas Fault = fault{name: "primary-isolate-from-replicas", target: Primary, mech: partition{shape: cutPeers},
		hold:    longHold,
		summary: "the primary loses its replicas but not its clients"}
	// PrimaryIsolate cuts the primary from everything, the Kubernetes API included.
	PrimaryIsolate Fault = fault{name: "primary-isolate", target: Primary, mech: partition{shape: cutAll},
		hold:    longHold,
		summary: "the primary is cut from everything, the API included: it must fence itself"}
	// ReplicaIsolate cuts a replica from everything.
	ReplicaIsolate Fault = fault{name: "replica-isolate", target: AnyReplica, mech: partition{shape: cutAll},
		summary: "a replica is cut off: writes must go on"}
	// PrimaryClientsCut cuts the clients from the primary (its replicas still stream).
	PrimaryClientsCut Fault = fault{name: "primary-clients-cut", target: Primary, mech: partition{shape: cutClients},
		hold:    longHold,
		summary: "clients lose the primary while it still replicates"}

	// PrimaryNodeIsolate cuts the primary's kind node from the cluster network.
	PrimaryNodeIsolate Fault = fault{name: "primary-node-isolate", target: PrimaryNode, mech: nodeIsolate{},
		hold:    longHold,
		summary: "the primary's whole node drops off the network"}
	// PrimaryNodeStop stops the primary's kind node container (graceful shutdown).
	PrimaryNodeStop Fault = fault{name: "primary-node-stop", target: PrimaryNode, mech: nodeAction{action: "node-stop"},
		hold:    longHold,
		summary: "the primary's node shuts down"}
	// PrimaryNodeKill kills the primary's kind node container.
	PrimaryNodeKill Fault = fault{name: "primary-node-kill", target: PrimaryNode, mech: nodeAction{action: "node-kill"},
		hold:    longHold,
		summary: "the primary's node loses power"}
	// PrimaryNodeFreeze pauses the primary's kind node container.
	PrimaryNodeFreeze Fault = fault{name: "primary-node-freeze", target: PrimaryNode, mech: nodeAction{action: "node-pause"},
		hold:    longHold,
		summary: "the primary's node freezes (docker pause) and comes back"}

	// OperatorOutage scales the operator to zero for the hold, nothing else:
	// the databases must not notice.
	OperatorOutage Fault = fault{name: "operator-outage", target: Operator, mech: operatorOutage{},
		hold:    30 * time.Second,
		summary: "the operator is down for 30 s: the databases must carry on"}
	// AnyInstancePodDelete deletes the pod of any instance, primary included.
	AnyInstancePodDelete Fault = fault{name: "any-instance-pod-delete", target: AnyInstance, mech: podDelete{grace: 0},
		summary: "an instance chosen at random (the seed decides) loses its pod"}
	// OperatorDownPrimaryPodDelete deletes the primary's pod while the operator is scaled to zero.
	OperatorDownPrimaryPodDelete Fault = fault{name: "operator-down-primary-pod-delete", target: Primary, mech: operatorOutage{then: podDelete{grace: 0}},
		summary: "the primary fails while the operator is down; recovery when it returns"}
	// PrimaryNodeDrain drains the primary's node.
	PrimaryNodeDrain Fault = fault{name: "primary-node-drain", target: PrimaryNode, mech: drain{},
		summary: "a routine node drain under the primary"}

	// SyncStandbyPodDelete deletes a synchronous standby's pod under load.
	SyncStandbyPodDelete Fault = fault{name: "sync-standby-pod-delete", target: SyncStandby, mech: podDelete{grace: 0},
		summary: "a synchronous standby vanishes: how long does the primary stall?"}
	// SyncStandbyIsolate cuts a synchronous standby off.
	SyncStandbyIsolate Fault = fault{name: "sync-standby-isolate", target: SyncStandby, mech: partition{shape: cutAll},
		summary: "a synchronous standby is cut off: how long does the primary stall?"}
	// PrimaryAndReplicaPodDelete deletes the primary's and a replica's pods at once.
	PrimaryAndReplicaPodDelete Fault = fault{name: "primary-and-replica-pod-delete", target: PrimaryAndReplica, mech: podDelete{grace: 0},
		summary: "correlated loss: two of three instances at once"}
	// ReplicasIsolate cuts every replica off at once.
	ReplicasIsolate Fault = fault{name: "replicas-isolate", target: AllReplicas, mech: partition{shape: cutAll},
		summary: "correlated loss: every replica cut off (synchronous commits must stall, not lie)"}
	// PrimaryAndReplicaNodeStop stops the kind nodes of the primary and of a replica at once.
	PrimaryAndReplicaNodeStop Fault = fault{name: "primary-and-replica-node-stop", target: PrimaryAndReplicaNodes, mech: nodeAction{action: "node-stop"},
		hold:    longHold,
		summary: "correlated loss: two nodes shut down at once"}

	// PrimaryWALSlow adds 50 ms to every fsync of the primary's WAL.
	PrimaryWALSlow Fault = fault{name: "primary-wal-slow", target: Primary,
		mech:    storageFault{area: walArea, spec: iofs.Spec{FsyncDelay: walFsyncDelay}},
		summary: "the primary's WAL volume gets slow (+50 ms per fsync): commits slow down, no failover storm"}
	// PrimaryDataSlow slows the writes and fsyncs of the primary's table files.
	PrimaryDataSlow Fault = fault{name: "primary-data-slow", target: Primary,
		mech:    storageFault{area: dataArea, spec: iofs.Spec{WriteDelay: dataWriteDelay, FsyncDelay: dataFsyncDelay}, checkpoint: true},
		summary: "the primary's table files get slow (+10 ms per write, +100 ms per fsync) while it checkpoints: the checkpoint drags, no failover"}
	// PrimaryWALFull makes the primary's WAL directory fail with ENOSPC.
	PrimaryWALFull Fault = fault{name: "primary-wal-full", target: Primary,
		mech:    storageFault{area: walArea, spec: iofs.Spec{ENOSPC: true}},
		summary: "the primary's WAL volume is full (ENOSPC) until space returns: PostgreSQL PANICs; the cluster must heal"}
)
