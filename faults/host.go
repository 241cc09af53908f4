package faults

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/pgchaos/pgchaos/faults/agent"
)

// HostStateDir is where the harness's host keeps the actions it applied to
// kind node containers (the watchdog reverts them on their deadlines).
const HostStateDir = "/var/lib/pgchaos/host-actions"

// Host applies actions to the node containers of a local kind cluster from
// this machine, with the same dead man's switch as the node agent: a
// detached `pgchaos agent watchdog` reverts every action whose deadline
// passes, even if the harness was killed.
type Host struct {
	// Kind is the kind cluster's name (its nodes are docker containers of
	// the same names).
	Kind string
	// Exec applies and reverts; its Store is the state directory.
	Exec *agent.Executor
}

// NewHost returns the host executor for a kind cluster; self is the pgchaos
// binary (for `agent nsexec` and the watchdog).
func NewHost(kind, self string) *Host {
	return &Host{Kind: kind, Exec: &agent.Executor{Store: agent.Store{Dir: HostStateDir}, Self: self}}
}

// apply applies an action and makes sure a watchdog runs.
func (h *Host) apply(ctx context.Context, a agent.Action) (Recover, error) {
	rec := func(ctx context.Context) error {
		err := h.Exec.Revert(ctx, a.ID)
		if errors.Is(err, agent.ErrNotFound) {
			return nil
		}
		return err
	}
	if err := h.ensureWatchdog(); err != nil {
		return rec, err
	}
	if _, err := h.Exec.Apply(ctx, a); err != nil {
		return rec, err
	}
	return rec, nil
}

// ensureWatchdog starts `pgchaos agent watchdog` detached (its own session,
// so a Ctrl-C of the harness does not reach it) unless one runs already.
func (h *Host) ensureWatchdog() error {
	dir := h.Exec.Store.Dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	pidFile := filepath.Join(dir, ".watchdog.pid")
	if data, err := os.ReadFile(pidFile); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && watchdogAlive(pid, h.Exec.Self) {
			return nil
		}
	}
	if h.Exec.Self == "" {
		return errors.New("host faults need the pgchaos binary for their watchdog")
	}
	logf, err := os.OpenFile(filepath.Join(dir, "watchdog.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("watchdog log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(h.Exec.Self, "agent", "watchdog", "--state", dir, "--idle", "30s")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the host watchdog: %w", err)
	}
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()
	return os.WriteFile(pidFile, []byte(strconv.Itoa(pid)), 0o600)
}

// watchdogAlive: pid runs and is a pgchaos agent watchdog.
func watchdogAlive(pid int, self string) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	return strings.Contains(string(data), "watchdog")
}

// nodeAction stops, kills or freezes the node containers hit.
type nodeAction struct {
	action agent.Kind
}

func (nodeAction) scope() Scope { return ScopeNode }

func (m nodeAction) kind() string {
	return "docker " + strings.TrimPrefix(string(m.action), "node-") + " of the kind node"
}
func (m nodeAction) needs() Needs { return Needs{Kind: true} }
func (m nodeAction) available(ctx context.Context, env Env) error {
	if env.Host == nil {
		return errors.New("needs a local kind cluster (docker-level node faults)")
	}
	return nil
}

func (m nodeAction) describe(h Hit) string {
	verb := map[agent.Kind]string{agent.NodeStop: "docker stop", agent.NodeKill: "docker kill", agent.NodePause: "docker pause"}[m.action]
	return verb + " node " + describeNodes(h) + " (start/unpause on recovery)"
}

func (m nodeAction) inject(ctx context.Context, env Env, h Hit) (Recover, error) {
	var recs []Recover
	for _, n := range h.Nodes {
		r, err := env.Host.apply(ctx, agent.Action{ID: actionID(env, string(m.action), n), RunID: env.RunID,
			Kind: m.action, Container: n, Deadline: env.deadline()})
		recs = append(recs, r)
		if err != nil {
			return both(recs...), err
		}
	}
	return both(recs...), nil
}

// nodeIsolate cuts the node containers hit from the cluster network (their
// eth0, forwarded pod traffic included); the node's own pods still talk to it.
type nodeIsolate struct{}

func (nodeIsolate) scope() Scope { return ScopeNode }

func (nodeIsolate) kind() string { return "iptables in the kind node's network namespace" }
func (nodeIsolate) needs() Needs { return Needs{Kind: true} }
func (nodeIsolate) available(ctx context.Context, env Env) error {
	return nodeAction{}.available(ctx, env)
}
func (nodeIsolate) describe(h Hit) string {
	return "cut node " + describeNodes(h) + " from the cluster network (all traffic on its eth0)"
}

func (nodeIsolate) inject(ctx context.Context, env Env, h Hit) (Recover, error) {
	var recs []Recover
	for _, n := range h.Nodes {
		r, err := env.Host.apply(ctx, agent.Action{ID: actionID(env, "node-cut", n), RunID: env.RunID,
			Kind: agent.Partition, Container: n, Iface: "eth0", Deadline: env.deadline()})
		recs = append(recs, r)
		if err != nil {
			return both(recs...), err
		}
	}
	return both(recs...), nil
}
