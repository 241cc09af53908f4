// Package assert owns pgchaos's verdicts: pure checkers that read a recorded
// *history.Trial (the write ledger, the monitor's observations, the fault
// windows and the final state) and decide, from that evidence alone, whether
// acknowledged writes were lost, how long writes were unavailable, whether two
// primaries accepted writes at once, whether the WAL history stayed
// continuous, whether replicas streamed again after each fault, and whether
// the final tables hold writes that were never made.
//
// The ledger's three outcomes are respected throughout: a write whose
// outcome is unknown (or pending: never recorded) may have taken effect at
// any time after its invocation, so its absence from the final state is no
// loss, its presence no phantom, and its return time never marks a moment
// of the cluster; only its invocation does (it shows that writes were being
// attempted).
//
// Checkers do no I/O and keep no state: the same Trial and Config always give
// the same verdicts. They are listed, in report order, by All; Run runs them
// all. Every checker is linear in the number of writes (the unavailability
// checker also sorts the acknowledgements, in near-linear time) and allocates
// a few bytes per write at most, so a ledger of tens of millions of writes is
// checked in seconds.
package assert
