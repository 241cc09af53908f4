package main

import (
	"fmt"
	"strings"

	"github.com/pgchaos/pgchaos/clusters"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/target"
	"github.com/spf13/cobra"
)

// newTargetCmd is `pgchaos target`: target files (an HA stack no adapter
// knows, described by its objects).
func newTargetCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "target", Short: "Target files: HA stacks no operator adapter knows"}
	var f runFlags
	var static bool
	validate := &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a target file, then, field by field, against its running cluster",
		Long: `Checks the file (schema, selectors, variables, manifests present), then the
running cluster NAME in the namespace: the instances the selector finds, the one
primary, the replicas, the container and data directory of each, the read-write
Service and where it routes, the credentials' Secrets. Prints one line per
finding; exit 0 when every field holds, 2 when one does not (the last line says
which) or the file is bad. --static checks the file alone.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := target.Load(args[0])
			if err != nil {
				return usageErr("target validate: %v", err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s: target %s (%s %s), %d manifest(s), %d image(s), synchronous %s\n", args[0], t.Metadata.Name,
				t.Spec.Title, t.Spec.Version, len(t.Spec.Manifests), len(t.Spec.Images), t.SyncMode())
			if static {
				return nil
			}
			if t.Spec.Namespace != "" {
				f.namespace = t.Spec.Namespace
			}
			kc, _, err := connectTarget(cmd, f, nil)
			if err != nil {
				return err
			}
			if kc == nil {
				return usageErr("target validate: kind cluster %s does not exist (create it, give --kubeconfig, or --static)", f.kindName)
			}
			ref := operators.Ref{Namespace: f.namespace, Name: f.name}
			var failed []string
			for _, fd := range target.Check(cmd.Context(), kc, t, ref) {
				mark := "ok  "
				if !fd.OK {
					mark = "FAIL"
					failed = append(failed, fd.Field+" ("+fd.Found+")")
				}
				fmt.Fprintf(w, "%s %-28s %s\n", mark, fd.Field, fd.Found)
			}
			if len(failed) > 0 {
				return usageErr("target validate: %s of cluster %s: %d field(s) failed: %s", args[0], ref, len(failed), strings.Join(failed, "; "))
			}
			fmt.Fprintf(w, "cluster %s matches target %s\n", ref, t.Metadata.Name)
			return nil
		},
	}
	fl := validate.Flags()
	fl.BoolVar(&static, "static", false, "check the file only, not a cluster")
	fl.StringVar(&f.name, "name", "pg-async", "the cluster's name (${name}; run names its clusters pg-async and pg-sync)")
	fl.StringVar(&f.namespace, "namespace", "pgchaos", "the cluster's namespace (the target's spec.namespace when it has one)")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "an existing cluster's kubeconfig (default: the local kind cluster)")
	fl.StringVar(&f.kubeContext, "context", "", "kubeconfig context")
	fl.StringVar(&f.kindName, "kind-name", clusters.DefaultKindName, "kind cluster to use")
	cmd.AddCommand(validate)
	return cmd
}
