package pgtestbed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Instance is one PostgreSQL server of a Cluster.
type Instance struct {
	// Name is "pg0", "pg1", ...: the cluster_name, the application_name of
	// its replication connection, and the name of its data directory.
	Name string
	// Port is its TCP port on 127.0.0.1 (and the number of its unix socket).
	Port int
	// DataDir is its data directory.
	DataDir string
	// LogFile receives the server's stderr; it is outside DataDir.
	LogFile string

	c *Cluster
}

// String returns the instance's name.
func (i *Instance) String() string { return i.Name }

func (i *Instance) pgCtl(ctx context.Context, args ...string) error {
	args = append(args, "-D", i.DataDir, "-t", strconv.Itoa(int(pgCtlTimeout/time.Second)))
	_, err := i.c.run.run(ctx, "pg_ctl", args...)
	return err
}

// wrap names the instance and appends its log tail to err.
func (i *Instance) wrap(what string, err error) error {
	return fmt.Errorf("%s %s: %w\n--- last lines of %s:\n%s", what, i.Name, err, i.LogFile, i.LogTail(20))
}

// Start starts the instance with pg_ctl start -w, as primary or replica
// according to its data directory. It works after Kill and after stops: a
// postmaster.pid or socket lock file left by a dead server is removed first.
// Starting a running instance does nothing.
func (i *Instance) Start(ctx context.Context) error {
	if i.Running() {
		return nil
	}
	if err := i.removeStaleLocks(); err != nil {
		return fmt.Errorf("starting %s: %w", i.Name, err)
	}
	i.c.log.InfoContext(ctx, "starting", "instance", i.Name, "port", i.Port)
	if err := i.pgCtl(ctx, "start", "-w", "-l", i.LogFile); err != nil {
		return i.wrap("starting", err)
	}
	return nil
}

// StopImmediate stops the instance with pg_ctl stop -m immediate -w: no
// shutdown checkpoint, crash recovery at next start. Stopping a stopped
// instance does nothing.
func (i *Instance) StopImmediate(ctx context.Context) error {
	return i.stop(ctx, "immediate")
}

// StopFast stops the instance with pg_ctl stop -m fast -w: backends are
// terminated and a shutdown checkpoint written. Stopping a stopped instance
// does nothing.
func (i *Instance) StopFast(ctx context.Context) error {
	return i.stop(ctx, "fast")
}

func (i *Instance) stop(ctx context.Context, mode string) error {
	if !i.Running() {
		return nil
	}
	i.c.log.InfoContext(ctx, "stopping", "instance", i.Name, "mode", mode)
	if err := i.pgCtl(ctx, "stop", "-m", mode, "-w"); err != nil {
		return i.wrap("stopping ("+mode+")", err)
	}
	return nil
}

// Promote promotes a replica with pg_ctl promote -w, which returns once it
// accepts writes on its new timeline.
func (i *Instance) Promote(ctx context.Context) error {
	i.c.log.InfoContext(ctx, "promoting", "instance", i.Name)
	if err := i.pgCtl(ctx, "promote", "-w"); err != nil {
		return i.wrap("promoting", err)
	}
	return nil
}

