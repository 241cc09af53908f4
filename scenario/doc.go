// Package scenario runs trials: a target, the write workload, the monitor and
// a fault schedule, recorded into one trial directory that assert judges.
// A Trial started here owns its files: they are streamed while it runs and
// closed (with the ledger's end record) when it stops, even on error.
package scenario
