// Package iofsclass owns the pgchaos-iofs storage class: volumes whose
// writes and fsyncs pgchaos can slow down, or make fail with ENOSPC, on
// purpose. It installs the pgchaos-iofs DaemonSet (`pgchaos iofs serve` on
// every node, its FUSE mount propagated to the node), a local-path-provisioner
// instance whose volumes are directories on that mount, and the StorageClass;
// and it finds the prefix of an instance's volume on the mount, which the
// node agent's iofs actions target.
package iofsclass
