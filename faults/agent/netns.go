package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// NSExec replaces the calling process with argv run inside the network
// namespace at nsPath (for example /proc/PID/ns/net). Call it from main's
// goroutine of a process that does nothing else (`pgchaos agent nsexec`).
func NSExec(nsPath string, argv []string) error {
	if len(argv) == 0 {
		return fmt.Errorf("nsexec %s: no command", nsPath)
	}
	bin, err := exec.LookPath(argv[0])
	if err != nil {
		return fmt.Errorf("nsexec %s: %w", nsPath, err)
	}
	runtime.LockOSThread() // never unlocked: the thread becomes the new program
	fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening network namespace %s: %w", nsPath, err)
	}
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("entering network namespace %s: %w", nsPath, err)
	}
	return syscall.Exec(bin, argv, os.Environ())
}

// chains names the iptables chains of an action (at most 28 characters).
func chains(id string) (in, out, fwd string) {
	h := sha256.Sum256([]byte(id))
	base := "PGCHAOS-" + hex.EncodeToString(h[:5])
	return base + "-I", base + "-O", base + "-F"
}

// netns finds the network namespace an action hits: the pod's (through any
// of its processes) or the node container's. ok is false when the target is gone.
func (e *Executor) netns(ctx context.Context, a Action) (path string, ok bool, err error) {
	if a.PodUID != "" {
		pids, err := e.podPIDs(a.PodUID)
		if err != nil {
			return "", false, err
		}
		if len(pids) == 0 {
			return "", false, nil
		}
		return fmt.Sprintf("%s/%d/ns/net", e.procDir(), pids[0]), true, nil
	}
	pid, running, err := e.containerPID(ctx, a.Container)
	if err != nil || !running {
		return "", false, err
	}
	return fmt.Sprintf("%s/%d/ns/net", e.procDir(), pid), true, nil
}

// iptables runs iptables in a network namespace through `pgchaos agent nsexec`.
func (e *Executor) iptables(ctx context.Context, ns string, args ...string) (string, error) {
	self := e.Self
	if self == "" {
		var err error
		if self, err = os.Executable(); err != nil {
			return "", fmt.Errorf("finding the pgchaos executable: %w", err)
		}
	}
	argv := append([]string{"agent", "nsexec", "--net", ns, "--", "iptables", "-w", "5"}, args...)
	out, err := exec.CommandContext(ctx, self, argv...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("iptables %s in %s: %w: %s", strings.Join(args, " "), ns, err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// partitionRules are the iptables commands that build an action's chains
// (without creating them or hooking them in).
func partitionRules(a Action) [][]string {
	in, out, fwd := chains(a.ID)
	var rules [][]string
	add := func(r ...string) { rules = append(rules, r) }
	if a.Iface == "" {
		add("-A", in, "-i", "lo", "-j", "RETURN")
		add("-A", out, "-o", "lo", "-j", "RETURN")
	}
	for _, x := range a.Except {
		add("-A", in, "-s", x, "-j", "RETURN")
		add("-A", out, "-d", x, "-j", "RETURN")
		if a.Iface != "" {
			add("-A", fwd, "-s", x, "-j", "RETURN")
			add("-A", fwd, "-d", x, "-j", "RETURN")
		}
	}
	peers := a.Peers
	if len(peers) == 0 {
		peers = []string{""}
	}
	ports := a.Ports
	if len(ports) == 0 {
		ports = []int{0}
	}
	for _, p := range peers {
		for _, port := range ports {
			rin := []string{"-A", in}
			rout := []string{"-A", out}
			if a.Iface != "" {
				rin = append(rin, "-i", a.Iface)
				rout = append(rout, "-o", a.Iface)
			}
			if p != "" {
				rin = append(rin, "-s", p)
				rout = append(rout, "-d", p)
			}
			if port != 0 {
				ps := strconv.Itoa(port)
				rin = append(rin, "-p", "tcp", "--dport", ps)
				rout = append(rout, "-p", "tcp", "--sport", ps)
			}
			add(append(rin, "-j", "DROP")...)
			add(append(rout, "-j", "DROP")...)
			if a.Iface != "" && port == 0 {
				f1 := []string{"-A", fwd, "-i", a.Iface}
				f2 := []string{"-A", fwd, "-o", a.Iface}
				if p != "" {
					f1 = append(f1, "-s", p)
					f2 = append(f2, "-d", p)
				}
				add(append(f1, "-j", "DROP")...)
				add(append(f2, "-j", "DROP")...)
			}
		}
	}
	return rules
}

// partition creates the chains, fills them, then hooks them in first.
func (e *Executor) partition(ctx context.Context, a Action) error {
	ns, ok, err := e.netns(ctx, a)
	if err != nil {
		return fmt.Errorf("partition %s: %w", a.Describe(), err)
	}
	if !ok {
		return fmt.Errorf("partition %s: target not found (no process of pod uid %q / container %q)", a.ID, a.PodUID, a.Container)
	}
	in, out, fwd := chains(a.ID)
	hooks := [][2]string{{"INPUT", in}, {"OUTPUT", out}}
	if a.Iface != "" {
		hooks = append(hooks, [2]string{"FORWARD", fwd})
	}
	for _, h := range hooks {
		if _, err := e.iptables(ctx, ns, "-N", h[1]); err != nil {
			return err
		}
	}
	for _, r := range partitionRules(a) {
		if _, err := e.iptables(ctx, ns, r...); err != nil {
			return err
		}
	}
	for _, h := range hooks {
		if _, err := e.iptables(ctx, ns, "-I", h[0], "1", "-j", h[1]); err != nil {
			return err
		}
	}
	return nil
}

// unpartition unhooks and deletes the chains; chains already gone are fine.
func (e *Executor) unpartition(ctx context.Context, a Action) error {
	ns, ok, err := e.netns(ctx, a)
	if err != nil {
		return err
	}
	if !ok {
		return nil // the namespace went with its pod or container
	}
	in, out, fwd := chains(a.ID)
	for _, h := range [][2]string{{"INPUT", in}, {"OUTPUT", out}, {"FORWARD", fwd}} {
		if _, err := e.iptables(ctx, ns, "-S", h[1]); err != nil {
			continue // no such chain
		}
		for i := 0; i < 16; i++ { // every jump to it (bounded)
			if _, err := e.iptables(ctx, ns, "-D", h[0], "-j", h[1]); err != nil {
				break
			}
		}
		if _, err := e.iptables(ctx, ns, "-F", h[1]); err != nil {
			return err
		}
		if _, err := e.iptables(ctx, ns, "-X", h[1]); err != nil {
			return err
		}
	}
	return nil
}
