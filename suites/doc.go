// Package suites holds pgchaos's Ginkgo v2 suites and the plain building
// blocks they share: documented label constants, one overridable timeouts
// table, the target environment read from PGCHAOS_* variables, and artifact
// collection for failed specs. The suite (suites/e2e) holds the specs.
// Only suites/... import ginkgo and gomega; the helpers here do not need to.
package suites
