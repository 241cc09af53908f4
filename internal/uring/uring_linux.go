package uring

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// params is struct io_uring_params.
type params struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFd uint32
	resv                                                                   [3]uint32
	sqOff                                                                  struct {
		head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
		userAddr                                                        uint64
	}
	cqOff struct {
		head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
		userAddr                                                        uint64
	}
}

// sqe is struct io_uring_sqe (64 bytes).
type sqe struct {
	opcode, flags uint8
	ioprio        uint16
	fd            int32
	off, addr     uint64
	len, opFlags  uint32
	userData      uint64
	bufIndex      uint16
	personality   uint16
	spliceFdIn    int32
	addr3, pad    uint64
}

// cqe is struct io_uring_cqe (16 bytes).
type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

const (
	opWrite       = 23 // IORING_OP_WRITE
	enterGetEvent = 1  // IORING_ENTER_GETEVENTS
	offSQRing     = 0
	offCQRing     = 0x8000000
	offSQEs       = 0x10000000
)

// maxEnterRounds bounds the io_uring_enter calls of one Submit.
const maxEnterRounds = 1000

// Ring is one io_uring instance. It is not safe for concurrent use.
type Ring struct {
	fd                   int
	sqMem, cqMem, sqeMem []byte
	sqTail, sqMask       *uint32
	sqArray              unsafe.Pointer
	cqHead, cqTail       *uint32
	cqMask               *uint32
	cqes                 unsafe.Pointer
	entries, queued      uint32
	// bufs keeps the queued buffers referenced until Submit.
	bufs [][]byte
}

// ErrFull: Queue was called more times than the ring's size since Submit.
var ErrFull = errors.New("uring: submission queue full")

// New sets up a ring for up to entries writes per Submit.
func New(entries uint32) (*Ring, error) {
	var p params
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", errno)
	}
	r := &Ring{fd: int(fd), entries: p.sqEntries}
	mmap := func(off int64, size uint32) ([]byte, error) {
		b, err := unix.Mmap(r.fd, off, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
		if err != nil {
			return nil, fmt.Errorf("mapping io_uring: %w", err)
		}
		return b, nil
	}
	var err error
	if r.sqMem, err = mmap(offSQRing, p.sqOff.array+p.sqEntries*4); err != nil {
		r.Close()
		return nil, err
	}
	if r.cqMem, err = mmap(offCQRing, p.cqOff.cqes+p.cqEntries*uint32(unsafe.Sizeof(cqe{}))); err != nil {
		r.Close()
		return nil, err
	}
	if r.sqeMem, err = mmap(offSQEs, p.sqEntries*uint32(unsafe.Sizeof(sqe{}))); err != nil {
		r.Close()
		return nil, err
	}
	sq, cq := unsafe.Pointer(&r.sqMem[0]), unsafe.Pointer(&r.cqMem[0])
	r.sqTail = (*uint32)(unsafe.Add(sq, p.sqOff.tail))
	r.sqMask = (*uint32)(unsafe.Add(sq, p.sqOff.ringMask))
	r.sqArray = unsafe.Add(sq, p.sqOff.array)
	r.cqHead = (*uint32)(unsafe.Add(cq, p.cqOff.head))
	r.cqTail = (*uint32)(unsafe.Add(cq, p.cqOff.tail))
	r.cqMask = (*uint32)(unsafe.Add(cq, p.cqOff.ringMask))
	r.cqes = unsafe.Add(cq, p.cqOff.cqes)
	return r, nil
}

// Queued is how many writes wait for Submit.
func (r *Ring) Queued() int { return int(r.queued) }

// Queue adds a write of b (not empty) to fd, reported to Submit's done with
// tag. b must not change until Submit returns.
func (r *Ring) Queue(fd int, b []byte, tag uint64) error {
	if r.queued == r.entries {
		return ErrFull
	}
	if len(b) == 0 {
		return errors.New("uring: empty write")
	}
	tail := atomic.LoadUint32(r.sqTail)
	idx := tail & *r.sqMask
	e := (*sqe)(unsafe.Add(unsafe.Pointer(&r.sqeMem[0]), uintptr(idx)*unsafe.Sizeof(sqe{})))
	*e = sqe{opcode: opWrite, fd: int32(fd), off: ^uint64(0), addr: uint64(uintptr(unsafe.Pointer(&b[0]))), len: uint32(len(b)), userData: tag}
	*(*uint32)(unsafe.Add(r.sqArray, uintptr(idx)*4)) = idx
	atomic.StoreUint32(r.sqTail, tail+1) // publishes the entry to the kernel
	r.queued++
	r.bufs = append(r.bufs, b)
	return nil
}

// Submit sends the queued writes in one system call, waits for all of them
// and calls done for each with its tag and result: bytes written, or a
// negative errno.
func (r *Ring) Submit(done func(tag uint64, res int32)) error {
	n := r.queued
	if n == 0 {
		return nil
	}
	submit, wait := n, n
	// Bounded: each round either takes some entries or is an interrupted
	// wait; a ring that takes none for this long is broken.
	for round := 0; ; round++ {
		if round == maxEnterRounds {
			return fmt.Errorf("io_uring_enter: %d of %d writes still queued after %d calls", submit, n, round)
		}
		got, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(submit), uintptr(wait), enterGetEvent, 0, 0)
		if errno == unix.EINTR {
			continue // the entries taken stay taken; wait again
		}
		if errno != 0 {
			return fmt.Errorf("io_uring_enter: %w", errno)
		}
		if uint32(got) < submit {
			submit -= uint32(got) // the rest are still in the ring
			continue
		}
		break
	}
	// Every write completes before io_uring_enter returns (wait = n), but
	// take whatever the completion queue holds.
	head := atomic.LoadUint32(r.cqHead)
	for tail := atomic.LoadUint32(r.cqTail); head != tail; head++ {
		c := (*cqe)(unsafe.Add(r.cqes, uintptr(head&*r.cqMask)*unsafe.Sizeof(cqe{})))
		done(c.userData, c.res)
	}
	atomic.StoreUint32(r.cqHead, head)
	r.queued = 0
	clear(r.bufs)
	r.bufs = r.bufs[:0]
	return nil
}

// Close releases the ring.
func (r *Ring) Close() {
	for _, m := range [][]byte{r.sqeMem, r.cqMem, r.sqMem} {
		if m != nil {
			_ = unix.Munmap(m)
		}
	}
	_ = unix.Close(r.fd)
}
