// Package kube is the small Kubernetes toolbox the operator adapters share:
// a client built from a kubeconfig, server-side apply of manifests and
// objects (unstructured, so no operator's Go API is needed), waits, pod exec
// and pod deletion. It knows nothing about PostgreSQL.
package kube
