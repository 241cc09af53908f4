// Package poller waits on many sockets from one goroutine: a thin wrapper of
// Linux epoll (level-triggered, readability only) with an eventfd that other
// goroutines use to wake the waiter.
//
// It exists for the write workload: one goroutine driving every client's
// connection spends a fraction of the CPU that a goroutine per connection
// parked in Go's netpoller does (no scheduler hand-offs or futex wake-ups per
// write), and on a small machine the client's CPU is taken from the server
// under test. See workload's doc and the benchmark in README.
package poller
