package operators

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/operators/kube"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// HostPort is an address reachable from the machine pgchaos runs on.
type HostPort struct {
	Host string
	Port int32
}

func (h HostPort) String() string { return net.JoinHostPort(h.Host, strconv.Itoa(int(h.Port))) }

// Exposure is how pgchaos reaches a cluster from outside it: a NodePort
// Service with the same selector as the operator's read-write Service (so it
// follows a failover exactly when the operator's Service does), and one
// NodePort Service per instance for the monitor.
type Exposure struct {
	Cluster   Ref
	ReadWrite HostPort
	// ReadWriteService is the Service, namespace/name, whose endpoints
	// route ReadWrite: pgchaos's copy of the operator's selector, or the
	// operator's own Service when its endpoints are written by the stack
	// (no selector to copy).
	ReadWriteService string
	// Instances maps an instance name to its own address.
	Instances map[string]HostPort
	// Services lists the Services pgchaos created, namespace/name.
	Services []string
}

// InstanceNames returns the exposed instances, sorted.
func (e *Exposure) InstanceNames() []string {
	names := make([]string, 0, len(e.Instances))
	for n := range e.Instances {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// exposedName is the name of pgchaos's Service for suffix.
func exposedName(suffix string) string {
	n := "pgchaos-" + suffix
	if len(n) > 63 {
		n = n[:63]
	}
	return strings.TrimRight(n, "-")
}

// Expose creates (or updates) pgchaos's Services of a cluster, labelled
// with runID. With a nodeIP (see NodeAddress) they are NodePort Services and
// the addresses are nodeIP:nodePort, for a harness outside the cluster; with
// an empty nodeIP they are ClusterIP Services and the addresses are their DNS
// names, for a harness running in a pod of the cluster.
func Expose(ctx context.Context, kc *kube.Client, c Cluster, runID, nodeIP string) (*Exposure, error) {
	ref := c.Ref()
	ep, err := c.ReadWrite(ctx)
	if err != nil {
		return nil, fmt.Errorf("exposing %s: %w", ref, err)
	}
	ex := &Exposure{Cluster: ref, Instances: map[string]HostPort{}}
	switch {
	case ep.Selector != nil:
		addr, err := ensureService(ctx, kc, ref.Namespace, exposedName(ref.Name+"-rw"), ep.Selector, ep.Port, runID, nodeIP)
		if err != nil {
			return nil, fmt.Errorf("exposing %s: %w", ref, err)
		}
		ex.ReadWrite, ex.ReadWriteService = addr, ref.Namespace+"/"+exposedName(ref.Name+"-rw")
		ex.Services = append(ex.Services, ex.ReadWriteService)
	case nodeIP == "":
		// In the cluster: the operator's own Service, by its DNS name.
		ex.ReadWrite = HostPort{Host: ep.Service + "." + ep.Namespace + ".svc", Port: ep.Port}
		ex.ReadWriteService = ep.Namespace + "/" + ep.Service
	case ep.NodePort != 0:
		// The operator's own Service has a node port: its endpoints are
		// written by the stack (Patroni), exactly what applications use.
		ex.ReadWrite = HostPort{Host: nodeIP, Port: ep.NodePort}
		ex.ReadWriteService = ep.Namespace + "/" + ep.Service
	default:
		return nil, fmt.Errorf("exposing %s: read-write service %s/%s has no selector to copy and no node port: its endpoints are written by the stack, so pgchaos can reach it from outside only through a node port (make it a NodePort or LoadBalancer Service) or from inside the cluster (--in-cluster)", ref, ep.Namespace, ep.Service)
	}
	ins, err := c.Instances(ctx)
	if err != nil {
		return nil, fmt.Errorf("exposing %s: %w", ref, err)
	}
	for _, in := range ins {
		if in.Selector == nil {
			return nil, fmt.Errorf("exposing instance %s of %s: the operator's labels cannot single out its pod", in.Name, ref)
		}
		name := exposedName(in.Name)
		a, err := ensureService(ctx, kc, ref.Namespace, name, in.Selector, 5432, runID, nodeIP)
		if err != nil {
			return nil, fmt.Errorf("exposing instance %s of %s: %w", in.Name, ref, err)
		}
		ex.Instances[in.Name] = a
		ex.Services = append(ex.Services, ref.Namespace+"/"+name)
	}
	return ex, nil
}

// ensureService creates or updates a Service (NodePort when nodeIP is set)
// and returns the address to dial.
func ensureService(ctx context.Context, kc *kube.Client, ns, name string, selector map[string]string, port int32, runID, nodeIP string) (HostPort, error) {
	typ := corev1.ServiceTypeClusterIP
	if nodeIP != "" {
		typ = corev1.ServiceTypeNodePort
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{RunIDLabel: runID}},
		Spec: corev1.ServiceSpec{
			Type:     typ,
			Selector: selector,
			// Do not keep routing to a pod that stopped being ready.
			PublishNotReadyAddresses: false,
			Ports:                    []corev1.ServicePort{{Name: "postgres", Port: port, TargetPort: intstr.FromInt32(5432), Protocol: corev1.ProtocolTCP}},
		},
	}
	svcs := kc.CS.CoreV1().Services(ns)
	got, err := svcs.Create(ctx, svc, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		old, gerr := svcs.Get(ctx, name, metav1.GetOptions{})
		if gerr != nil {
			return HostPort{}, fmt.Errorf("reading service %s/%s: %w", ns, name, gerr)
		}
		if old.Spec.Type != typ {
			// Switching between NodePort and ClusterIP: start afresh.
			if err := svcs.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
				return HostPort{}, fmt.Errorf("replacing service %s/%s: %w", ns, name, err)
			}
			got, err = svcs.Create(ctx, svc, metav1.CreateOptions{})
		} else {
			old.Spec.Selector = selector
			old.Labels = svc.Labels
			got, err = svcs.Update(ctx, old, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return HostPort{}, fmt.Errorf("creating service %s/%s: %w", ns, name, err)
	}
	if nodeIP == "" {
		return HostPort{Host: name + "." + ns + ".svc", Port: port}, nil
	}
	for _, p := range got.Spec.Ports {
		if p.NodePort != 0 {
			return HostPort{nodeIP, p.NodePort}, nil
		}
	}
	return HostPort{}, fmt.Errorf("service %s/%s: no node port allocated", ns, name)
}

// Unexpose deletes the Services of an exposure; missing ones are fine.
func Unexpose(ctx context.Context, kc *kube.Client, ex *Exposure) error {
	for _, s := range ex.Services {
		ns, name, _ := strings.Cut(s, "/")
		err := kc.CS.CoreV1().Services(ns).Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting service %s: %w", s, err)
		}
	}
	return nil
}

// NodeAddress picks the node address pgchaos dials NodePorts at: the
// InternalIP of a Ready control-plane node when there is one (Postgres pods
// do not run there, so faults on workers leave it alone), else of the first
// Ready node.
func NodeAddress(ctx context.Context, kc *kube.Client) (string, error) {
	nodes, err := kc.CS.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("listing nodes: %w", err)
	}
	best := ""
	for _, n := range nodes.Items {
		if !nodeReady(&n) {
			continue
		}
		ip := ""
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP && net.ParseIP(a.Address).To4() != nil {
				ip = a.Address
			}
		}
		if ip == "" {
			continue
		}
		if _, cp := n.Labels["node-role.kubernetes.io/control-plane"]; cp {
			return ip, nil
		}
		if best == "" {
			best = ip
		}
	}
	if best == "" {
		return "", fmt.Errorf("no Ready node with an IPv4 InternalIP among %d nodes", len(nodes.Items))
	}
	return best, nil
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// DSN renders a libpq key=value connection string for addr and creds;
// readWrite adds target_session_attrs=read-write.
func DSN(addr HostPort, creds Credentials, readWrite bool, connectTimeout time.Duration) string {
	parts := []string{
		"host=" + quote(addr.Host), "port=" + strconv.Itoa(int(addr.Port)),
		"user=" + quote(creds.User), "password=" + quote(creds.Password), "dbname=" + quote(creds.Database),
	}
	if connectTimeout > 0 {
		parts = append(parts, "connect_timeout="+strconv.Itoa(max(1, int(connectTimeout/time.Second))))
	}
	if readWrite {
		parts = append(parts, "target_session_attrs=read-write")
	}
	return strings.Join(parts, " ")
}

