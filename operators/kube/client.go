package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/remotecommand"
)

// FieldManager is the field manager of every server-side apply pgchaos does.
const FieldManager = "pgchaos"

// Client reaches one Kubernetes cluster. CS and Dyn may be fakes in tests.
type Client struct {
	// Config is nil for a fake client (no exec then).
	Config *rest.Config
	CS     kubernetes.Interface
	Dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

// New builds a client from a kubeconfig file (empty: the default loading
// rules) and an optional context.
func New(kubeconfig, kubeContext string) (*Client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules = &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig %q: %w", kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	return NewForConfig(cfg)
}

// NewForConfig builds a client from a REST config.
func NewForConfig(cfg *rest.Config) (*Client, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", cfg.Host, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client for %s: %w", cfg.Host, err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cs.Discovery()))
	return &Client{Config: cfg, CS: cs, Dyn: dyn, mapper: mapper}, nil
}

// NewFake wraps fake clientsets (tests): no REST mapping, no exec.
func NewFake(cs kubernetes.Interface, dyn dynamic.Interface) *Client {
	return &Client{CS: cs, Dyn: dyn}
}

// Resource returns the dynamic client for an object's kind, in its namespace.
// A kind unknown to the cached discovery (a CRD just created) refreshes it once.
func (c *Client) Resource(gvk schema.GroupVersionKind, namespace string) (dynamic.ResourceInterface, error) {
	if c.mapper == nil {
		return nil, fmt.Errorf("mapping %s: no discovery on a fake client", gvk)
	}
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		c.mapper.Reset()
		m, err = c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("mapping %s: %w", gvk, err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.Dyn.Resource(m.Resource).Namespace(namespace), nil
	}
	return c.Dyn.Resource(m.Resource), nil
}

// Apply server-side applies obj (forcing conflicts: pgchaos owns what it applies).
func (c *Client) Apply(ctx context.Context, obj *unstructured.Unstructured) error {
	ri, err := c.Resource(obj.GroupVersionKind(), obj.GetNamespace())
	if err != nil {
		return fmt.Errorf("applying %s %s: %w", obj.GetKind(), Name(obj), err)
	}
	if _, err := ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
		return fmt.Errorf("applying %s %s: %w", obj.GetKind(), Name(obj), err)
	}
	return nil
}

// Name renders namespace/name (or name for cluster-scoped objects).
func Name(obj metav1.Object) string {
	if obj.GetNamespace() == "" {
		return obj.GetName()
	}
	return obj.GetNamespace() + "/" + obj.GetName()
}

// DecodeManifest splits a multi-document YAML (or JSON) manifest into objects.
func DecodeManifest(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 64*1024)
	var out []*unstructured.Unstructured
	for i := 0; ; i++ {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decoding manifest document %d: %w", i, err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetKind() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("manifest document %d: no kind or name", i)
		}
		out = append(out, u)
	}
}

// Poll calls cond every interval until it returns true, an error, or ctx
// ends; the error then carries cond's last explanation.
func Poll(ctx context.Context, interval time.Duration, what string, cond func(ctx context.Context) (bool, string, error)) error {
	var last string
	for {
		ok, why, err := cond(ctx)
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		last = why
		select {
		case <-ctx.Done():
			if last != "" {
				return fmt.Errorf("waiting for %s (last seen: %s): %w", what, last, ctx.Err())
			}
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(interval):
		}
	}
}

// WaitCRDEstablished waits until the named CustomResourceDefinition is Established.
func (c *Client) WaitCRDEstablished(ctx context.Context, name string) error {
	gvr := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	return Poll(ctx, 500*time.Millisecond, "CRD "+name+" established", func(ctx context.Context) (bool, string, error) {
		u, err := c.Dyn.Resource(gvr).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, x := range conds {
			m, _ := x.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return true, "", nil
			}
		}
		return false, "not Established", nil
	})
}

// WaitDeploymentAvailable waits until a Deployment's updated replicas are all available.
func (c *Client) WaitDeploymentAvailable(ctx context.Context, namespace, name string) error {
	return Poll(ctx, time.Second, "deployment "+namespace+"/"+name+" available", func(ctx context.Context) (bool, string, error) {
		d, err := c.CS.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		s := d.Status
		if s.ObservedGeneration >= d.Generation && s.UpdatedReplicas >= want && s.AvailableReplicas >= want {
			return true, "", nil
		}
		return false, fmt.Sprintf("%d/%d available", s.AvailableReplicas, want), nil
	})
}

// DeletePod deletes a pod with the given grace period (0: immediately, no
// SIGTERM grace). A pod already gone is not an error; its UID is returned
// (empty when it was gone).
func (c *Client) DeletePod(ctx context.Context, namespace, name string, grace int64) (types.UID, error) {
	p, err := c.CS.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("deleting pod %s/%s: %w", namespace, name, err)
	}
	err = c.CS.CoreV1().Pods(namespace).Delete(ctx, name, metav1.DeleteOptions{
		GracePeriodSeconds: &grace,
		Preconditions:      &metav1.Preconditions{UID: &p.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return "", fmt.Errorf("deleting pod %s/%s: %w", namespace, name, err)
	}
	return p.UID, nil
}

// Exec runs cmd in a container of a pod and returns its stdout and stderr.
func (c *Client) Exec(ctx context.Context, namespace, pod, container string, cmd []string) (string, string, error) {
	if c.Config == nil {
		return "", "", fmt.Errorf("exec in pod %s/%s: not possible on a fake client", namespace, pod)
	}
	req := c.CS.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: cmd, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ex, err := remotecommand.NewSPDYExecutor(c.Config, "POST", req.URL())
	if err != nil {
		return "", "", fmt.Errorf("exec in pod %s/%s: %w", namespace, pod, err)
	}
	var out, errb bytes.Buffer
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &out, Stderr: &errb})
	if err != nil {
		return out.String(), errb.String(), fmt.Errorf("exec %q in pod %s/%s: %w (stderr: %s)",
			strings.Join(cmd, " "), namespace, pod, err, strings.TrimSpace(errb.String()))
	}
	return out.String(), errb.String(), nil
}

// EnsureNamespace creates a namespace (labelled) unless it exists. A
// namespace still being deleted (by a cleanup) is waited for, then created.
func (c *Client) EnsureNamespace(ctx context.Context, name string, labels map[string]string) error {
	var err error
	perr := Poll(ctx, time.Second, "namespace "+name+" deleted", func(ctx context.Context) (bool, string, error) {
		var ns *corev1.Namespace
		ns, err = c.CS.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if err == nil && ns.DeletionTimestamp != nil {
			return false, "terminating", nil
		}
		return true, "", nil
	})
	if perr != nil {
		return perr
	}
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading namespace %s: %w", name, err)
	}
	_, err = c.CS.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}
