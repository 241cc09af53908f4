// Package history is pgchaos's shared vocabulary: the operations of the write
// ledger, the monitor's observations, fault windows, the final state read after
// recovery, and the verdicts the checkers return, with their on-disk codecs.
//
// Every other package speaks these types; history itself depends on nothing of
// pgchaos. The ledger format is versioned and documented in FORMAT.md beside
// this file.
package history
