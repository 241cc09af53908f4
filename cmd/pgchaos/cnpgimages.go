package main

import (
	"fmt"
	"time"

	"github.com/pgchaos/pgchaos/clusters"
	"github.com/pgchaos/pgchaos/operators/cnpg"
	"github.com/spf13/cobra"
)

// newCNPGImagesCmd is `pgchaos images cnpg`: CloudNativePG's operator and
// PostgreSQL images, built offline, optionally loaded into a kind cluster.
func newCNPGImagesCmd() *cobra.Command {
	var opts cnpg.ImageOptions
	var kindName string
	cmd := &cobra.Command{
		Use:   "cnpg [--load KIND_CLUSTER]",
		Short: "Build (or find cached) the CloudNativePG operator image and a PostgreSQL image, offline",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p := newStepPrinter(cmd.ErrOrStderr())
			opts.Progress = p.line
			start := time.Now()
			imgs, err := cnpg.BuildImages(cmd.Context(), opts)
			if err != nil {
				return &exitError{code: exitBadInput, msg: "images cnpg: " + err.Error()}
			}
			p.line(fmt.Sprintf("images ready in %s", time.Since(start).Round(time.Second)))
			if kindName != "" {
				t := time.Now()
				if err := clusters.LoadIntoKind(cmd.Context(), kindName, imgs.Operator, imgs.Postgres); err != nil {
					return &exitError{code: exitBadInput, msg: "images cnpg: " + err.Error()}
				}
				p.line(fmt.Sprintf("loaded into kind cluster %s in %s", kindName, time.Since(t).Round(time.Second)))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "operator %s\npostgres %s\n", imgs.Operator, imgs.Postgres)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.CacheDir, "cache", "/var/cache/pgchaos", "cache directory for build artifacts")
	f.StringVar(&opts.Version, "version", cnpg.DefaultVersion, "CloudNativePG version (its Go module must be on the module proxy)")
	f.StringVar(&opts.PostgresMajor, "postgres", "15", "PostgreSQL major version (Debian package postgresql-N)")
	f.StringVar(&kindName, "load", "", "load the images into every node of this kind cluster")
	return cmd
}
