// Package agent applies faults that must happen inside a node or inside a
// pod's namespaces (network partitions with iptables in a pod's or a node's
// network namespace, freezing processes, stopping a kind node container),
// always with a deadline: a dead man's switch.
//
// An Action is written to a state directory BEFORE it is applied, with its
// deadline; a Reverter loop reverts every action whose deadline has passed,
// and everything when it is told to stop. So if the harness dies or loses
// contact, the fault is reverted by the agent itself when the deadline
// passes, and a restarted agent finds what it must revert on disk.
//
// The same code runs in two places: in the node agent, a privileged
// DaemonSet running `pgchaos agent run` (installed by Install, driven through
// pod exec by Client), and on the harness's host for faults on kind node
// containers (`pgchaos agent watchdog`, started detached by the harness).
package agent
