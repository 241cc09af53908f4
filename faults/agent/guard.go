package agent

import (
	"context"
	"fmt"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// GuardEnv, set in the agent's container to a label key, makes every
// `pgchaos agent apply` of that agent check its action with a Guard on that
// label before anything happens. Install sets it on clusters pgchaos did not
// create.
const GuardEnv = "PGCHAOS_AGENT_GUARD"

// Guard is the agent's own check that an action stays where chaos is
// allowed: a pod action (partition, freeze, storage) only on a pod, named in
// the action and of the action's uid, of a namespace labelled Label=true;
// a storage action only on that namespace's volumes; a node action only on
// a node labelled Label=true. It asks the API server with the agent's
// service account, which may read pods, namespaces and nodes.
type Guard struct {
	CS    kubernetes.Interface
	Label string
}

// Check refuses a with the reason in one line, or returns nil.
func (g Guard) Check(ctx context.Context, a Action) error {
	if a.PodUID == "" {
		if a.Container == "" {
			return fmt.Errorf("refused %s: it names neither a pod nor a node", a.ID)
		}
		n, err := g.CS.CoreV1().Nodes().Get(ctx, a.Container, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("refused %s on node %s: reading the node: %w", a.ID, a.Container, err)
		}
		if n.Labels[g.Label] != "true" {
			return fmt.Errorf("refused %s: node %s is not labelled %s=true", a.ID, a.Container, g.Label)
		}
		return nil
	}
	ns, name, ok := strings.Cut(a.Pod, "/")
	if !ok || ns == "" || name == "" {
		return fmt.Errorf("refused %s: pod %q is not namespace/name (the guard checks the pod's namespace)", a.ID, a.Pod)
	}
	p, err := g.CS.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("refused %s on pod %s: reading the pod: %w", a.ID, a.Pod, err)
	}
	if string(p.UID) != a.PodUID {
		return fmt.Errorf("refused %s: pod %s has uid %s, the action names uid %s", a.ID, a.Pod, p.UID, a.PodUID)
	}
	if err := g.namespaceAllowed(ctx, a.ID, ns); err != nil {
		return err
	}
	if a.Kind == IOFS && a.Storage != nil {
		for _, pre := range []string{a.Storage.DelayPrefix, a.Storage.ENOSPCPrefix} {
			if pre == "" {
				continue
			}
			if got := volumeNamespace(pre); got != ns {
				return fmt.Errorf("refused %s: storage prefix %s is not a volume of namespace %s (its directory names namespace %q)", a.ID, pre, ns, got)
			}
		}
	}
	return nil
}

func (g Guard) namespaceAllowed(ctx context.Context, id, ns string) error {
	n, err := g.CS.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("refused %s in namespace %s: reading the namespace: %w", id, ns, err)
	}
	if !labelled(n, g.Label) {
		return fmt.Errorf("refused %s: namespace %s is not labelled %s=true (the agent acts only on pods of namespaces so labelled)", id, ns, g.Label)
	}
	return nil
}

func labelled(n *corev1.Namespace, label string) bool { return n.Labels[label] == "true" }

// volumeNamespace reads the namespace from a storage prefix's first
// directory, which the local-path provisioner names
// <volume>_<namespace>_<claim> (none of the three may contain "_");
// "" when the directory is not so named.
func volumeNamespace(prefix string) string {
	first, _, _ := strings.Cut(strings.TrimPrefix(path.Clean(prefix), "/"), "/")
	parts := strings.Split(first, "_")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return ""
	}
	return parts[1]
}
