package iofs

// MountT mounts a fresh filesystem for the external tests (postgres_test.go
// is package iofs_test: it imports scenario, which imports faults, which
// imports this package).
var MountT = mountT
