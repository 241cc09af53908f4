package iofs

import (
	"context"
	"strings"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// node is a loopback node that consults the Control before the operations
// a storage fault acts on; everything else is go-fuse's LoopbackNode.
type node struct {
	*fs.LoopbackNode
	ctl *Control
}

// Compile-time checks of the operations node intercepts.
var (
	_ fs.NodeWrapChilder = (*node)(nil)
	_ fs.NodeWriter      = (*node)(nil)
	_ fs.NodeFsyncer     = (*node)(nil)
	_ fs.NodeAllocater   = (*node)(nil)
	_ fs.NodeCreater     = (*node)(nil)
	_ fs.NodeMkdirer     = (*node)(nil)
	_ fs.NodeMknoder     = (*node)(nil)
	_ fs.NodeSymlinker   = (*node)(nil)
	_ fs.NodeLinker      = (*node)(nil)
)

// WrapChild makes every node of the tree a node (go-fuse calls it for each
// new inode under a node).
func (n *node) WrapChild(ctx context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	return &node{LoopbackNode: ops.(*fs.LoopbackNode), ctl: n.ctl}
}

// rel is the node's path relative to the mount's root ("" for the root).
func (n *node) rel() string { return n.Path(nil) }

// child is the path of name in directory n, relative to the mount's root.
func (n *node) child(name string) string {
	if p := n.rel(); p != "" {
		return p + "/" + name
	}
	return name
}

// noSpace reports (and counts) whether spec makes creating or writing path
// fail. path is computed only when a prefix needs it.
func (c *Control) noSpace(spec *Spec, path func() string) bool {
	if spec != nil && spec.ENOSPC && (spec.ENOSPCPrefix == "" || strings.HasPrefix(path(), spec.ENOSPCPrefix)) {
		c.enospc.Add(1)
		return true
	}
	return false
}

// delayOf returns d when spec's delays apply to path, else 0.
func delayOf(spec *Spec, d time.Duration, path func() string) time.Duration {
	if d == 0 || (spec.DelayPrefix != "" && !strings.HasPrefix(path(), spec.DelayPrefix)) {
		return 0
	}
	return d
}

// sleep waits d, whatever happens meanwhile. A slow disk is slow; it does
// not fail. The kernel interrupts a FUSE request when its caller gets a
// signal, and PostgreSQL's processes get signals all the time (latch
// wake-ups); returning EINTR then would fail the caller's fsync, and
// PostgreSQL PANICs on a failed fsync (data_sync_retry = off): seen on
// CloudNativePG, whose primary crashed 9 s into "fsync +50ms". d is bounded
// by maxDelay, and the kernel drops the reply to a caller that is gone.
func sleep(d time.Duration) {
	time.Sleep(d)
}

// Write delays, fails with ENOSPC, or passes the write through.
func (n *node) Write(ctx context.Context, f fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	if spec := n.ctl.active(); spec != nil {
		if n.ctl.noSpace(spec, n.rel) {
			return 0, syscall.ENOSPC
		}
		if d := delayOf(spec, spec.WriteDelay, n.rel); d > 0 {
			n.ctl.delayedWrites.Add(1)
			sleep(d)
		}
	}
	w, ok := f.(fs.FileWriter)
	if !ok {
		return 0, syscall.ENOTSUP
	}
	return w.Write(ctx, data, off)
}

// Fsync delays, then passes fsync or fdatasync through.
func (n *node) Fsync(ctx context.Context, f fs.FileHandle, flags uint32) syscall.Errno {
	if spec := n.ctl.active(); spec != nil {
		if d := delayOf(spec, spec.FsyncDelay, n.rel); d > 0 {
			n.ctl.delayedFsyncs.Add(1)
			sleep(d)
		}
	}
	s, ok := f.(fs.FileFsyncer)
	if !ok {
		return syscall.ENOTSUP
	}
	return s.Fsync(ctx, flags)
}

// Allocate fails with ENOSPC or passes fallocate(2) through.
func (n *node) Allocate(ctx context.Context, f fs.FileHandle, off, size uint64, mode uint32) syscall.Errno {
	if n.ctl.noSpace(n.ctl.active(), n.rel) {
		return syscall.ENOSPC
	}
	a, ok := f.(fs.FileAllocater)
	if !ok {
		return syscall.ENOTSUP
	}
	return a.Allocate(ctx, off, size, mode)
}

// Create fails with ENOSPC or creates the file.
func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	if n.ctl.noSpace(n.ctl.active(), func() string { return n.child(name) }) {
		return nil, nil, 0, syscall.ENOSPC
	}
	return n.create(ctx, name, flags, mode, out)
}

// Mkdir fails with ENOSPC or makes the directory.
func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if n.ctl.noSpace(n.ctl.active(), func() string { return n.child(name) }) {
		return nil, syscall.ENOSPC
	}
	return n.LoopbackNode.Mkdir(ctx, name, mode, out)
}

// Mknod fails with ENOSPC or makes the node (sockets, FIFOs).
func (n *node) Mknod(ctx context.Context, name string, mode, rdev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if n.ctl.noSpace(n.ctl.active(), func() string { return n.child(name) }) {
		return nil, syscall.ENOSPC
	}
	return n.LoopbackNode.Mknod(ctx, name, mode, rdev, out)
}

// Symlink fails with ENOSPC or makes the link.
func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if n.ctl.noSpace(n.ctl.active(), func() string { return n.child(name) }) {
		return nil, syscall.ENOSPC
	}
	return n.LoopbackNode.Symlink(ctx, target, name, out)
}

// Link fails with ENOSPC or makes the hard link.
func (n *node) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if n.ctl.noSpace(n.ctl.active(), func() string { return n.child(name) }) {
		return nil, syscall.ENOSPC
	}
	return n.LoopbackNode.Link(ctx, target, name, out)
}
