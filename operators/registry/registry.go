package registry

import (
	"fmt"
	"strings"

	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/cnpg"
	"github.com/pgchaos/pgchaos/operators/zalando"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// All lists every adapter, in the order commands show them.
func All() []operators.Adapter {
	return []operators.Adapter{
		cnpg.Adapter{},
		zalando.Adapter{},
	}
}

// Names lists the adapters' names.
func Names() []string {
	var out []string
	for _, a := range All() {
		out = append(out, a.Name())
	}
	return out
}

// ByName returns the adapter called name; the error names the known ones.
func ByName(name string) (operators.Adapter, error) {
	for _, a := range All() {
		if a.Name() == name {
			return a, nil
		}
	}
	return nil, fmt.Errorf("unknown operator %q: want one of %s", name, strings.Join(Names(), ", "))
}

// ClusterKinds lists the cluster kinds of every adapter (cleanup deletes
// them all: a run's clusters may be of any operator).
func ClusterKinds() []schema.GroupVersionKind {
	var out []schema.GroupVersionKind
	for _, a := range All() {
		out = append(out, a.ClusterKinds()...)
	}
	return out
}

// Deployments lists every adapter's operator Deployment.
func Deployments() []operators.Ref {
	var out []operators.Ref
	for _, a := range All() {
		out = append(out, a.Deployment())
	}
	return out
}
