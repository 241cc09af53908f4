// Package socktest gives tests of descriptor-level code (internal/poller,
// internal/uring) connected non-blocking Unix socket pairs, closed when the
// test ends.
package socktest
