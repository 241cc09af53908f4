// Package cnpg is the CloudNativePG suite: every scenario of faults.All()
// against a 3-instance cluster, asynchronous and synchronous (quorum ANY 1),
// judged by package assert. The specs live in _test files; run them with
// PGCHAOS_E2E=1 go test ./suites/cnpg/ (see suites.Env for the variables).
package cnpg
