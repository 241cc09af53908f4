package history

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Authority is the outcome of choosing, in a final state, the instance whose
// data is the cluster's data. See FinalState.Authority for the rule.
type Authority struct {
	// Index is the authoritative instance, -1 when the rule chooses none.
	Index int
	// Primaries are the distinct servers read as primaries (one index per
	// server: an instance listed twice under two addresses counts once), in
	// name order. Two or more is a split brain at the end.
	Primaries []int
	// Foreign are instances of another database system: their system
	// identifier is not one the ledger's writes were acknowledged by.
	Foreign []int
	// Unread are instances whose read failed or that were unreachable.
	Unread []int
	// Reason says why Index is -1.
	Reason string
	// Undecidable is true when the data cannot be judged at all (nothing
	// was read, a primary's read failed, the table is missing): as opposed
	// to a split brain, which is judged against every primary.
	Undecidable bool
}

// InstanceIdentity names the server an instance of the final state is:
// "sysid@started" when both were read (the same rule as Node.Identity), else
// "" (unknown: every such instance counts as a server of its own).
func (s *InstanceState) InstanceIdentity() string {
	if s.Started == "" {
		return ""
	}
	return s.SystemID + "@" + s.Started
}

// Readable reports whether the instance was reached and read without error.
func (s *InstanceState) Readable() bool { return s.Reachable && s.Error == "" }

// Authority chooses the authoritative instance by a rule that does not
// depend on the order of the instances:
//
//  1. An instance whose system identifier is known and is not one of
//     systemIDs (the identifiers of the servers that acknowledged writes;
//     nil or empty: no filter) is foreign and ignored.
//  2. A primary (not in recovery) whose read then failed, or whose table
//     is missing, makes the state undecidable: its data is the cluster's
//     and was not read. (A replica that could not be read is only unread.)
//  3. Instances that are one server (same system identifier and postmaster
//     start time) count once.
//  4. Exactly one readable primary server: it is authoritative. None: no
//     authority (replicas are never silently taken instead). Two or more:
//     no authority; Primaries lists them (a split brain at the end).
func (f *FinalState) Authority(systemIDs []string) Authority {
	a := Authority{Index: -1}
	if f == nil {
		a.Reason, a.Undecidable = "the final state is missing (no final.json): the data after recovery was never read", true
		return a
	}
	if len(f.Instances) == 0 {
		a.Reason, a.Undecidable = "the final state lists no instance", true
		return a
	}
	name := func(i int) string {
		in := &f.Instances[i]
		switch {
		case in.Name != "":
			return in.Name
		case in.Server != "":
			return in.Server
		}
		return fmt.Sprintf("instance %d", i)
	}
	var broken []string
	seen := map[string]int{}
	for i := range f.Instances {
		in := &f.Instances[i]
		if in.SystemID != "" && len(systemIDs) > 0 && !slices.Contains(systemIDs, in.SystemID) {
			a.Foreign = append(a.Foreign, i)
			continue
		}
		if in.TableMissing && in.Reachable && in.Primary {
			broken = append(broken, fmt.Sprintf("the workload's table is missing on primary %s (the wrong server or database?)", name(i)))
			a.Unread = append(a.Unread, i)
			continue
		}
		if !in.Readable() || in.TableMissing {
			a.Unread = append(a.Unread, i)
			if in.Reachable && in.Primary {
				broken = append(broken, fmt.Sprintf("primary %s could not be read: %s", name(i), in.Error))
			}
			continue
		}
		if !in.Primary {
			continue
		}
		if id := in.InstanceIdentity(); id != "" {
			if j, ok := seen[id]; ok {
				// One server under two names: keep the smaller name, so the
				// choice does not depend on the order.
				if name(i) < name(j) {
					a.Primaries[slices.Index(a.Primaries, j)] = i
					seen[id] = i
				}
				continue
			}
			seen[id] = i
		}
		a.Primaries = append(a.Primaries, i)
	}
	slices.SortFunc(a.Primaries, func(x, y int) int { return cmp.Compare(name(x), name(y)) })
	switch {
	case len(broken) > 0:
		slices.Sort(broken)
		a.Reason, a.Undecidable = strings.Join(broken, "; "), true
	case len(a.Primaries) == 1:
		a.Index = a.Primaries[0]
	case len(a.Primaries) > 1:
		names := make([]string, len(a.Primaries))
		for k, i := range a.Primaries {
			names[k] = name(i)
		}
		a.Reason = fmt.Sprintf("%d primaries at the end (%s): no single instance holds the cluster's data", len(names), strings.Join(names, ", "))
	default:
		var why []string
		for i := range f.Instances {
			in := &f.Instances[i]
			switch {
			case slices.Contains(a.Foreign, i):
				why = append(why, name(i)+": another database system (system identifier "+in.SystemID+")")
			case !in.Readable():
				e := in.Error
				if e == "" {
					e = "unreachable"
				}
				why = append(why, name(i)+": "+e)
			default:
				why = append(why, name(i)+": a replica")
			}
		}
		slices.Sort(why)
		a.Reason = "no primary could be read after recovery (replicas are not authoritative); " + strings.Join(why, "; ")
		a.Undecidable = true
	}
	return a
}
