package faults

import (
	"fmt"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// Replication modes of a cluster, as the expectations table and the
// scenario matrix name them.
const (
	Async = "async"
	Sync  = "sync"
)

// Expectation is one line of the expectations table: what a fault must
// leave true of a cluster in a replication mode, beside the checks every
// trial passes (no lost acknowledged write, no split brain, a continuous
// WAL history, unavailability within the RTO budget).
type Expectation struct {
	// Fault names the fault (faults.All).
	Fault string
	// Mode is Async or Sync; "" is both.
	Mode string
	// Expect is what the expectations checker asserts.
	Expect history.Expect
	// Why says what the line rests on, for reports and for whoever
	// changes it.
	Why string
}

// SpareStall bounds the stall of writes a fault that spares the primary may
// cause (a replica lost under quorum commit must not stop writes).
const SpareStall = 5 * time.Second

var (
	heals    = history.Expect{Heal: true}
	spares   = history.Expect{Heal: true, NoFailover: true, MaxWindow: SpareStall}
	keepsPri = history.Expect{Heal: true, NoFailover: true}
)

var (
	whyHeals  = "the primary is lost or cut off: a failover is allowed; the cluster must heal"
	whySpares = "the primary is spared: no failover, writes stall at most " + SpareStall.String() + "; the cluster must heal"
	whyKeeps  = "the primary stays reachable by its peers and the operator: no failover, though writes may stall for the whole fault"
)

// expectations is the table: every fault of All, for both modes unless a
// mode needs its own line (a mode's line wins over a line for both).
var expectations = []Expectation{
	{Fault: "primary-pod-delete", Expect: heals, Why: whyHeals},
	{Fault: "replica-pod-delete", Expect: spares, Why: whySpares},
	{Fault: "primary-postmaster-kill", Expect: heals, Why: whyHeals},
	{Fault: "replica-postmaster-kill", Expect: spares, Why: whySpares},
	{Fault: "planned-switchover", Expect: heals, Why: "a planned change of primary: it must complete and the cluster heal"},
	{Fault: "lagging-primary-pod-delete", Expect: heals, Why: whyHeals},
	{Fault: "replica-pod-restart", Expect: spares, Why: whySpares},
	{Fault: "primary-freeze", Expect: heals, Why: whyHeals},
	{Fault: "primary-isolate-from-replicas", Expect: keepsPri, Why: whyKeeps + " (the operator and the clients still reach it)"},
	{Fault: "primary-isolate", Expect: heals, Why: whyHeals},
	{Fault: "replica-isolate", Expect: spares, Why: whySpares},
	{Fault: "primary-clients-cut", Expect: keepsPri, Why: whyKeeps + " (only the clients' path is cut)"},
	{Fault: "primary-node-isolate", Expect: heals, Why: whyHeals},
	{Fault: "primary-node-stop", Expect: heals, Why: whyHeals},
	{Fault: "primary-node-kill", Expect: heals, Why: whyHeals},
	{Fault: "primary-node-freeze", Expect: heals, Why: whyHeals},
	{Fault: "operator-outage", Expect: spares, Why: "the databases do not need their operator while nothing fails: no failover, no stall"},
	{Fault: "operator-down-primary-pod-delete", Expect: heals, Why: whyHeals + " once the operator is back"},
	{Fault: "primary-node-drain", Expect: heals, Why: "a routine drain moves the primary: a switchover is allowed; the cluster must heal"},
	{Fault: "any-instance-pod-delete", Expect: heals, Why: "the instance may be the primary: " + whyHeals},
	{Fault: "sync-standby-pod-delete", Expect: spares, Why: whySpares + " (another standby can acknowledge)"},
	{Fault: "sync-standby-isolate", Expect: spares, Why: whySpares + " (another standby can acknowledge)"},
	{Fault: "primary-and-replica-pod-delete", Expect: heals, Why: whyHeals},
	{Fault: "replicas-isolate", Expect: keepsPri, Why: whyKeeps + " (synchronous commits wait for a standby)"},
	{Fault: "primary-and-replica-node-stop", Expect: heals, Why: whyHeals},
	{Fault: "primary-wal-slow", Expect: keepsPri, Why: whyKeeps + " (slow storage is not a failure)"},
	{Fault: "primary-data-slow", Expect: keepsPri, Why: whyKeeps + " (slow storage is not a failure)"},
	{Fault: "primary-wal-full", Expect: heals, Why: "a full WAL volume stops the primary: a failover is allowed; the cluster must heal"},
}

// Expectations returns the table, one line per fault and mode it names.
func Expectations() []Expectation { return append([]Expectation(nil), expectations...) }

// ExpectationOf returns the table's line for fault f in mode (Async or
// Sync): the mode's own line, else the line for both modes. A fault the
// table does not name gets healing only, with a Why that says so (the
// table's test keeps that from happening to a fault of All).
func ExpectationOf(f Fault, mode string) Expectation {
	var both *Expectation
	for i := range expectations {
		e := &expectations[i]
		if e.Fault != f.Name() {
			continue
		}
		if e.Mode == mode {
			return *e
		}
		if e.Mode == "" {
			both = e
		}
	}
	if both != nil {
		e := *both
		e.Mode = mode
		return e
	}
	return Expectation{Fault: f.Name(), Mode: mode, Expect: heals, Why: "not in the expectations table: healing only"}
}

// ExpectOf returns the table's expectations of fault f on a cluster whose
// replication is synchronous or not.
func ExpectOf(f Fault, synchronous bool) history.Expect {
	return ExpectationOf(f, ModeOf(synchronous)).Expect
}

// ModeOf names a replication mode.
func ModeOf(synchronous bool) string {
	if synchronous {
		return Sync
	}
	return Async
}

// CheckMode says why s is not a replication mode.
func CheckMode(s string) error {
	if s != Async && s != Sync {
		return fmt.Errorf("replication mode %q: want %s or %s", s, Async, Sync)
	}
	return nil
}
