package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/clusters"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/spf13/cobra"
)

// newOperatorImagesCmd is `pgchaos images NAME` for one adapter: its
// operator and PostgreSQL images, built offline, optionally loaded into a
// kind cluster.
func newOperatorImagesCmd(a operators.Adapter) *cobra.Command {
	var opts operators.ImageOptions
	var kindName string
	name := a.Name()
	cmd := &cobra.Command{
		Use:   name + " [--version V] [--load KIND_CLUSTER]",
		Short: "Build (or find cached) the " + a.Title() + " operator image and its PostgreSQL image, offline",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.CheckVersion(opts.Version); err != nil {
				return usageErr("images %s: --version: %v", name, err)
			}
			p := newStepPrinter(cmd.ErrOrStderr())
			opts.Progress = p.line
			start := time.Now()
			imgs, err := a.BuildImages(cmd.Context(), opts)
			if err != nil {
				return usageErr("images %s: %v", name, err)
			}
			p.line(fmt.Sprintf("images ready in %s", time.Since(start).Round(time.Second)))
			if kindName != "" {
				t := time.Now()
				if err := clusters.LoadIntoKind(cmd.Context(), kindName, imgs.Operator, imgs.Postgres); err != nil {
					return usageErr("images %s: %v", name, err)
				}
				p.line(fmt.Sprintf("loaded into kind cluster %s in %s", kindName, time.Since(t).Round(time.Second)))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "operator %s\npostgres %s\n", imgs.Operator, imgs.Postgres)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.CacheDir, "cache", "/var/cache/pgchaos", "cache directory for build artifacts")
	f.StringVar(&opts.Version, "version", a.DefaultVersion(), a.Title()+" version (its Go module must be on the module proxy; known to build: "+strings.Join(a.Versions(), ", ")+")")
	f.StringVar(&opts.PostgresMajor, "postgres", "15", "PostgreSQL major version (Debian package postgresql-N)")
	f.StringVar(&kindName, "load", "", "load the images into every node of this kind cluster")
	return cmd
}
