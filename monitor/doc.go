// Package monitor observes every instance of a cluster from the server side:
// it polls each one every 100–250 ms with bounded timeouts and records whether
// it was reachable, in recovery, on which timeline, and its current, received
// and replayed WAL positions. These observations are the server-side evidence
// for split brain, WAL continuity and replication recovery.
package monitor
