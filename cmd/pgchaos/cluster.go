package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/pgchaos/pgchaos/clusters"
)

// newClusterCmd is `pgchaos cluster create|delete|status`.
func newClusterCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "Create, delete or inspect the local kind cluster"}
	var name, nodeImage, logDir, cacheDir, kubeconfig, kubeContext string
	var workers int
	var retain bool
	var readyTimeout time.Duration
	cmd.PersistentFlags().StringVar(&name, "name", clusters.DefaultKindName, "kind cluster name")

	create := &cobra.Command{
		Use:   "create",
		Short: "Create a kind cluster (1 control plane + N workers) and wait until every node is Ready",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if workers < 1 {
				return &exitError{code: exitBadInput, msg: fmt.Sprintf("--workers must be at least 1, got %d", workers)}
			}
			img := nodeImage
			if img == "" {
				var err error
				if img, err = buildNodeImage(cmd, cacheDir); err != nil {
					return err
				}
			}
			p := newStepPrinter(cmd.ErrOrStderr())
			k := clusters.NewKind(clusters.KindOptions{
				Name: name, Workers: workers, NodeImage: img, Retain: retain,
				ReadyTimeout: readyTimeout, LogDir: logDir, Progress: p.line,
			})
			start := time.Now()
			if err := k.Create(cmd.Context()); err != nil {
				return &exitError{code: exitBadInput, msg: err.Error()}
			}
			p.line(fmt.Sprintf("cluster %s: %d nodes Ready in %s", name, workers+1, time.Since(start).Round(time.Second)))
			fmt.Fprintf(cmd.OutOrStdout(), "kubeconfig: %s\n", k.KubeconfigPath())
			return nil
		},
	}
	create.Flags().IntVar(&workers, "workers", 3, "number of worker nodes")
	create.Flags().StringVar(&nodeImage, "image", os.Getenv("PGCHAOS_NODE_IMAGE"), "node image (default: build or reuse the offline image)")
	create.Flags().BoolVar(&retain, "retain", false, "keep the nodes of a failed create")
	create.Flags().DurationVar(&readyTimeout, "wait", 3*time.Minute, "how long to wait for every node to be Ready")
	create.Flags().StringVar(&logDir, "logs", "", "where to collect logs when create fails (default: a new temp dir)")
	create.Flags().StringVar(&cacheDir, "cache", "/var/cache/pgchaos", "cache directory for image build artifacts")

	del := &cobra.Command{
		Use:   "delete",
		Short: "Delete the kind cluster, its volumes and kubeconfig",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p := newStepPrinter(cmd.ErrOrStderr())
			start := time.Now()
			k := clusters.NewKind(clusters.KindOptions{Name: name, Progress: p.line})
			exists, err := k.Exists(cmd.Context())
			if err != nil {
				return &exitError{code: exitBadInput, msg: err.Error()}
			}
			if !exists {
				p.line(fmt.Sprintf("cluster %s does not exist: nothing to delete", name))
				return nil
			}
			if err := k.Delete(cmd.Context()); err != nil {
				return &exitError{code: exitBadInput, msg: err.Error()}
			}
			p.line(fmt.Sprintf("cluster %s deleted in %s", name, time.Since(start).Round(time.Second)))
			return nil
		},
	}

	status := &cobra.Command{
		Use:   "status",
		Short: "Show the kind cluster's nodes and readiness (exit 1 when not all Ready)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var prov clusters.Provider
			if kubeconfig != "" || kubeContext != "" {
				e, err := clusters.NewExisting(kubeconfig, kubeContext)
				if err != nil {
					return &exitError{code: exitBadInput, msg: err.Error()}
				}
				prov = e
			} else {
				prov = clusters.NewKind(clusters.KindOptions{Name: name})
			}
			st, err := prov.Status(cmd.Context())
			if err != nil {
				return &exitError{code: exitBadInput, msg: err.Error()}
			}
			out := cmd.OutOrStdout()
			if !st.Exists {
				fmt.Fprintf(out, "cluster %s: absent\n", prov.Name())
				return &exitError{code: exitFailed}
			}
			for _, n := range st.Nodes {
				state := "Ready"
				if !n.Ready {
					state = "NotReady (" + n.Reason + ")"
				}
				fmt.Fprintf(out, "%-32s %-14s %s\n", n.Name, n.Role, state)
			}
			path, err := prov.KubeConfig(cmd.Context())
			if err != nil {
				return &exitError{code: exitBadInput, msg: err.Error()}
			}
			fmt.Fprintf(out, "kubeconfig: %s\n", path)
			if !st.Ready() {
				return &exitError{code: exitFailed}
			}
			return nil
		},
	}
	status.Flags().StringVar(&kubeconfig, "kubeconfig", "", "an existing cluster's kubeconfig (instead of the kind cluster)")
	status.Flags().StringVar(&kubeContext, "context", "", "the kubeconfig context (default: its current context)")
	cmd.AddCommand(create, del, status)
	return cmd
}
