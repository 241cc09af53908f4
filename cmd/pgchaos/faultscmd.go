package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pgchaos/pgchaos/clusters"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/faults/agent"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
	"github.com/pgchaos/pgchaos/operators/registry"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/spf13/cobra"
)

// faultRow is one line of `pgchaos faults`.
type faultRow struct {
	faults.Info
	Available bool   `json:"available"`
	Why       string `json:"why,omitempty"`
	// Expected is what a trial of the fault is held to, per replication
	// mode: the expectations table and the adapter's overrides.
	Expected map[string]string `json:"expected"`
}

// newFaultsCmd is `pgchaos faults`: every fault, with its availability on
// the target cluster.
func newFaultsCmd() *cobra.Command {
	var kubeconfig, kubeContext, kindName, agentImage, operator string
	var asJSON, expected bool
	cmd := &cobra.Command{
		Use:   "faults [--operator NAME] [--kubeconfig F | --kind-name N] [--json] [--expectations]",
		Short: "List every fault with what it hits, how, and whether it can run on the target cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			adapter, err := registry.ByName(operator)
			if err != nil {
				return usageErr("faults: --operator: %v", err)
			}
			env, noCluster := faultsListEnv(ctx, adapter, kubeconfig, kubeContext, kindName, agentImage)
			var rows []faultRow
			for _, f := range faults.All() {
				r := faultRow{Info: faults.InfoOf(f), Available: true, Expected: map[string]string{}}
				for _, mode := range []string{faults.Async, faults.Sync} {
					r.Expected[mode] = scenario.ExpectationFor(adapter, f, mode).Text()
				}
				switch {
				case noCluster != nil:
					r.Available, r.Why = false, "no cluster to check against: "+noCluster.Error()
				default:
					if err := f.Available(ctx, env); err != nil {
						r.Available, r.Why = false, err.Error()
					}
				}
				rows = append(rows, r)
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			if expected {
				fmt.Fprintln(tw, "FAULT\tASYNC\tSYNC")
				for _, r := range rows {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, r.Expected[faults.Async], r.Expected[faults.Sync])
				}
				return tw.Flush()
			}
			fmt.Fprintln(tw, "FAULT\tTARGET\tSCOPE\tMECHANISM\tAVAILABLE")
			for _, r := range rows {
				av := "yes"
				if !r.Available {
					av = "no: " + r.Why
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, r.Target, r.Scope, r.Mechanism, av)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "an existing cluster (default: the kind cluster)")
	f.StringVar(&kubeContext, "context", "", "kubeconfig context")
	f.StringVar(&kindName, "kind-name", clusters.DefaultKindName, "kind cluster")
	f.StringVar(&agentImage, "agent-image", "", "the node agent image a run would use on a real cluster")
	f.BoolVar(&asJSON, "json", false, "JSON instead of a table")
	f.BoolVar(&expected, "expectations", false, "what each fault is expected to leave true, per replication mode (the expectations table with the operator's overrides)")
	f.StringVar(&operator, "operator", registry.Names()[0], "whose clusters the faults would hit: "+strings.Join(registry.Names(), ", "))
	return cmd
}

// faultsListEnv is the environment a run would give the faults: the kind
// host and a buildable agent on kind, the agent only with --agent-image
// elsewhere. The error says why no cluster could be reached.
func faultsListEnv(ctx context.Context, adapter operators.Adapter, kubeconfig, kubeContext, kindName, agentImage string) (faults.Env, error) {
	env := faults.Env{Listing: true, Operator: adapter.Deployment()}
	onKind := kubeconfig == ""
	if onKind {
		k := clusters.NewKind(clusters.KindOptions{Name: kindName})
		st, err := k.Status(ctx)
		if err != nil {
			return env, err
		}
		if !st.Exists {
			return env, fmt.Errorf("kind cluster %s does not exist (pgchaos cluster create)", kindName)
		}
		if kubeconfig, err = k.KubeConfig(ctx); err != nil {
			return env, err
		}
		self, _ := os.Executable()
		env.Host = faults.NewHost(kindName, self)
	}
	kc, err := kube.New(kubeconfig, kubeContext)
	if err != nil {
		return env, err
	}
	if _, err := kc.CS.Discovery().ServerVersion(); err != nil {
		return env, fmt.Errorf("reaching the API server: %w", err)
	}
	env.Kube = kc
	if onKind || agentImage != "" {
		env.Agent = &agent.Client{Kube: kc} // a run installs it
	}
	// Availability does not depend on a particular Postgres cluster, only on
	// the adapter: a handle on a (possibly absent) cluster of it.
	env.Cluster = adapter.New(operators.Options{Kube: kc}).Open(operators.Ref{Namespace: "pgchaos", Name: "pg-async"})
	return env, nil
}
