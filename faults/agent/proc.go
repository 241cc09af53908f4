package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

func (e *Executor) procDir() string {
	if e.Proc != "" {
		return e.Proc
	}
	return "/proc"
}

// podPIDs lists the processes of a pod: those whose cgroup path names the
// pod's uid (cgroupfs spells it with dashes, the systemd driver with underscores).
func (e *Executor) podPIDs(uid string) ([]int, error) {
	ents, err := os.ReadDir(e.procDir())
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", e.procDir(), err)
	}
	keys := []string{"pod" + uid, "pod" + strings.ReplaceAll(uid, "-", "_")}
	var pids []int
	for _, en := range ents {
		pid, err := strconv.Atoi(en.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join(e.procDir(), en.Name(), "cgroup"))
		if err != nil {
			continue // gone meanwhile
		}
		s := string(data)
		if strings.Contains(s, keys[0]) || strings.Contains(s, keys[1]) {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	return pids, nil
}

// stat is what pgchaos reads of /proc/PID/stat.
type stat struct {
	comm  string
	ppid  int
	start uint64
}

func (e *Executor) stat(pid int) (stat, error) {
	data, err := os.ReadFile(filepath.Join(e.procDir(), strconv.Itoa(pid), "stat"))
	if err != nil {
		return stat{}, fmt.Errorf("reading stat of pid %d: %w", pid, err)
	}
	return parseStat(string(data))
}

// parseStat parses /proc/PID/stat: "pid (comm) state ppid ... starttime(22) ...";
// comm may hold spaces and parentheses, so it ends at the LAST ')'.
func parseStat(s string) (stat, error) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return stat{}, fmt.Errorf("malformed stat %q", s)
	}
	f := strings.Fields(s[end+1:])
	// f[0] is field 3 (state); ppid is field 4, starttime field 22.
	if len(f) < 20 {
		return stat{}, fmt.Errorf("short stat %q", s)
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return stat{}, fmt.Errorf("stat ppid %q: %w", f[1], err)
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return stat{}, fmt.Errorf("stat starttime %q: %w", f[19], err)
	}
	return stat{comm: s[open+1 : end], ppid: ppid, start: start}, nil
}

// postgresProcs returns the pod's PostgreSQL processes, the postmaster (the
// one whose parent is not postgres) first.
func (e *Executor) postgresProcs(uid string) ([]Proc, error) {
	pids, err := e.podPIDs(uid)
	if err != nil {
		return nil, err
	}
	stats := map[int]stat{}
	for _, pid := range pids {
		if st, err := e.stat(pid); err == nil {
			stats[pid] = st
		}
	}
	var first, rest []Proc
	for _, pid := range pids {
		st, ok := stats[pid]
		if !ok || st.comm != "postgres" {
			continue
		}
		p := Proc{PID: pid, Start: st.start}
		if parent, ok := stats[st.ppid]; ok && parent.comm == "postgres" {
			rest = append(rest, p)
		} else {
			first = append(first, p)
		}
	}
	return append(first, rest...), nil
}

// freeze SIGSTOPs the postmaster, then every other PostgreSQL process.
func (e *Executor) freeze(a Action) (Action, error) {
	procs, err := e.postgresProcs(a.PodUID)
	if err != nil {
		return a, fmt.Errorf("freezing %s: %w", a.Pod, err)
	}
	if len(procs) == 0 {
		return a, fmt.Errorf("freezing %s: no postgres process found for pod uid %s", a.Pod, a.PodUID)
	}
	for _, p := range procs {
		if err := syscall.Kill(p.PID, syscall.SIGSTOP); err != nil && !errors.Is(err, syscall.ESRCH) {
			return a, fmt.Errorf("freezing %s: SIGSTOP pid %d: %w", a.Pod, p.PID, err)
		}
		a.Frozen = append(a.Frozen, p)
	}
	return a, nil
}

// thaw SIGCONTs every process the freeze stopped that still is the same
// process (same start time).
func (e *Executor) thaw(a Action) error {
	var errs []error
	for i := len(a.Frozen) - 1; i >= 0; i-- {
		p := a.Frozen[i]
		st, err := e.stat(p.PID)
		if err != nil || st.start != p.Start {
			continue // exited, or the pid was reused
		}
		if err := syscall.Kill(p.PID, syscall.SIGCONT); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("SIGCONT pid %d: %w", p.PID, err))
		}
	}
	return errors.Join(errs...)
}
