package pgtestbed

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// procStat is what the testbed needs from /proc/<pid>/stat.
type procStat struct {
	pid   int
	ppid  int
	state byte
	comm  string
}

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	s := string(b)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return procStat{}, fmt.Errorf("parsing /proc/%d/stat: %q", pid, s)
	}
	fields := strings.Fields(s[closing+1:])
	if len(fields) < 2 || len(fields[0]) != 1 {
		return procStat{}, fmt.Errorf("parsing /proc/%d/stat: %q", pid, s)
	}
	ppid, err := strconv.Atoi(fields[1])
	if err != nil {
		return procStat{}, fmt.Errorf("parsing ppid in /proc/%d/stat: %w", pid, err)
	}
	return procStat{pid: pid, ppid: ppid, state: fields[0][0], comm: s[open+1 : closing]}, nil
}

// alive reports whether pid is a live process. A zombie is dead: it holds no
// port, no memory and no file, and nobody may reap it (the reaper of orphans
// is whatever PID 1 the machine has).
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	st, err := readProcStat(pid)
	if err != nil {
		return false
	}
	return st.state != 'Z' && st.state != 'X' && st.state != 'x'
}

// allProcs lists every process visible in /proc.
func allProcs() []procStat {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var ps []procStat
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readProcStat(pid); err == nil {
			ps = append(ps, st)
		}
	}
	return ps
}

// descendants returns every live descendant of root.
func descendants(root int) []int {
	children := map[int][]int{}
	for _, p := range allProcs() {
		if p.state != 'Z' {
			children[p.ppid] = append(children[p.ppid], p.pid)
		}
	}
	var out []int
	queue := []int{root}
	seen := map[int]bool{root: true}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
				queue = append(queue, c)
			}
		}
	}
	return out
}

// serversIn returns the live PostgreSQL server processes (postmasters and
// their children, whatever their parent now is) whose working directory is dir
// or below it. The postmaster chdirs into its data directory and every child
// inherits it, so this finds the orphans of an instance even after its
// postmaster is gone.
func serversIn(dir string) []int {
	var out []int
	for _, p := range allProcs() {
		if p.state == 'Z' || p.pid == os.Getpid() {
			continue
		}
		if p.comm != "postgres" && p.comm != "postmaster" {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(p.pid), "cwd"))
		if err != nil {
			continue
		}
		cwd = strings.TrimSuffix(cwd, " (deleted)")
		if cwd == dir || strings.HasPrefix(cwd, dir+string(filepath.Separator)) {
			out = append(out, p.pid)
		}
	}
	return out
}

// sigkill sends SIGKILL, ignoring processes that are already gone.
func sigkill(pid int) error {
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
		return fmt.Errorf("SIGKILL %d: %w", pid, err)
	}
	return nil
}
