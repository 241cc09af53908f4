package clusters

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// ErrBadInput marks errors caused by the caller's input (a name already in use, a
// kubeconfig or context that does not exist, Docker absent): exit code 2.
var ErrBadInput = errors.New("bad input")

// Provider is a Kubernetes cluster pgchaos can run against.
type Provider interface {
	// Name identifies the cluster (kind cluster name or kubeconfig context).
	Name() string
	// KubeConfig returns the path of a kubeconfig file whose current context is the cluster.
	KubeConfig(ctx context.Context) (string, error)
	// Status reports the cluster's nodes and their readiness.
	Status(ctx context.Context) (Status, error)
}

// Lifecycle is a Provider that can create and delete its cluster.
type Lifecycle interface {
	Provider
	// Create creates the cluster and waits until every node is Ready.
	Create(ctx context.Context) error
	// Delete deletes the cluster and everything it left on the host.
	Delete(ctx context.Context) error
}

// LogCollector is a Provider that can collect node logs into a directory.
type LogCollector interface {
	// CollectLogs writes the cluster's logs under dir.
	CollectLogs(ctx context.Context, dir string) error
}

// Status is a snapshot of a cluster.
type Status struct {
	// Exists is false when the cluster does not exist (kind) or cannot be reached.
	Exists bool
	// Nodes lists the nodes with their roles and readiness.
	Nodes []NodeStatus
}

// NodeStatus is one node of a Status.
type NodeStatus struct {
	Name  string
	Role  string
	Ready bool
	// Reason explains a node that is not Ready ("condition Ready=False: ...").
	Reason string
}

// Ready reports whether the cluster exists and every node is Ready.
func (s Status) Ready() bool {
	if !s.Exists || len(s.Nodes) == 0 {
		return false
	}
	for _, n := range s.Nodes {
		if !n.Ready {
			return false
		}
	}
	return true
}

// nodeStatuses lists the nodes of the cluster a kubeconfig points at.
func nodeStatuses(ctx context.Context, kubeconfig, kubeContext string) ([]NodeStatus, error) {
	cs, err := clientset(kubeconfig, kubeContext)
	if err != nil {
		return nil, err
	}
	list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing nodes via %s: %w", kubeconfig, err)
	}
	out := make([]NodeStatus, 0, len(list.Items))
	for _, n := range list.Items {
		ns := NodeStatus{Name: n.Name, Role: "worker", Reason: "condition Ready missing"}
		if _, ok := n.Labels["node-role.kubernetes.io/control-plane"]; ok {
			ns.Role = "control-plane"
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				ns.Ready = c.Status == corev1.ConditionTrue
				ns.Reason = ""
				if !ns.Ready {
					ns.Reason = fmt.Sprintf("condition Ready=%s: %s %s", c.Status, c.Reason, c.Message)
				}
			}
		}
		out = append(out, ns)
	}
	return out, nil
}

// clientset builds a client for a kubeconfig file and optional context.
func clientset(kubeconfig, kubeContext string) (*kubernetes.Clientset, error) {
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig %s: %w", kubeconfig, err)
	}
	cfg.Timeout = 15 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", kubeconfig, err)
	}
	return cs, nil
}

// waitReady polls until want nodes are Ready and every Deployment and DaemonSet
// (CoreDNS, the pod network, the storage provisioner) is available, or ctx ends;
// the error then names what is not ready (a node and its condition, or a workload).
func waitReady(ctx context.Context, kubeconfig string, want int, poll time.Duration) error {
	var notReady string
	for {
		var err error
		notReady, err = clusterNotReady(ctx, kubeconfig, want)
		if err == nil && notReady == "" {
			return nil
		}
		if err != nil {
			notReady = err.Error()
		}
		select {
		case <-ctx.Done():
			// One last look with a fresh deadline, so the error names what is not ready.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if last, err := clusterNotReady(fctx, kubeconfig, want); err == nil && last != "" {
				notReady = last
			}
			return fmt.Errorf("%s: %w", notReady, ctx.Err())
		case <-time.After(poll):
		}
	}
}

// clusterNotReady returns "" when the cluster is ready, else what is not.
func clusterNotReady(ctx context.Context, kubeconfig string, want int) (string, error) {
	nodes, err := nodeStatuses(ctx, kubeconfig, "")
	if err != nil {
		return "", err
	}
	ready := 0
	for _, n := range nodes {
		if n.Ready {
			ready++
		} else {
			return fmt.Sprintf("node %s not Ready (%s)", n.Name, n.Reason), nil
		}
	}
	if ready < want {
		return fmt.Sprintf("%d of %d nodes registered", len(nodes), want), nil
	}
	cs, err := clientset(kubeconfig, "")
	if err != nil {
		return "", err
	}
	deps, err := cs.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("listing deployments via %s: %w", kubeconfig, err)
	}
	for _, d := range deps.Items {
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		if d.Status.AvailableReplicas < want {
			return fmt.Sprintf("deployment %s/%s: %d of %d replicas available", d.Namespace, d.Name, d.Status.AvailableReplicas, want), nil
		}
	}
	dss, err := cs.AppsV1().DaemonSets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("listing daemonsets via %s: %w", kubeconfig, err)
	}
	for _, d := range dss.Items {
		if d.Status.DesiredNumberScheduled == 0 || d.Status.NumberReady < d.Status.DesiredNumberScheduled {
			return fmt.Sprintf("daemonset %s/%s: %d of %d pods ready", d.Namespace, d.Name, d.Status.NumberReady, d.Status.DesiredNumberScheduled), nil
		}
	}
	return "", nil
}
