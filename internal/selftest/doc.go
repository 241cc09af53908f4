// Package selftest is the harness proving itself on real servers: it starts a
// PostgreSQL primary and two streaming replicas on loopback (pgtestbed), runs
// the workload and the monitor, injects faults by hand (SIGKILL of the
// postmaster, pg_ctl promote, pg_ctl stop -m immediate and start), and shows
// that every detector fires when it must and stays silent when it must not,
// counting lost writes independently of the checkers.
package selftest
