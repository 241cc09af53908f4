package iofs

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Spec is one storage fault: what the filesystem does to the operations on
// paths it matches. The zero Spec does nothing.
//
// Prefixes are paths relative to the mount's root, without a leading "/"
// ("pg_wal/", "pgdata/pg_wal/"); the empty prefix matches every path. A
// prefix matches a path by plain string prefix, so "pg_wal/" matches the
// files inside pg_wal but not the directory entry "pg_wal" itself.
type Spec struct {
	// WriteDelay is added to every write request (one FUSE WRITE: up to
	// 128 KiB of a write(2)) on a matching path.
	WriteDelay time.Duration `json:"write_delay,omitempty"`
	// FsyncDelay is added to every fsync(2) and fdatasync(2) of a matching
	// file.
	FsyncDelay time.Duration `json:"fsync_delay,omitempty"`
	// DelayPrefix limits both delays to paths under it.
	DelayPrefix string `json:"delay_prefix,omitempty"`
	// ENOSPC makes writes, creates (files, directories, nodes, links) and
	// fallocate on a matching path fail with ENOSPC; reads keep working.
	ENOSPC bool `json:"enospc,omitempty"`
	// ENOSPCPrefix limits ENOSPC to paths under it.
	ENOSPCPrefix string `json:"enospc_prefix,omitempty"`
}

// maxDelay bounds each delay: a longer one is surely a typo (and would hang
// the filesystem's clients for that long per operation).
const maxDelay = time.Minute

// Validate says what is wrong with s, naming the field.
func (s Spec) Validate() error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"write delay", s.WriteDelay}, {"fsync delay", s.FsyncDelay}} {
		if d.v < 0 || d.v > maxDelay {
			errs = append(errs, fmt.Errorf("%s %s out of range [0, %s]", d.name, d.v, maxDelay))
		}
	}
	for _, p := range []struct{ name, v string }{{"delay prefix", s.DelayPrefix}, {"ENOSPC prefix", s.ENOSPCPrefix}} {
		if strings.HasPrefix(p.v, "/") {
			errs = append(errs, fmt.Errorf("%s %q must be relative to the mount's root", p.name, p.v))
		}
	}
	return errors.Join(errs...)
}

// Empty reports whether s does nothing.
func (s Spec) Empty() bool {
	return s.WriteDelay == 0 && s.FsyncDelay == 0 && !s.ENOSPC
}

// String describes s in a few words, e.g. "fsync +50ms on pg_wal/; ENOSPC
// on everything".
func (s Spec) String() string {
	if s.Empty() {
		return "no fault"
	}
	var parts []string
	where := func(p string) string {
		if p == "" {
			return "everything"
		}
		return p
	}
	if s.WriteDelay > 0 {
		parts = append(parts, "write +"+s.WriteDelay.String()+" on "+where(s.DelayPrefix))
	}
	if s.FsyncDelay > 0 {
		parts = append(parts, "fsync +"+s.FsyncDelay.String()+" on "+where(s.DelayPrefix))
	}
	if s.ENOSPC {
		parts = append(parts, "ENOSPC on "+where(s.ENOSPCPrefix))
	}
	return strings.Join(parts, "; ")
}

// CleanPrefix turns a prefix as a user writes it into Spec's form: the
// leading "/" and "./" are dropped, so "/" and "" both mean everything.
func CleanPrefix(p string) string {
	for {
		switch {
		case strings.HasPrefix(p, "/"):
			p = p[1:]
		case strings.HasPrefix(p, "./"):
			p = p[2:]
		case p == ".":
			p = ""
		default:
			return p
		}
	}
}
