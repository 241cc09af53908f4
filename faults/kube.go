package faults

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pgchaos/pgchaos/faults/chaosmesh"
	"github.com/pgchaos/pgchaos/operators"
)

// podDelete deletes the pods of every instance hit, at once.
type podDelete struct {
	// grace is the grace period in seconds; -1 keeps the pod's own (a
	// graceful restart: same identity, new IP).
	grace int64
}

func (podDelete) scope() Scope { return ScopeCluster }

func (m podDelete) kind() string {
	if m.grace == 0 {
		return "pod delete (Kubernetes API), or a Chaos Mesh PodChaos pod-kill"
	}
	return "pod delete (Kubernetes API)"
}
func (m podDelete) needs() Needs { return Needs{} }
func (m podDelete) available(ctx context.Context, env Env) error {
	if env.Kube == nil {
		return errors.New("needs the Kubernetes API")
	}
	return nil
}

func (m podDelete) describe(h Hit) string {
	var pods []string
	for _, in := range h.Instances {
		pods = append(pods, in.Pod+" on "+in.Node)
	}
	g := "the pod's own grace period"
	if m.grace >= 0 {
		g = "grace " + strconv.FormatInt(m.grace, 10) + "s"
	}
	return "delete pod " + strings.Join(pods, " and ") + " (" + g + ")"
}

// inject deletes the pods concurrently (a correlated loss is simultaneous);
// the operator recreates them, so there is nothing to recover.
func (m podDelete) inject(ctx context.Context, env Env, h Hit) (Recover, error) {
	if env.ChaosMesh != nil && m.grace == 0 {
		var reqs []chaosmesh.Request
		for _, in := range h.Instances {
			reqs = append(reqs, podKillRequest(env, in))
		}
		return applyChaosMesh(ctx, env, reqs)
	}
	ns := env.Cluster.Ref().Namespace
	errs := make([]error, len(h.Instances))
	var wg sync.WaitGroup
	for i, in := range h.Instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = env.Kube.DeletePod(ctx, ns, in.Pod, m.grace)
		}()
	}
	wg.Wait()
	return noRecover, errors.Join(errs...)
}

// postmasterKill SIGKILLs the postmaster inside the target's container: a
// crash of PostgreSQL without the pod going away.
type postmasterKill struct{}

// killScript kills the postmaster named in postmaster.pid of the
// instance's data directory and waits up to 3 s for it to be gone (or a
// zombie). It prints "killed PID" once the signal is sent (the exec may
// then end with the container, when the postmaster's death ends it). It
// exits 4 when the postmaster is PID 1 of the container (the kernel ignores
// SIGKILL sent to a PID namespace's init from inside it: the crash would
// not happen) and 5 when it survived.
func killScript(l operators.Layout) string {
	return `pid="$(head -n 1 ` + shQuote(l.DataDir+"/postmaster.pid") + `)" || exit 3
[ "$pid" = 1 ] && { echo "the postmaster is PID 1 of its container: SIGKILL from inside is ignored" >&2; exit 4; }
kill -KILL "$pid" || exit 3
echo "killed $pid"
i=0
while [ -d "/proc/$pid" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$pid/stat" 2>/dev/null; do
	i=$((i + 1)); [ "$i" -gt 30 ] && { echo "the postmaster $pid survived SIGKILL" >&2; exit 5; }
	sleep 0.1
done`
}

func (postmasterKill) scope() Scope { return ScopeCluster }

func (postmasterKill) kind() string                                 { return "SIGKILL by pod exec" }
func (postmasterKill) needs() Needs                                 { return Needs{} }
func (postmasterKill) available(ctx context.Context, env Env) error { return needExec(ctx, env) }
func (postmasterKill) describe(h Hit) string {
	return "SIGKILL the postmaster in " + h.Main().Pod + "/" + h.Main().Container
}

