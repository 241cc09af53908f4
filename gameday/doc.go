// Package gameday runs a game day on a team's own cluster: a plan file
// (faults at times or when the person running it presses a key, notes),
// one continuous workload and monitor over the whole day, every fault
// reverted on abort, and live snapshots (writes per second, the current
// unavailability, each instance's role, timeline and lag, the active
// fault and its deadline, the latest events) for the terminal view and
// the Prometheus metrics. The trial it records is judged like any other.
package gameday