// quote quotes a libpq connection-string value.
func quote(v string) string {
	if v != "" && !strings.ContainsAny(v, ` '\`) {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// SweepGrace is how long SweepRun leaves an operator to remove the
// Services it made for a deleted cluster before removing them itself.
const SweepGrace = 60 * time.Second

// SweepRun waits up to grace for the Services labelled with runID in
// namespace (an operator's children, which inherit the label) to go, then
// deletes those left. The operator's own objects (labelled
// OperatorLabel) are never touched. It returns what it had to delete.
func SweepRun(ctx context.Context, kc *kube.Client, namespace, runID string, grace time.Duration) ([]string, error) {
	sel := metav1.ListOptions{LabelSelector: RunIDLabel + "=" + runID + "," + "!" + OperatorLabel}
	left := func(ctx context.Context) ([]string, error) {
		var out []string
		svcs, err := kc.CS.CoreV1().Services(namespace).List(ctx, sel)
		if err != nil {
			return nil, fmt.Errorf("listing services of run %s in %s: %w", runID, namespace, err)
		}
		for _, s := range svcs.Items {
			out = append(out, "service/"+s.Name)
		}
		return out, nil
	}
	wctx, cancel := context.WithTimeout(ctx, grace)
	err := kube.Poll(wctx, time.Second, "objects of run "+runID+" in "+namespace+" gone", func(ctx context.Context) (bool, string, error) {
		l, err := left(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		return len(l) == 0, strings.Join(l, ", "), nil
	})
	cancel()
	if err == nil || ctx.Err() != nil {
		return nil, ctx.Err()
	}
	l, err := left(ctx)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, o := range l {
		_, name, _ := strings.Cut(o, "/")
		err := kc.CS.CoreV1().Services(namespace).Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting %s in %s: %w", o, namespace, err))
		}
	}
	return l, errors.Join(errs...)
}
