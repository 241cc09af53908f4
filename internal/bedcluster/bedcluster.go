// Package bedcluster presents a local PostgreSQL testbed
// (internal/pgtestbed) as an operator's cluster, for tests of the
// machinery above operators (scenarios, faults, game days) on real servers
// with no Kubernetes behind them.
package bedcluster

import (
	"context"

	"github.com/pgchaos/pgchaos/internal/pgtestbed"
	"github.com/pgchaos/pgchaos/operators"
)

// Cluster is a testbed seen as an operators.Cluster: its first instance is
// the primary, each instance its own pod on its own node ("n"+name), always
// ready.
type Cluster struct{ TB *pgtestbed.Cluster }

var _ operators.Cluster = Cluster{}

// Ref names the testbed.
func (Cluster) Ref() operators.Ref { return operators.Ref{Namespace: "local", Name: "testbed"} }

// WaitReady returns at once: the testbed has no operator to wait for.
func (Cluster) WaitReady(context.Context) error { return nil }

// Instances lists the testbed's servers with their roles.
func (c Cluster) Instances(context.Context) ([]operators.Instance, error) {
	var out []operators.Instance
	for i, in := range c.TB.Instances {
		r := operators.RoleReplica
		if i == 0 {
			r = operators.RolePrimary
		}
		out = append(out, operators.Instance{Name: in.Name, Pod: in.Name, Node: "n" + in.Name, Role: r, Ready: true})
	}
	return out, nil
}

// ReadWrite has no Service to name.
func (Cluster) ReadWrite(context.Context) (operators.Endpoint, error) {
	return operators.Endpoint{}, nil
}

// Credentials are the testbed's trust: none needed.
func (Cluster) Credentials(context.Context, operators.Access) (operators.Credentials, error) {
	return operators.Credentials{}, nil
}
