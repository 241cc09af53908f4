// Package suites holds pgchaos's Ginkgo v2 suites: the only packages of the
// project that import ginkgo and gomega. Specs compose scenario, operators and
// faults and assert on the verdicts of package assert.
//
// Nothing lives here yet: the first suites come with the CloudNativePG
// adapter.
package suites
