// Package certify issues and verifies certificates: a versioned profile
// (profiles/*.yaml) says which faults run per replication mode, how often,
// and which requirements must hold with which budgets; Build judges a run
// against it (PASS, FAIL, or UNDECIDED with the reason — never PASS when a
// requirement could not be decided) and records the SHA-256 of every raw
// trial file; Verify re-judges every trial from those files with this
// binary's checkers and re-checks the hashes.
package certify
