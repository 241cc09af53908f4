// Package uring sends many writes in one system call: a minimal io_uring
// (Linux 5.6+) with IORING_OP_WRITE only, set up and driven with raw system
// calls.
//
// It exists for the write workload's loop, which drives every client from
// one thread: when one group commit acknowledges several writes at once, the
// loop has as many next writes to send, and each write(2) on loopback TCP
// wakes the server backend that reads it, which then preempts the loop at
// the system call's exit before the other writes go out. Queued here and
// submitted together, the writes all leave before the loop can be
// preempted. Beside pgbench -j 2 on a saturated 2-core server, that took the
// workload from 0.83-0.86 of pgbench's rate to 0.94-0.97 (see README,
// Benchmarks). Where io_uring is unavailable (kernels before 5.6, seccomp
// profiles that refuse it, io_uring_disabled), New fails and the caller
// writes one at a time.
package uring
