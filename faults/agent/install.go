package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/faults/iofs"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Names of the agent's objects.
const (
	Namespace = "pgchaos-system"
	Name      = "pgchaos-agent"
	// StateDir is the agent's state directory on each node (a hostPath):
	// it survives a restart of the agent's pod.
	StateDir = "/var/lib/pgchaos-agent"
	appLabel = "app.kubernetes.io/name"
)

// DaemonSet is the node agent: privileged, in the host's pid and network
// namespaces (so a partition of a pod never cuts the agent off), on every
// node whatever its taints, labelled with the run id, with its own service
// account. A non-empty guard is the label (operators.AllowChaosLabel) its
// Guard checks before every action: set on clusters pgchaos did not create.
func DaemonSet(image, runID, guard string) *appsv1.DaemonSet {
	labels := map[string]string{appLabel: Name, operators.RunIDLabel: runID}
	var env []corev1.EnvVar
	if guard != "" {
		env = []corev1.EnvVar{{Name: GuardEnv, Value: guard}}
	}
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: Name, Namespace: Namespace, Labels: labels},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{appLabel: Name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName: Name,
					HostPID:            true,
					HostNetwork:        true,
					DNSPolicy:          corev1.DNSClusterFirstWithHostNet,
					Tolerations:        []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
					// Time to revert every fault on the way out.
					TerminationGracePeriodSeconds: ptr.To[int64](60),
					Containers: []corev1.Container{{
						Name:            "agent",
						Image:           image,
						ImagePullPolicy: corev1.PullIfNotPresent,
						Command:         []string{"/usr/local/bin/pgchaos", "agent", "run", "--state", StateDir},
						Env:             env,
						SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)},
						VolumeMounts: []corev1.VolumeMount{{Name: "state", MountPath: StateDir},
							{Name: "iofs-run", MountPath: iofs.NodeRunDir}},
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{}},
					}},
					Volumes: []corev1.Volume{{Name: "state", VolumeSource: corev1.VolumeSource{
						HostPath: &corev1.HostPathVolumeSource{Path: StateDir, Type: ptr.To(corev1.HostPathDirectoryOrCreate)},
					}}, {Name: "iofs-run", VolumeSource: corev1.VolumeSource{
						// The control socket of the pgchaos-iofs filesystem (IOFS actions).
						HostPath: &corev1.HostPathVolumeSource{Path: iofs.NodeRunDir, Type: ptr.To(corev1.HostPathDirectoryOrCreate)},
					}}},
				},
			},
		},
	}
}

// Install creates (or replaces) the agent DaemonSet, its service account
// and what that account may read (pods, namespaces, nodes: the guard's
// questions), and waits until an agent runs on every schedulable node.
// guard is DaemonSet's.
func Install(ctx context.Context, kc *kube.Client, image, runID, guard string) error {
	if err := kc.EnsureNamespace(ctx, Namespace, map[string]string{operators.OperatorLabel: "pgchaos-agent"}); err != nil {
		return fmt.Errorf("installing the node agent: %w", err)
	}
	if err := installAccount(ctx, kc, runID); err != nil {
		return fmt.Errorf("installing the node agent: %w", err)
	}
	ds := DaemonSet(image, runID, guard)
	dsc := kc.CS.AppsV1().DaemonSets(Namespace)
	cur, err := dsc.Get(ctx, Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if _, err := dsc.Create(ctx, ds, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating daemonset %s/%s: %w", Namespace, Name, err)
		}
	case err != nil:
		return fmt.Errorf("reading daemonset %s/%s: %w", Namespace, Name, err)
	default:
		cur.Labels, cur.Spec.Template = ds.Labels, ds.Spec.Template
		if _, err := dsc.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("updating daemonset %s/%s: %w", Namespace, Name, err)
		}
	}
	return kube.Poll(ctx, time.Second, "node agent "+Namespace+"/"+Name+" running on every node", func(ctx context.Context) (bool, string, error) {
		d, err := dsc.Get(ctx, Name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		s := d.Status
		msg := fmt.Sprintf("%d of %d agents ready, %d updated", s.NumberReady, s.DesiredNumberScheduled, s.UpdatedNumberScheduled)
		return s.ObservedGeneration >= d.Generation && s.DesiredNumberScheduled > 0 &&
			s.NumberReady == s.DesiredNumberScheduled && s.UpdatedNumberScheduled == s.DesiredNumberScheduled, msg, nil
	})
}

