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

// openFlags are the FUSE flags of every open file: FOPEN_DIRECT_IO, so
// that every read and write is served from the backing file and the
// kernel keeps no page cache of its own for the mount. With a page cache,
// an open or an attribute refresh (auto_inval_data) may drop a page that a
// writer has filled but whose WRITE this server has not applied yet; a
// read then caches the older copy. On CloudNativePG a replica that was
// streaming through such a mount found "invalid record length" in WAL it
// had been sent and never streamed again (PostgreSQL then loops: it reads
// the same bad page before each new WAL receiver can start). Direct I/O
// also means a write delay or ENOSPC acts on each write(2) as it is made.
// A shared writable mmap of a file on the mount fails (ENODEV): PostgreSQL
// makes none of its data directory.
const openFlags = fuse.FOPEN_DIRECT_IO

// Open opens the file without FUSE passthrough, for direct I/O.
func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	fh, fuseFlags, errno := n.LoopbackNode.Open(ctx, flags)
	return hidePassthrough(fh), fuseFlags | openFlags, errno
}

// create is LoopbackNode.Create without FUSE passthrough, for direct I/O.
func (n *node) create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	in, fh, fuseFlags, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	return in, hidePassthrough(fh), fuseFlags | openFlags, errno
}

var _ fs.NodeOpener = (*node)(nil)
