// Package recount reads a ledger file's acknowledged writes without the
// history package: the independent recount that the self-test and the
// Ginkgo suites hold the lost-writes checker to. It decodes each line on
// its own with encoding/json, so that a bug in history's parser cannot hide
// a bug in the checker that reads through it.
package recount
