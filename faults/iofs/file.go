package iofs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// loopbackFile is every ability of go-fuse's loopback file handle except
// PassthroughFd.
type loopbackFile interface {
	fs.FileHandle
	fs.FileReleaser
	fs.FileGetattrer
	fs.FileStatxer
	fs.FileReader
	fs.FileWriter
	fs.FileGetlker
	fs.FileSetlker
	fs.FileSetlkwer
	fs.FileLseeker
	fs.FileFlusher
	fs.FileFsyncer
	fs.FileSetattrer
	fs.FileAllocater
	fs.FileIoctler
}

// file hides the loopback file's PassthroughFd. With FUSE passthrough
// (kernel 6.9+, as root) the kernel would send reads and writes of an open
// file straight to the backing file, never to this server: a fault set
// after the open could not act on them. Every write must come through
// node.Write so that faults are live.
type file struct{ loopbackFile }

// hidePassthrough wraps fh when it is a loopback file.
func hidePassthrough(fh fs.FileHandle) fs.FileHandle {
	if lf, ok := fh.(loopbackFile); ok {
		return file{lf}
	}
	return fh
}

// Open opens the file without FUSE passthrough.
func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	fh, fuseFlags, errno := n.LoopbackNode.Open(ctx, flags)
	return hidePassthrough(fh), fuseFlags, errno
}

// create is LoopbackNode.Create without FUSE passthrough.
func (n *node) create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	in, fh, fuseFlags, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	return in, hidePassthrough(fh), fuseFlags, errno
}

var _ fs.NodeOpener = (*node)(nil)
