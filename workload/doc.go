// Package workload drives the continuous write workload and records the fate
// of every write in the ledger (history.Ledger).
//
// Each client owns one connection. Each write is one autocommit INSERT of a
// unique id that returns the commit evidence (WAL insert LSN, timeline, server
// clock). Its outcome is ok, fail or unknown exactly as DESIGN.md defines it;
// an ambiguous write is never retried under the same id. The package also
// reads the final state of the workload's table from every instance after
// recovery (ReadFinal). It creates its own table and touches no other.
//
// How the clients run: pgx connects (multi-host, target_session_attrs, TLS,
// auth), prepares the write and identifies the server, then hands the
// connection over. One goroutine, the loop (loop.go), then drives every
// client: it sends each write as Bind + Execute + Sync (wire.go, message
// bodies by pgproto3; the writes of one turn leave together in one
// io_uring_enter where io_uring is allowed, internal/uring), waits on an
// epoll set of all plain sockets
// (internal/poller), and reads the answers itself; a TLS connection, which
// it cannot poll, has a goroutine reading it. A write past its timeout gets
// a cancel request (as in libpq and pgx) and is unknown. This spends 17-20
// µs of client CPU per write, as pgbench does, where a goroutine per client
// parked in Go's netpoller spent 33 (see README, Benchmarks): on a small
// machine that CPU is taken from the server under test. The loop yields to
// the scheduler every few milliseconds (the runtime otherwise takes it for a
// goroutine that never stops), and the ledger's appender never makes it wait
// for the disk.
package workload