// Uninstall deletes the agent DaemonSet (each agent reverts what it still
// holds as it stops) and waits until its pods are gone. Absent is fine.
func Uninstall(ctx context.Context, kc *kube.Client) error {
	err := kc.CS.AppsV1().DaemonSets(Namespace).Delete(ctx, Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting daemonset %s/%s: %w", Namespace, Name, err)
	}
	if err := kube.Poll(ctx, time.Second, "node agent pods gone", func(ctx context.Context) (bool, string, error) {
		l, err := kc.CS.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{LabelSelector: appLabel + "=" + Name})
		if err != nil {
			return false, err.Error(), nil
		}
		return len(l.Items) == 0, fmt.Sprintf("%d agent pods left", len(l.Items)), nil
	}); err != nil {
		return err
	}
	return uninstallAccount(ctx, kc)
}

// installAccount creates (or updates) the agent's ServiceAccount, a
// ClusterRole reading pods, namespaces and nodes, and its binding.
func installAccount(ctx context.Context, kc *kube.Client, runID string) error {
	labels := map[string]string{appLabel: Name, operators.RunIDLabel: runID}
	meta := metav1.ObjectMeta{Name: Name, Labels: labels}
	sa := &corev1.ServiceAccount{ObjectMeta: meta}
	sa.Namespace = Namespace
	if _, err := kc.CS.CoreV1().ServiceAccounts(Namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating serviceaccount %s/%s: %w", Namespace, Name, err)
	}
	role := &rbacv1.ClusterRole{ObjectMeta: meta, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods", "namespaces", "nodes"}, Verbs: []string{"get"}},
	}}
	rc := kc.CS.RbacV1().ClusterRoles()
	if _, err := rc.Create(ctx, role, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
		cur, gerr := rc.Get(ctx, Name, metav1.GetOptions{})
		if gerr != nil {
			return fmt.Errorf("reading clusterrole %s: %w", Name, gerr)
		}
		cur.Rules = role.Rules
		if _, err := rc.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("updating clusterrole %s: %w", Name, err)
		}
	} else if err != nil {
		return fmt.Errorf("creating clusterrole %s: %w", Name, err)
	}
	bind := &rbacv1.ClusterRoleBinding{ObjectMeta: meta,
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: Name},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: Name, Namespace: Namespace}}}
	if _, err := kc.CS.RbacV1().ClusterRoleBindings().Create(ctx, bind, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating clusterrolebinding %s: %w", Name, err)
	}
	return nil
}

// uninstallAccount deletes what installAccount created; absent is fine.
func uninstallAccount(ctx context.Context, kc *kube.Client) error {
	var errs []error
	if err := kc.CS.RbacV1().ClusterRoleBindings().Delete(ctx, Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("deleting clusterrolebinding %s: %w", Name, err))
	}
	if err := kc.CS.RbacV1().ClusterRoles().Delete(ctx, Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("deleting clusterrole %s: %w", Name, err))
	}
	if err := kc.CS.CoreV1().ServiceAccounts(Namespace).Delete(ctx, Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("deleting serviceaccount %s/%s: %w", Namespace, Name, err))
	}
	return errors.Join(errs...)
}

// Installed reports whether the agent DaemonSet exists, and why not.
func Installed(ctx context.Context, kc *kube.Client) error {
	_, err := kc.CS.AppsV1().DaemonSets(Namespace).Get(ctx, Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return errors.New("the pgchaos node agent is not installed")
	}
	if err != nil {
		return fmt.Errorf("reading daemonset %s/%s: %w", Namespace, Name, err)
	}
	return nil
}

// Client drives the agents through pod exec.
type Client struct {
	Kube *kube.Client
}

