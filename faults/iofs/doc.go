// Package iofs owns pgchaos's storage faults: a FUSE passthrough (loopback)
// filesystem, built on go-fuse's LoopbackNode, that mirrors a backing
// directory at a mount point and obeys a live Control: added latency per
// write and per fsync, and a full disk (ENOSPC on writes, creates and
// fallocate while reads keep working), each optionally limited to paths
// under a prefix such as "pg_wal/".
//
// Every fault is set with a deadline and clears itself when the deadline
// passes without a new Set (a dead man's switch); every change is recorded
// as an Event so a trial can carry the fault's window. Serve exposes a
// Control over HTTP on a unix socket (see Client) for `pgchaos iofs serve`,
// which the node agent runs on a Kubernetes node.
//
// Mounting needs root (mount(2) of /dev/fuse); the mount is made with
// allow_other and default_permissions, so that a server running as another
// user (postgres) can use it under the usual permission checks.
package iofs
