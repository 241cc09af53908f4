package faults

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pgchaos/pgchaos/faults/agent"
	"github.com/pgchaos/pgchaos/faults/chaosmesh"
	"github.com/pgchaos/pgchaos/faults/iofs"
	"github.com/pgchaos/pgchaos/faults/iofsclass"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/operators"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// area is the part of an instance's storage a storage fault hits.
type area int

const (
	// walArea is pg_wal (followed if it is a link to another volume).
	walArea area = iota
	// dataArea is base/: the tables' files, not the WAL.
	dataArea
)

// areaScript prints the directory of an area as the PostgreSQL container
// sees it, links resolved (pg_wal may be a link to another volume).
func areaScript(a area, l operators.Layout) string {
	sub := "base"
	if a == walArea {
		sub = "pg_wal"
	}
	return "readlink -f " + shQuote(l.DataDir+"/"+sub)
}

// shQuote quotes s for sh.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'" }

func (a area) String() string {
	if a == walArea {
		return "WAL (pg_wal)"
	}
	return "data files (base)"
}

// storageFault sets a storage fault on each instance hit: its spec, aimed
// at the area's directory, on the node's pgchaos-iofs filesystem, through
// the node agent, with the action's deadline as the filesystem's own dead
// man's switch. The cluster's volumes must be on the pgchaos-iofs class.
type storageFault struct {
	area area
	// spec is the fault; its prefixes are set by inject.
	spec iofs.Spec
	// checkpoint: ask the primary for a CHECKPOINT once the fault is set.
	// PostgreSQL writes table files at checkpoints (and when it evicts
	// dirty buffers): without one, a short fault on them may delay nothing.
	checkpoint bool
}

func (storageFault) scope() Scope { return ScopeCluster }

func (m storageFault) kind() string {
	return "FUSE passthrough of the pgchaos-iofs storage class, set through the node agent, or a Chaos Mesh IOChaos"
}
func (m storageFault) needs() Needs { return Needs{Agent: true, Storage: true} }

func (m storageFault) available(ctx context.Context, env Env) error {
	if env.ChaosMesh != nil {
		return nil // IOChaos acts on any volume
	}
	if env.Agent == nil {
		return errors.New("needs the pgchaos node agent (pgchaos run installs it)")
	}
	if env.Kube == nil || env.Cluster == nil {
		return errors.New("needs the Kubernetes API")
	}
	if env.Listing {
		return nil // a run puts its cluster's volumes on pgchaos-iofs by itself
	}
	ins, err := env.Cluster.Instances(ctx)
	if err != nil {
		return fmt.Errorf("listing instances of %s: %w", env.Cluster.Ref(), err)
	}
	classes, err := volumeClasses(ctx, env, ins)
	if err != nil {
		return err
	}
	return onIOFS(classes)
}

// onIOFS says why volumes on these classes (claim -> class) cannot take a
// storage fault: every claim must be on the pgchaos-iofs class.
func onIOFS(classes map[string]string) error {
	if len(classes) == 0 {
		return errors.New("the cluster's instances have no persistent volume claims")
	}
	var off []string
	for claim, class := range classes {
		if class != iofsclass.ClassName {
			off = append(off, fmt.Sprintf("%s on %q", claim, class))
		}
	}
	if len(off) > 0 {
		sort.Strings(off)
		return fmt.Errorf("the cluster's volumes are not on storage class %s (run with --storage-class %s): %s",
			iofsclass.ClassName, iofsclass.ClassName, strings.Join(off, ", "))
	}
	return nil
}

// volumeClasses maps each claim of the instances' pods to its storage class
// (the bound volume's, else the claim's own request).
func volumeClasses(ctx context.Context, env Env, ins []operators.Instance) (map[string]string, error) {
	ns := env.Cluster.Ref().Namespace
	out := map[string]string{}
	for _, in := range ins {
		p, err := env.Kube.CS.CoreV1().Pods(ns).Get(ctx, in.Pod, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("reading pod %s/%s: %w", ns, in.Pod, err)
		}
		for _, v := range p.Spec.Volumes {
			if v.PersistentVolumeClaim == nil {
				continue
			}
			name := v.PersistentVolumeClaim.ClaimName
			pvc, err := env.Kube.CS.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("reading claim %s/%s: %w", ns, name, err)
			}
			class := ""
			if pvc.Spec.StorageClassName != nil {
				class = *pvc.Spec.StorageClassName
			}
			out[name] = class
		}
	}
	return out, nil
}

func (m storageFault) describe(h Hit) string {
	var what []string
	if m.spec.WriteDelay > 0 {
		what = append(what, "write +"+m.spec.WriteDelay.String())
	}
	if m.spec.FsyncDelay > 0 {
		what = append(what, "fsync +"+m.spec.FsyncDelay.String())
	}
	if m.spec.ENOSPC {
		what = append(what, "ENOSPC")
	}
	d := strings.Join(what, ", ") + " on the " + m.area.String() + " of " + h.Name() + " (pgchaos-iofs; cleared by itself at the deadline)"
	if m.checkpoint {
		d += ", with a CHECKPOINT asked for as it starts"
	}
	return d
}

// aim sets the spec's prefixes to prefix.
func (m storageFault) aim(prefix string) iofs.Spec {
	s := m.spec
	if s.WriteDelay > 0 || s.FsyncDelay > 0 {
		s.DelayPrefix = prefix
	}
	if s.ENOSPC {
		s.ENOSPCPrefix = prefix
	}
	return s
}

