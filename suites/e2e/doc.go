// Package e2e is the end-to-end suite: for every operator of the registry
// (operators/registry), a 3-instance cluster asynchronous then synchronous,
// every fault of faults.All() on each, judged by package assert with the
// expectations of the table (faults.Expectations) and the adapter's
// overrides. Specs carry labels (suites/labels.go): operator:<name>,
// replication:<mode>, fault:<family>, smoke (the synchronous primary pod
// delete of each operator, in CI), leftovers. The specs live in _test
// files; run them with PGCHAOS_E2E=1 go test ./suites/e2e/ -args
// -ginkgo.label-filter='operator:zalando && smoke' (see suites.Env).
package e2e
