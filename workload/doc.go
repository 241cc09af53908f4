// Package workload drives the continuous write workload and records the fate
// of every write in the ledger (history.Ledger).
//
// Each client owns one connection. Each write is one autocommit INSERT of a
// unique id that returns the commit evidence (WAL insert LSN, timeline, server
// clock). Its outcome is ok, fail or unknown exactly as DESIGN.md defines it;
// an ambiguous write is never retried under the same id. The package also
// reads the final state of the workload's table from every instance after
// recovery (ReadFinal). It creates its own table and touches no other.
package workload