// podOn finds the running agent pod on a node.
func (c Client) podOn(ctx context.Context, node string) (string, error) {
	l, err := c.Kube.CS.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: appLabel + "=" + Name, FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		return "", fmt.Errorf("finding the node agent on %s: %w", node, err)
	}
	for _, p := range l.Items {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			return p.Name, nil
		}
	}
	return "", fmt.Errorf("no running node agent on node %s (%d pods)", node, len(l.Items))
}

// Apply applies an action through the agent on node and returns it as applied.
func (c Client) Apply(ctx context.Context, node string, a Action) (Action, error) {
	if err := a.Validate(); err != nil {
		return a, err
	}
	pod, err := c.podOn(ctx, node)
	if err != nil {
		return a, err
	}
	js, err := a.Encode()
	if err != nil {
		return a, err
	}
	out, stderr, err := c.Kube.Exec(ctx, Namespace, pod, "agent", []string{"/usr/local/bin/pgchaos", "agent", "apply", "--json", js})
	if err != nil {
		return a, fmt.Errorf("agent %s on %s: %s: %w", pod, node, strings.TrimSpace(stderr), err)
	}
	done, err := Decode(strings.TrimSpace(out))
	if err != nil {
		return a, fmt.Errorf("agent %s on %s answered %q: %w", pod, node, out, err)
	}
	return done, nil
}

// Revert reverts an action through the agent on node; an action the agent
// no longer holds (its deadline reverted it already) is fine.
func (c Client) Revert(ctx context.Context, node, id string) error {
	pod, err := c.podOn(ctx, node)
	if err != nil {
		return err
	}
	_, stderr, err := c.Kube.Exec(ctx, Namespace, pod, "agent", []string{"/usr/local/bin/pgchaos", "agent", "revert", "--id", id})
	if err != nil {
		return fmt.Errorf("agent %s on %s: reverting %s: %s: %w", pod, node, id, strings.TrimSpace(stderr), err)
	}
	return nil
}

// RevertRun reverts every action of a run ("" = all) on every agent and
// returns what each agent said.
func (c Client) RevertRun(ctx context.Context, runID string) ([]string, error) {
	l, err := c.Kube.CS.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{LabelSelector: appLabel + "=" + Name})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("listing node agents: %w", err)
	}
	var done []string
	var errs []error
	for _, p := range l.Items {
		if p.Status.Phase != corev1.PodRunning {
			continue
		}
		cmd := []string{"/usr/local/bin/pgchaos", "agent", "revert", "--all"}
		if runID != "" {
			cmd = []string{"/usr/local/bin/pgchaos", "agent", "revert", "--run-id", runID}
		}
		out, stderr, err := c.Kube.Exec(ctx, Namespace, p.Name, "agent", cmd)
		if err != nil {
			errs = append(errs, fmt.Errorf("agent %s on %s: %s: %w", p.Name, p.Spec.NodeName, strings.TrimSpace(stderr), err))
			continue
		}
		for _, id := range strings.Fields(out) {
			done = append(done, "agent action "+id+" on "+p.Spec.NodeName)
		}
	}
	return done, errors.Join(errs...)
}

// StorageState reads the storage-fault filesystem of node (the fault in
// force, its events, what it did so far) through the node's agent.
func (c Client) StorageState(ctx context.Context, node string) (iofs.State, error) {
	pod, err := c.podOn(ctx, node)
	if err != nil {
		return iofs.State{}, err
	}
	out, stderr, err := c.Kube.Exec(ctx, Namespace, pod, "agent", []string{"/usr/local/bin/pgchaos", "iofs", "status", "--control", iofs.NodeControl})
	if err != nil {
		return iofs.State{}, fmt.Errorf("agent %s on %s: reading the storage-fault filesystem: %s: %w", pod, node, strings.TrimSpace(stderr), err)
	}
	var st iofs.State
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return iofs.State{}, fmt.Errorf("agent %s on %s: the storage-fault filesystem answered %q: %w", pod, node, out, err)
	}
	return st, nil
}