func (m storageFault) inject(ctx context.Context, env Env, h Hit) (Recover, error) {
	var chaos []chaosmesh.Request
	var actions []agent.Action
	var nodes []string
	ns := env.Cluster.Ref().Namespace
	for _, in := range h.Instances {
		out, stderr, err := env.Kube.Exec(ctx, ns, in.Pod, in.Container, []string{"sh", "-c", areaScript(m.area, in.Layout)})
		if err != nil {
			return noRecover, fmt.Errorf("finding the %s directory of %s: %s: %w", m.area, in.Pod, strings.TrimSpace(stderr), err)
		}
		dir := strings.TrimSpace(out)
		if env.ChaosMesh != nil {
			chaos = append(chaos, ioRequests(env, in, dir, m.spec)...)
			continue
		}
		p, err := env.Kube.CS.CoreV1().Pods(ns).Get(ctx, in.Pod, metav1.GetOptions{})
		if err != nil {
			return noRecover, fmt.Errorf("reading pod %s/%s: %w", ns, in.Pod, err)
		}
		vol, err := iofsclass.Locate(p, in.Container, dir, func(claim string) (*corev1.PersistentVolume, error) {
			pvc, err := env.Kube.CS.CoreV1().PersistentVolumeClaims(ns).Get(ctx, claim, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("reading claim %s/%s: %w", ns, claim, err)
			}
			if pvc.Spec.VolumeName == "" {
				return nil, fmt.Errorf("claim %s/%s is not bound", ns, claim)
			}
			pv, err := env.Kube.CS.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("reading volume %s: %w", pvc.Spec.VolumeName, err)
			}
			return pv, nil
		})
		if err != nil {
			return noRecover, err
		}
		a, err := podAction(ctx, env, "io", agent.IOFS, in)
		if err != nil {
			return noRecover, err
		}
		spec := m.aim(vol.Prefix)
		a.Storage = &spec
		actions = append(actions, a)
		nodes = append(nodes, in.Node)
	}
	if env.ChaosMesh != nil {
		r, err := applyChaosMesh(ctx, env, chaos)
		if err == nil && m.checkpoint {
			r = both(checkpointDuring(ctx, env, h.Main()), r) // cleared first, then waited for
		}
		return r, err
	}
	before := storageCounts(ctx, env, nodes)
	rec, err := applyOnAgents(ctx, env, actions, nodes)
	if err != nil {
		return rec, err
	}
	if m.checkpoint {
		rec = both(checkpointDuring(ctx, env, h.Main()), rec) // cleared first, then waited for
	}
	// What the filesystems did, read before the fault is cleared (both
	// runs the last first), once.
	var once sync.Once
	return both(rec, func(ctx context.Context) error {
		once.Do(func() {
			after := storageCounts(ctx, env, nodes)
			for i, in := range h.Instances {
				env.note(history.EventFaultEffect, storageEffect(in.Name, nodes[i], before[i], after[i]))
			}
		})
		return nil
	}), nil
}

// storageCounts reads what each node's filesystem did so far (nil where it
// could not be read).
func storageCounts(ctx context.Context, env Env, nodes []string) []*iofs.Counts {
	out := make([]*iofs.Counts, len(nodes))
	for i, n := range nodes {
		if st, err := env.Agent.StorageState(ctx, n); err == nil {
			out[i] = &st.Counts
		}
	}
	return out
}

// storageEffect says what a node's filesystem did between two readings.
func storageEffect(instance, node string, before, after *iofs.Counts) string {
	where := fmt.Sprintf("pgchaos-iofs on %s (%s)", node, instance)
	if before == nil || after == nil {
		return where + ": the filesystem's counts could not be read"
	}
	return fmt.Sprintf("%s: %d writes and %d fsyncs delayed, %d operations failed with ENOSPC during the fault",
		where, after.DelayedWrites-before.DelayedWrites, after.DelayedFsyncs-before.DelayedFsyncs, after.ENOSPC-before.ENOSPC)
}

// checkpointTimeout bounds the CHECKPOINT a storage fault asks for: slow
// table files make it slow, and the fault's recovery waits for it.
const checkpointTimeout = 2 * time.Minute

// checkpointDuring asks in's PostgreSQL for a CHECKPOINT in the background
// and returns a Recover that waits for it (after the fault is cleared it
// ends quickly) and notes how long it took.
func checkpointDuring(ctx context.Context, env Env, in operators.Instance) Recover {
	start := time.Now()
	done := make(chan string, 1)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkpointTimeout)
	go func() {
		defer cancel()
		_, err := env.query(cctx, in, "CHECKPOINT", checkpointTimeout)
		if err != nil {
			done <- fmt.Sprintf("CHECKPOINT on %s during the fault failed after %.1fs: %v", in.Name, time.Since(start).Seconds(), err)
			return
		}
		done <- fmt.Sprintf("CHECKPOINT on %s asked for at the fault's start took %.1fs", in.Name, time.Since(start).Seconds())
	}()
	var once sync.Once
	return func(ctx context.Context) error {
		once.Do(func() {
			select {
			case d := <-done:
				env.note(history.EventFaultEffect, d)
			case <-ctx.Done():
				env.note(history.EventFaultEffect, fmt.Sprintf("CHECKPOINT on %s asked for at the fault's start still running after %.1fs", in.Name, time.Since(start).Seconds()))
			}
		})
		return nil
	}
}

// Storage faults: their size, in one place.
const (
	// walFsyncDelay is added to every fsync of the primary's WAL.
	walFsyncDelay = 50 * time.Millisecond
	// dataWriteDelay and dataFsyncDelay slow the primary's table files.
	dataWriteDelay = 10 * time.Millisecond
	dataFsyncDelay = 100 * time.Millisecond
)
