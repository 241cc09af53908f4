package iofs

// The layout of the storage-fault filesystem on a Kubernetes node, shared by
// the pgchaos-iofs DaemonSet (which serves it), the node agent (which sets
// faults through NodeControl) and the pgchaos-iofs storage class (whose
// volumes are directories under NodeMount).
const (
	// NodeRoot holds everything below; the DaemonSet mounts it with
	// bidirectional propagation so that the FUSE mount is seen by the node.
	NodeRoot = "/var/lib/pgchaos-iofs"
	// NodeBacking is the directory that holds the volumes' data.
	NodeBacking = NodeRoot + "/backing"
	// NodeMount is the FUSE mount of NodeBacking: the storage class's
	// volumes are directories right under it.
	NodeMount = NodeRoot + "/fs"
	// NodeRunDir holds the control socket (the node agent mounts it).
	NodeRunDir = NodeRoot + "/run"
	// NodeControl is the control socket of the node's filesystem.
	NodeControl = NodeRunDir + "/iofs.sock"
)
