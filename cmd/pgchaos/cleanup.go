package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/pgchaos/pgchaos/clusters"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
	"github.com/pgchaos/pgchaos/operators/registry"
	"github.com/spf13/cobra"
)

// newCleanupCmd is `pgchaos cleanup`: delete what runs left behind.
func newCleanupCmd() *cobra.Command {
	var kubeconfig, kubeContext, kindName, runID string
	cmd := &cobra.Command{
		Use:   "cleanup [--run-id ID] [--kubeconfig F | --kind-name N]",
		Short: "Revert every fault a run left applied, then delete every Postgres cluster, Service and namespace it created",
		Long: `Reverts first every fault left applied (kind node containers stopped, paused or cut
off, the node agents' partitions and freezes, operators scaled to zero, nodes
cordoned) and removes the node agent; then deletes the objects labelled pgchaos.io/run-id (only those of --run-id when
given): operators' clusters first, so that the operators delete their pods and
volumes, then Services, then namespaces. Installed operators are left in place.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var host *faults.Host
			if kubeconfig == "" {
				self, _ := os.Executable()
				host = faults.NewHost(kindName, self)
				k := clusters.NewKind(clusters.KindOptions{Name: kindName})
				path, err := k.KubeConfig(ctx)
				if err != nil {
					return usageErr("cleanup: %v", err)
				}
				kubeconfig = path
			}
			kc, err := kube.New(kubeconfig, kubeContext)
			if err != nil {
				return usageErr("cleanup: %v", err)
			}
			// Faults first: a stopped node or a cut network would stall the rest.
			reverted, ferr := faults.Cleanup(ctx, kc, host, runID, registry.Deployments())
			for _, d := range reverted {
				fmt.Fprintln(cmd.OutOrStdout(), d)
			}
			done, err := operators.Cleanup(ctx, kc, runID, registry.ClusterKinds())
			for _, d := range done {
				fmt.Fprintln(cmd.OutOrStdout(), "deleted "+d)
			}
			if err = errors.Join(ferr, err); err != nil {
				return usageErr("cleanup: %v", err)
			}
			if len(done)+len(reverted) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "nothing labelled %s\n", operators.RunSelector(runID))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&runID, "run-id", "", "only this run's objects (default: every run's)")
	f.StringVar(&kubeconfig, "kubeconfig", "", "an existing cluster (default: the kind cluster)")
	f.StringVar(&kubeContext, "context", "", "kubeconfig context")
	f.StringVar(&kindName, "kind-name", clusters.DefaultKindName, "kind cluster")
	return cmd
}
