package target

import (
	"context"
	"fmt"
	"strings"

	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Finding is what the check found for one field of a target.
type Finding struct {
	Field string
	OK    bool
	Found string
}

// Check checks a target against a running cluster ref, field by field:
// the namespace, the instances the selector finds, the one primary, the
// replicas, the container and the data directory in each instance, the
// read-write Service and where it routes, the credentials' Secrets and
// keys. It stops at nothing: every field gets its finding. Exec is used for
// the data directory (a fake client skips it, saying so).
func Check(ctx context.Context, kc *kube.Client, t *Target, ref operators.Ref) []Finding {
	var out []Finding
	add := func(field string, ok bool, format string, a ...any) {
		out = append(out, Finding{Field: field, OK: ok, Found: fmt.Sprintf(format, a...)})
	}
	cfg := t.GenericConfig(ref)
	if _, err := kc.CS.CoreV1().Namespaces().Get(ctx, ref.Namespace, metav1.GetOptions{}); err != nil {
		add("spec.namespace", false, "namespace %s: %v", ref.Namespace, err)
		return out
	}
	add("spec.namespace", true, "namespace %s exists", ref.Namespace)

	pods, err := kc.CS.CoreV1().Pods(ref.Namespace).List(ctx, metav1.ListOptions{LabelSelector: cfg.Instances})
	switch {
	case err != nil:
		add("spec.instances.selector", false, "%s: %v", cfg.Instances, err)
	case len(pods.Items) == 0:
		add("spec.instances.selector", false, "%s matches no pod in %s", cfg.Instances, ref.Namespace)
	default:
		var names []string
		for _, p := range pods.Items {
			names = append(names, p.Name)
		}
		add("spec.instances.selector", true, "%s matches %d pods: %s", cfg.Instances, len(names), strings.Join(names, ", "))
	}
	c := (&Operator{a: NewAdapter(t), opts: operators.Options{Kube: kc}}).open(ref)
	var ins []operators.Instance
	if c.err != nil {
		add("spec.instances", false, "%v", c.err)
	} else if ins, err = c.Instances(ctx); err != nil {
		add("spec.instances", false, "%v", err)
	}
	var primary *operators.Instance
	var prims, repls, unknown []string
	for i, in := range ins {
		switch in.Role {
		case operators.RolePrimary:
			prims = append(prims, in.Name)
			primary = &ins[i]
		case operators.RoleReplica:
			repls = append(repls, in.Name)
		default:
			unknown = append(unknown, in.Name)
		}
	}
	if len(ins) > 0 {
		psel, rfield, rsel := cfg.Primary, "spec.instances.replica", cfg.Replica
		if t.Spec.Instances.RoleProbe != "" {
			psel, rsel = "the role probe (pg_is_in_recovery)", "the role probe"
		}
		if rsel == "" {
			rsel = "(every instance not primary)"
		}
		add("spec.instances.primary", len(prims) == 1, "%s marks %d instance(s) primary: %s", psel, len(prims), orNone(prims))
		add(rfield, len(unknown) == 0 && len(repls) > 0, "%s marks %d replica(s): %s; neither role: %s", rsel, len(repls), orNone(repls), orNone(unknown))
	}
	for _, p := range pods.Items {
		container := cfg.Container
		if container == "" && len(p.Spec.Containers) > 0 {
			container = p.Spec.Containers[0].Name
		}
		if !hasContainer(&p, container) {
			add("spec.instances.container", false, "pod %s has no container %q", p.Name, container)
			continue
		}
		add("spec.instances.container", true, "pod %s runs container %s", p.Name, container)
		if kc.Config == nil {
			add("spec.instances.dataDir", false, "not checked (no exec on this client)")
			continue
		}
		dd := cfg.Layout.DataDir
		_, stderr, err := kc.Exec(ctx, ref.Namespace, p.Name, container, []string{"test", "-f", dd + "/PG_VERSION"})
		if err != nil {
			add("spec.instances.dataDir", false, "pod %s: %s/PG_VERSION not found (%s)", p.Name, dd, strings.TrimSpace(stderr))
		} else {
			add("spec.instances.dataDir", true, "pod %s: %s holds a data directory", p.Name, dd)
		}
	}

	svc, err := kc.CS.CoreV1().Services(ref.Namespace).Get(ctx, cfg.ReadWriteService, metav1.GetOptions{})
	if err != nil {
		add("spec.readWrite.service", false, "service %s/%s: %v", ref.Namespace, cfg.ReadWriteService, err)
	} else {
		how := "selector " + fmt.Sprint(svc.Spec.Selector)
		if len(svc.Spec.Selector) == 0 {
			how = "no selector (endpoints written by the stack)"
		}
		routes, err := routesTo(ctx, kc, ref.Namespace, cfg.ReadWriteService)
		switch {
		case err != nil:
			add("spec.readWrite.service", false, "service %s (%s, type %s): %v", svc.Name, how, svc.Spec.Type, err)
		case primary == nil:
			add("spec.readWrite.service", len(routes) > 0, "service %s (%s, type %s) routes to %s; no primary to compare", svc.Name, how, svc.Spec.Type, orNone(routes))
		default:
			toInstance := false
			for _, r := range routes {
				for _, p := range pods.Items {
					toInstance = toInstance || r == p.Name
				}
			}
			if !toInstance && len(routes) > 0 {
				add("spec.readWrite.service", true, "service %s (%s, type %s) routes to %s: a proxy, not an instance (the primary is %s)", svc.Name, how, svc.Spec.Type, orNone(routes), primary.Pod)
				break
			}
			ok := len(routes) == 1 && routes[0] == primary.Pod
			add("spec.readWrite.service", ok, "service %s (%s, type %s) routes to %s; the primary is %s", svc.Name, how, svc.Spec.Type, orNone(routes), primary.Pod)
		}
		if svc.Spec.Type == corev1.ServiceTypeClusterIP && len(svc.Spec.Selector) == 0 {
			add("spec.readWrite.service", false, "service %s has no selector and no node port: pgchaos outside the cluster cannot reach it (make it a NodePort, or run --in-cluster)", svc.Name)
		}
	}

	for _, s := range []struct {
		field string
		sec   Secret
	}{{"spec.credentials.app", t.Spec.Credentials.App}, {"spec.credentials.superuser", t.Spec.Credentials.Superuser}} {
		name := Expand(s.sec.Name, map[string]string{"name": ref.Name, "namespace": ref.Namespace})
		sec, err := kc.CS.CoreV1().Secrets(ref.Namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			add(s.field, false, "secret %s/%s not found", ref.Namespace, name)
			continue
		}
		if err != nil {
			add(s.field, false, "secret %s/%s: %v", ref.Namespace, name, err)
			continue
		}
		var missing []string
		for _, k := range []string{or(s.sec.UserKey, "username"), or(s.sec.PasswordKey, "password")} {
			if _, ok := sec.Data[k]; !ok {
				missing = append(missing, k)
			}
		}
		dbKey := or(s.sec.DatabaseKey, "dbname")
		if _, ok := sec.Data[dbKey]; !ok && s.sec.Database == "" {
			missing = append(missing, dbKey+" (or give database)")
		}
		if len(missing) > 0 {
			add(s.field, false, "secret %s lacks %s", name, strings.Join(missing, ", "))
		} else {
			add(s.field, true, "secret %s has the user, the password and the database", name)
		}
	}
	if t.Spec.Switchover == nil {
		add("spec.switchover", true, "none: the switchover faults are unavailable")
	} else {
		add("spec.switchover", true, "exec %s in the primary's container (not run by validate)", t.Spec.Switchover.Exec[0])
	}
	add("spec.synchronous", true, "%s", t.SyncMode())
	return out
}

// routesTo lists the pods the Service's EndpointSlices route to (ready ones).
func routesTo(ctx context.Context, kc *kube.Client, ns, svc string) ([]string, error) {
	slices, err := kc.CS.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + svc})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range slices.Items {
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			switch {
			case e.TargetRef != nil:
				out = append(out, e.TargetRef.Name)
			case len(e.Addresses) > 0:
				out = append(out, e.Addresses[0]+" (no pod named)")
			}
		}
	}
	return out, nil
}

func hasContainer(p *corev1.Pod, name string) bool {
	for _, c := range p.Spec.Containers {
		if c.Name == name {
			return true
		}
	}
	return false
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
