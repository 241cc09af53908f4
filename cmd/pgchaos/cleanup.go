package main

import (
	"fmt"

	"github.com/pgchaos/pgchaos/clusters"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/cnpg"
	"github.com/pgchaos/pgchaos/operators/kube"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// clusterKinds lists the cluster kinds of every operator adapter: ONE list.
func clusterKinds() []schema.GroupVersionKind { return []schema.GroupVersionKind{cnpg.ClusterGVK} }

// newCleanupCmd is `pgchaos cleanup`: delete what runs left behind.
func newCleanupCmd() *cobra.Command {
	var kubeconfig, kubeContext, kindName, runID string
	cmd := &cobra.Command{
		Use:   "cleanup [--run-id ID] [--kubeconfig F | --kind-name N]",
		Short: "Delete every Postgres cluster, Service and namespace a run created (labelled pgchaos.io/run-id)",
		Long: `Deletes the objects labelled pgchaos.io/run-id (only those of --run-id when
given): operators' clusters first, so that the operators delete their pods and
volumes, then Services, then namespaces. Installed operators are left in place.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if kubeconfig == "" {
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
			done, err := operators.Cleanup(ctx, kc, runID, clusterKinds())
			for _, d := range done {
				fmt.Fprintln(cmd.OutOrStdout(), "deleted "+d)
			}
			if err != nil {
				return usageErr("cleanup: %v", err)
			}
			if len(done) == 0 {
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
