package suites

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CollectArtifacts saves what explains a failed spec into dir: the logs of
// the operator and of every pod in namespace (previous containers too), the
// namespace's events, and the operator's cluster resources. It keeps going
// past errors and returns them joined.
func CollectArtifacts(ctx context.Context, kc *kube.Client, a operators.Adapter, namespace, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	var errs []error
	for _, ns := range []string{namespace, a.Deployment().Namespace} {
		pods, err := kc.CS.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			errs = append(errs, fmt.Errorf("listing pods of %s: %w", ns, err))
			continue
		}
		for _, p := range pods.Items {
			for _, c := range p.Spec.Containers {
				for _, prev := range []bool{false, true} {
					name := fmt.Sprintf("%s_%s_%s.log", ns, p.Name, c.Name)
					if prev {
						name = fmt.Sprintf("%s_%s_%s.previous.log", ns, p.Name, c.Name)
					}
					err := saveLog(ctx, kc, ns, p.Name, c.Name, prev, filepath.Join(dir, name))
					if err != nil && !prev {
						errs = append(errs, err)
					}
				}
			}
		}
	}
	if ev, err := kc.CS.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{}); err != nil {
		errs = append(errs, fmt.Errorf("listing events of %s: %w", namespace, err))
	} else {
		errs = append(errs, writeJSON(filepath.Join(dir, "events.json"), ev.Items))
	}
	var clusters []any
	for _, gvk := range a.ClusterKinds() {
		if ri, err := kc.Resource(gvk, namespace); err != nil {
			errs = append(errs, err)
		} else if l, err := ri.List(ctx, metav1.ListOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("listing %s of %s: %w", gvk.Kind, namespace, err))
		} else {
			for _, it := range l.Items {
				clusters = append(clusters, it.Object)
			}
		}
	}
	errs = append(errs, writeJSON(filepath.Join(dir, "clusters.json"), clusters))
	return errors.Join(errs...)
}

func saveLog(ctx context.Context, kc *kube.Client, ns, pod, container string, previous bool, path string) error {
	rc, err := kc.CS.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container, Previous: previous}).Stream(ctx)
	if err != nil {
		return fmt.Errorf("logs of %s/%s/%s: %w", ns, pod, container, err)
	}
	defer rc.Close()
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	if _, err := io.Copy(f, rc); err != nil {
		_ = f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
