package main

import (
	"context"
	"fmt"
	"os"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
	"github.com/pgchaos/pgchaos/scenario"
)

// faultEnvOptions say where the faults of a run act.
type faultEnvOptions struct {
	kc     *kube.Client
	runID  string
	kind   string // kind cluster name; "" when not on a local kind cluster
	image  string // node agent image; "" builds one on kind
	chosen []faults.Fault
	say    func(string)
	// operator is the operator's Deployment (the operator-outage faults).
	operator operators.Ref
}

// prepareFaults is scenario.PrepareFaults with this binary as the agent's
// and the adapter's operator Deployment.
func prepareFaults(ctx context.Context, o faultEnvOptions) (faults.Env, func(context.Context), error) {
	self, err := os.Executable()
	if err != nil {
		return faults.Env{}, func(context.Context) {}, fmt.Errorf("finding the pgchaos executable: %w", err)
	}
	return scenario.PrepareFaults(ctx, scenario.FaultEnvOptions{Kube: o.kc, RunID: o.runID, Kind: o.kind,
		AgentImage: o.image, Self: self, Chosen: o.chosen, Progress: o.say,
		Operator: o.operator})
}