// Follow points the replica i at primary and restarts it: primary_conninfo
// is set with ALTER SYSTEM if i is running (then i is stopped fast), or
// written to postgresql.auto.conf if it is down; standby.signal is ensured;
// then i is started. recovery_target_timeline defaults to 'latest', so i
// fetches primary's timeline history and follows the new timeline, provided
// it has not replayed WAL past the point where primary's timeline forked off
// (otherwise it needs Rewind).
func (i *Instance) Follow(ctx context.Context, primary *Instance) error {
	if primary == i {
		return fmt.Errorf("%s cannot follow itself", i.Name)
	}
	i.c.log.InfoContext(ctx, "following", "instance", i.Name, "primary", primary.Name)
	conninfo := i.c.primaryConninfo(primary, i)
	if i.Running() {
		if err := i.c.exec(ctx, i, "ALTER SYSTEM SET primary_conninfo = "+quoteConf(conninfo)); err != nil {
			return fmt.Errorf("pointing %s at %s: %w", i.Name, primary.Name, err)
		}
		if err := i.StopFast(ctx); err != nil {
			return fmt.Errorf("pointing %s at %s: %w", i.Name, primary.Name, err)
		}
		if err := i.c.touch(i, "standby.signal"); err != nil {
			return fmt.Errorf("pointing %s at %s: %w", i.Name, primary.Name, err)
		}
	} else if err := i.c.makeStandby(i, primary); err != nil {
		return fmt.Errorf("pointing %s at %s: %w", i.Name, primary.Name, err)
	}
	if err := i.Start(ctx); err != nil {
		return fmt.Errorf("pointing %s at %s: %w", i.Name, primary.Name, err)
	}
	return nil
}

// Rewind runs pg_rewind on the stopped (or killed) instance i against the
// running source, then configures i as a replica of source (standby.signal
// and primary_conninfo) without starting it. Before pg_rewind it runs a
// CHECKPOINT on source: right after a promotion the control file of source
// still shows its old timeline, and pg_rewind would otherwise conclude that
// no rewind is needed. A killed target is crash-recovered by pg_rewind itself
// (single-user mode, PostgreSQL 13 and later).
func (i *Instance) Rewind(ctx context.Context, source *Instance) error {
	if source == i {
		return fmt.Errorf("rewinding %s: cannot rewind from itself", i.Name)
	}
	if i.Running() {
		return fmt.Errorf("rewinding %s: it is running; stop or kill it first", i.Name)
	}
	i.c.log.InfoContext(ctx, "rewinding", "instance", i.Name, "source", source.Name)
	if err := i.c.exec(ctx, source, "CHECKPOINT"); err != nil {
		return fmt.Errorf("rewinding %s: checkpoint on source: %w", i.Name, err)
	}
	// The single-user crash recovery refuses a postmaster.pid whose pid
	// still exists, which includes an unreaped zombie postmaster.
	if err := i.removeStaleLocks(); err != nil {
		return fmt.Errorf("rewinding %s: %w", i.Name, err)
	}
	out, err := i.c.run.run(ctx, "pg_rewind", "-D", i.DataDir, "--source-server="+i.c.DSN(source))
	if err != nil {
		return fmt.Errorf("rewinding %s from %s: %w", i.Name, source.Name, err)
	}
	i.c.log.DebugContext(ctx, "pg_rewind done", "instance", i.Name, "output", out)
	// pg_rewind copied the configuration files of source.
	if err := i.c.writeConf(i); err != nil {
		return fmt.Errorf("rewinding %s: %w", i.Name, err)
	}
	if err := i.c.makeStandby(i, source); err != nil {
		return fmt.Errorf("rewinding %s: %w", i.Name, err)
	}
	return nil
}

// Kill crashes the instance like a node failure: it freezes the postmaster
// (SIGSTOP, so that it forks nothing more), SIGKILLs it and every one of its
// descendants (found through the parent pid in /proc/*/stat; backends would
// otherwise live on until they noticed their postmaster's death), and any
// other server process still working in DataDir; then it waits, bounded,
// until they are all gone, so the port and shared memory are released.
// postmaster.pid stays behind, as after a real crash; Start copes with it.
// Killing an instance that is not running only sweeps leftovers.
func (i *Instance) Kill() error {
	var victims []int
	if pid := i.postmasterPID(); pid > 0 && i.isOurs(pid) {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err == nil {
			waitStopped(pid)
		}
		victims = append(victims, pid)
		victims = append(victims, descendants(pid)...)
	}
	for _, p := range serversIn(i.DataDir) {
		if !slices.Contains(victims, p) {
			victims = append(victims, p)
		}
	}
	if len(victims) > 0 {
		i.c.log.Info("killing", "instance", i.Name, "pids", victims)
	}
	if err := killAndWait(victims); err != nil {
		return fmt.Errorf("killing %s: %w\n--- last lines of %s:\n%s", i.Name, err, i.LogFile, i.LogTail(20))
	}
	return nil
}

