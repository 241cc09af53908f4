package scenario

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgchaos/pgchaos/monitor"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
	"github.com/pgchaos/pgchaos/workload"
)

// Provisioned is an operator-managed cluster ready for trials: reachable
// from the host, with the DSNs the workload, the monitor and the final read use.
type Provisioned struct {
	Cluster  operators.Cluster
	Exposure *operators.Exposure
	// ReadWriteDSN reaches the primary through pgchaos's NodePort Service
	// (app role, target_session_attrs=read-write).
	ReadWriteDSN string
	// Monitor and Final reach every instance (superuser).
	Monitor []monitor.Target
	Final   []workload.FinalTarget
	// Timings of the steps, for the record.
	Install, Ready time.Duration
}

// ProvisionOptions configures Provision.
type ProvisionOptions struct {
	Kube     *kube.Client
	Operator operators.Operator
	Spec     operators.ClusterSpec
	// SkipInstall assumes the operator is installed already.
	SkipInstall bool
	// InCluster exposes the cluster through ClusterIP Services reached by
	// DNS name, for a harness running in a pod of the cluster; otherwise
	// through NodePort Services at a node's address.
	InCluster bool
	// ConnectTimeout bounds the wait for the read-write endpoint (default 1m).
	ConnectTimeout time.Duration
	Progress       func(string)
}

// Provision installs the operator, creates the cluster (or updates an
// existing one), waits until it is ready, exposes it and waits until the
// read-write endpoint answers. The returned cleanup deletes what Provision
// created (the NodePort Services and the cluster), also after an error; it
// is safe to call more than once.
func Provision(ctx context.Context, o ProvisionOptions) (*Provisioned, func(context.Context) error, error) {
	say := o.Progress
	if say == nil {
		say = func(string) {}
	}
	out := &Provisioned{}
	var ex *operators.Exposure
	created := false
	cleanup := func(ctx context.Context) error {
		var errs []error
		if ex != nil {
			errs = append(errs, operators.Unexpose(ctx, o.Kube, ex))
			ex = nil
		}
		if created {
			err := o.Operator.Delete(ctx, o.Spec.Ref)
			errs = append(errs, err)
			created = false
			if err == nil && o.Spec.RunID != "" {
				// An operator slow to remove the Services it made must not
				// leave the run's objects behind.
				swept, err := operators.SweepRun(ctx, o.Kube, o.Spec.Ref.Namespace, o.Spec.RunID, operators.SweepGrace)
				if len(swept) > 0 && o.Progress != nil {
					o.Progress(fmt.Sprintf("the operator left %s of %s after %s: deleted by pgchaos", strings.Join(swept, ", "), o.Spec.Ref, operators.SweepGrace))
				}
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	if !o.SkipInstall {
		t := time.Now()
		if err := o.Operator.Install(ctx); err != nil {
			return nil, cleanup, err
		}
		out.Install = time.Since(t)
		if n, ok := o.Operator.(interface{ NothingToInstall() bool }); ok && n.NothingToInstall() {
			say(fmt.Sprintf("%s has no operator to install: its objects are applied with the cluster", o.Operator.Name()))
		} else {
			say(fmt.Sprintf("operator %s installed and available in %s", o.Operator.Name(), out.Install.Round(100*time.Millisecond)))
		}
	}
	t := time.Now()
	cl, err := o.Operator.Create(ctx, o.Spec)
	if err != nil {
		return nil, cleanup, err
	}
	created = true
	out.Cluster = cl
	if err := cl.WaitReady(ctx); err != nil {
		return nil, cleanup, err
	}
	out.Ready = time.Since(t)
	say(fmt.Sprintf("cluster %s (%d instances, synchronous=%v) ready in %s", o.Spec.Ref, o.Spec.Instances, o.Spec.Synchronous, out.Ready.Round(100*time.Millisecond)))
	nodeIP := ""
	if !o.InCluster {
		if nodeIP, err = operators.NodeAddress(ctx, o.Kube); err != nil {
			return nil, cleanup, err
		}
	}
	if ex, err = operators.Expose(ctx, o.Kube, cl, o.Spec.RunID, nodeIP); err != nil {
		return nil, cleanup, err
	}
	out.Exposure = ex
	app, err := cl.Credentials(ctx, operators.AccessApp)
	if err != nil {
		return nil, cleanup, err
	}
	su, err := cl.Credentials(ctx, operators.AccessSuperuser)
	if err != nil {
		return nil, cleanup, err
	}
	// target_session_attrs=read-write, unless the endpoint is a proxy that
	// routes writes itself and answers the check from a standby.
	rw := true
	if p, ok := cl.(interface{ ReadWriteSessionCheck() bool }); ok {
		rw = p.ReadWriteSessionCheck()
	}
	out.ReadWriteDSN = operators.DSN(ex.ReadWrite, app, rw, 2*time.Second)
	to := o.ConnectTimeout
	if to <= 0 {
		to = time.Minute
	}
	if err := waitConnect(ctx, out.ReadWriteDSN, to); err != nil {
		return nil, cleanup, fmt.Errorf("read-write endpoint %s of %s: %w", ex.ReadWrite, o.Spec.Ref, err)
	}
	say(fmt.Sprintf("read-write endpoint %s answers", ex.ReadWrite))
	for _, name := range ex.InstanceNames() {
		d := operators.DSN(ex.Instances[name], su, false, time.Second)
		out.Monitor = append(out.Monitor, monitor.Target{Name: name, DSN: d})
		out.Final = append(out.Final, workload.FinalTarget{Name: name, DSN: d})
		say(fmt.Sprintf("instance %s at %s", name, ex.Instances[name]))
	}
	return out, cleanup, nil
}

// waitConnect waits until dsn accepts a connection.
func waitConnect(ctx context.Context, dsn string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return err
	}
	var last error
	for {
		c, err := pgx.ConnectConfig(ctx, cc)
		if err == nil {
			return c.Close(ctx)
		}
		last = err
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Superuser maps each instance to its superuser DSN (the monitor's), for
// faults.Env.Superuser.
func (p *Provisioned) Superuser() map[string]string {
	m := make(map[string]string, len(p.Monitor))
	for _, t := range p.Monitor {
		m[t.Name] = t.DSN
	}
	return m
}
