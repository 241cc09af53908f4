package clusters

import (
	"context"
	"errors"
	"fmt"
	"os"

	"k8s.io/client-go/tools/clientcmd"
)

// Existing is a cluster pgchaos did not create, reached through a kubeconfig
// file and context. It cannot be created or deleted.
type Existing struct {
	kubeconfig, context string
}

var _ Provider = (*Existing)(nil)

// NewExisting checks that the kubeconfig exists and has the context (empty means
// its current context) and returns the cluster.
func NewExisting(kubeconfig, kubeContext string) (*Existing, error) {
	if kubeconfig == "" {
		kubeconfig = clientcmd.RecommendedHomeFile
	}
	if _, err := os.Stat(kubeconfig); err != nil {
		return nil, fmt.Errorf("%w: kubeconfig %s: %w", ErrBadInput, kubeconfig, err)
	}
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("%w: reading kubeconfig %s: %w", ErrBadInput, kubeconfig, err)
	}
	if kubeContext == "" {
		kubeContext = cfg.CurrentContext
	}
	if kubeContext == "" {
		return nil, fmt.Errorf("%w: kubeconfig %s has no current context; pass --context", ErrBadInput, kubeconfig)
	}
	if _, ok := cfg.Contexts[kubeContext]; !ok {
		return nil, fmt.Errorf("%w: context %q not found in kubeconfig %s", ErrBadInput, kubeContext, kubeconfig)
	}
	return &Existing{kubeconfig: kubeconfig, context: kubeContext}, nil
}

// Name returns the kubeconfig context.
func (e *Existing) Name() string { return e.context }

// KubeConfig writes a copy of the kubeconfig whose current context is the
// cluster's, and returns its path.
func (e *Existing) KubeConfig(ctx context.Context) (string, error) {
	cfg, err := clientcmd.LoadFromFile(e.kubeconfig)
	if err != nil {
		return "", fmt.Errorf("reading kubeconfig %s: %w", e.kubeconfig, err)
	}
	if cfg.CurrentContext == e.context {
		return e.kubeconfig, nil
	}
	cfg.CurrentContext = e.context
	f, err := os.CreateTemp("", "pgchaos-kubeconfig-")
	if err != nil {
		return "", fmt.Errorf("creating kubeconfig for context %s: %w", e.context, err)
	}
	f.Close()
	if err := clientcmd.WriteToFile(*cfg, f.Name()); err != nil {
		return "", fmt.Errorf("writing kubeconfig for context %s: %w", e.context, err)
	}
	return f.Name(), nil
}

// Status lists the nodes through the API server; an unreachable cluster is an error.
func (e *Existing) Status(ctx context.Context) (Status, error) {
	nodes, err := nodeStatuses(ctx, e.kubeconfig, e.context)
	if err != nil {
		return Status{}, fmt.Errorf("cluster of context %s: %w", e.context, err)
	}
	return Status{Exists: true, Nodes: nodes}, nil
}

// IsBadInput reports whether err was caused by the caller's input.
func IsBadInput(err error) bool { return errors.Is(err, ErrBadInput) }