// waitStopped waits briefly until pid is in the stopped state: SIGSTOP is
// delivered asynchronously.
func waitStopped(pid int) {
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		st, err := readProcStat(pid)
		if err != nil || st.state == 'T' || st.state == 'Z' {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// killAndWait SIGKILLs pids and waits, bounded by killTimeout, until none is
// alive.
func killAndWait(pids []int) error {
	var errs []error
	for _, p := range pids {
		if err := sigkill(p); err != nil {
			errs = append(errs, err)
		}
	}
	deadline := time.Now().Add(killTimeout)
	for {
		var left []int
		for _, p := range pids {
			if alive(p) {
				left = append(left, p)
			}
		}
		if len(left) == 0 {
			return errors.Join(errs...)
		}
		if time.Now().After(deadline) {
			return errors.Join(append(errs, fmt.Errorf("processes %v still alive after %s", left, killTimeout))...)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Running reports whether the instance's postmaster is alive.
func (i *Instance) Running() bool {
	pid := i.postmasterPID()
	return pid > 0 && i.isOurs(pid)
}

// isOurs reports whether pid is a live process working in DataDir (when its
// working directory cannot be read, being alive is enough).
func (i *Instance) isOurs(pid int) bool {
	if !alive(pid) {
		return false
	}
	cwd, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "cwd"))
	if err != nil {
		return true
	}
	return strings.TrimSuffix(cwd, " (deleted)") == i.DataDir
}

// postmasterPID returns the pid in the first line of postmaster.pid, or 0.
func (i *Instance) postmasterPID() int {
	return pidOfLockFile(filepath.Join(i.DataDir, "postmaster.pid"))
}

func pidOfLockFile(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return 0
	}
	if pid < 0 { // single-user mode writes -pid
		pid = -pid
	}
	return pid
}

// removeStaleLocks removes postmaster.pid and the unix socket lock file when
// the process they name is not a live server of this instance. The server
// would remove them itself, except when that pid still exists: as an
// unreaped zombie, or reused by another process of the same user.
func (i *Instance) removeStaleLocks() error {
	sock := filepath.Join(i.c.SocketDir, ".s.PGSQL."+strconv.Itoa(i.Port))
	for _, path := range []string{filepath.Join(i.DataDir, "postmaster.pid"), sock + ".lock"} {
		pid := pidOfLockFile(path)
		if pid == 0 || i.isOurs(pid) {
			continue
		}
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("removing stale %s: %w", path, err)
		}
		if path == sock+".lock" {
			if err := os.Remove(sock); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("removing stale %s: %w", sock, err)
			}
		}
	}
	return nil
}

// logSize returns the current size of the log file.
func (i *Instance) logSize() int64 {
	fi, err := os.Stat(i.LogFile)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logFrom returns the log from byte offset on.
func (i *Instance) logFrom(offset int64) string {
	f, err := os.Open(i.LogFile)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return ""
	}
	return string(b)
}

// LogTail returns the last n lines of the instance's log, for error messages.
func (i *Instance) LogTail(n int) string {
	const window = 64 << 10
	off := i.logSize() - window
	if off < 0 {
		off = 0
	}
	s := i.logFrom(off)
	if s == "" {
		return "(log " + i.LogFile + " is empty or unreadable)"
	}
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if off > 0 && len(lines) > 1 {
		lines = lines[1:] // first line is likely cut
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// PostmasterPID is the postmaster's pid from postmaster.pid (0 when not running).
func (i *Instance) PostmasterPID() int { return i.postmasterPID() }