func (postmasterKill) inject(ctx context.Context, env Env, h Hit) (Recover, error) {
	t := h.Main()
	out, stderr, err := env.Kube.Exec(ctx, env.Cluster.Ref().Namespace, t.Pod, t.Container, []string{"sh", "-c", killScript(t.Layout)})
	if err != nil && !(strings.Contains(out, "killed ") && stderr == "") {
		// Sent, and the container ended with its postmaster: done. Otherwise
		// the postmaster was not killed, or said why not.
		return noRecover, fmt.Errorf("killing the postmaster of %s: %s: %w", t.Pod, strings.TrimSpace(stderr), err)
	}
	return noRecover, nil
}

// switchover asks the operator to move the primary role to the hit replica.
type switchover struct{}

func (switchover) scope() Scope { return ScopeCluster }

func (switchover) kind() string { return "the operator's switchover" }
func (switchover) needs() Needs { return Needs{} }
func (switchover) available(ctx context.Context, env Env) error {
	if _, ok := env.Cluster.(operators.Switchover); !ok {
		return fmt.Errorf("the adapter of %s cannot ask its operator for a switchover", env.Cluster.Ref())
	}
	return nil
}
func (switchover) describe(h Hit) string {
	return "switchover to " + h.Main().Name + " through the operator"
}
func (switchover) inject(ctx context.Context, env Env, h Hit) (Recover, error) {
	s, ok := env.Cluster.(operators.Switchover)
	if !ok {
		return noRecover, fmt.Errorf("the adapter of %s has no switchover", env.Cluster.Ref())
	}
	return noRecover, s.Switchover(ctx, h.Main().Name)
}

// laggingDelete freezes the primary's WAL senders (SIGSTOP) for lag, so the
// writes acknowledged meanwhile exist only on the primary, then deletes the
// primary's pod with grace 0. Under asynchronous replication those writes
// are lost by design (a weakened configuration made visible); under
// synchronous replication no commit is acknowledged while the senders are
// frozen, so none may be lost.
type laggingDelete struct {
	lag time.Duration
}

// freezeScript stops (or continues, with CONT) every WAL sender of the
// instance; it fails when there is none.
const freezeScript = `pids="$(pgrep -f '^postgres: .*walsender')" && [ -n "$pids" ] && kill -%s $pids && echo $pids`

func (laggingDelete) scope() Scope { return ScopeCluster }

func (laggingDelete) kind() string                                 { return "SIGSTOP by pod exec, then pod delete" }
func (laggingDelete) needs() Needs                                 { return Needs{} }
func (laggingDelete) available(ctx context.Context, env Env) error { return needExec(ctx, env) }
func (m laggingDelete) describe(h Hit) string {
	t := h.Main()
	return fmt.Sprintf("SIGSTOP the WAL senders of %s for %s, then delete pod %s (grace 0s)", t.Pod, m.lag, t.Pod)
}

func (m laggingDelete) inject(ctx context.Context, env Env, h Hit) (Recover, error) {
	t := h.Main()
	ns := env.Cluster.Ref().Namespace
	thaw := func(ctx context.Context) error {
		// The pod is normally gone by now; a thaw that finds nothing is fine.
		_, _, _ = env.Kube.Exec(ctx, ns, t.Pod, t.Container, []string{"sh", "-c", fmt.Sprintf(freezeScript, "CONT")})
		return nil
	}
	if _, _, err := env.Kube.Exec(ctx, ns, t.Pod, t.Container, []string{"sh", "-c", fmt.Sprintf(freezeScript, "STOP")}); err != nil {
		return thaw, fmt.Errorf("freezing the WAL senders of %s: %w", t.Pod, err)
	}
	select {
	case <-ctx.Done():
		return thaw, ctx.Err()
	case <-time.After(m.lag):
	}
	if _, err := env.Kube.DeletePod(ctx, ns, t.Pod, 0); err != nil {
		return thaw, err
	}
	return thaw, nil
}
