package main

import (
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/faults/iofsclass"
)

// needsStorage reports whether a chosen fault needs the pgchaos-iofs
// storage class.
func needsStorage(chosen []faults.Fault) bool {
	for _, f := range chosen {
		if faults.InfoOf(f).Needs.Storage {
			return true
		}
	}
	return false
}

// storageClassFor is the storage class of a run's clusters: the one given,
// else pgchaos-iofs when a chosen fault needs it, else the cluster's default.
func storageClassFor(chosen []faults.Fault, given string) string {
	if given == "" && needsStorage(chosen) {
		return iofsclass.ClassName
	}
	return given
}
