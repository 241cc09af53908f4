package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pgchaos/pgchaos/clusters/nodeimage"
)

// newImagesCmd is `pgchaos images build`: the offline kind node image.
func newImagesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "images", Short: "Build the images a kind cluster needs, offline"}
	var cacheDir string
	build := &cobra.Command{
		Use:   "build",
		Short: "Build (or find cached) the kind node image with every component image preloaded",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			img, err := buildNodeImage(cmd, cacheDir)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), img)
			return nil
		},
	}
	build.Flags().StringVar(&cacheDir, "cache", "/var/cache/pgchaos", "cache directory for build artifacts")
	cmd.AddCommand(build)
	return cmd
}

// buildNodeImage builds the node image, printing progress on stderr.
func buildNodeImage(cmd *cobra.Command, cacheDir string) (string, error) {
	p := newStepPrinter(cmd.ErrOrStderr())
	if img, ok := nodeimage.Upstream(cmd.Context()); ok {
		p.line("using kind's upstream node image " + img + ": nothing to build")
		return img, nil
	}
	shim := ""
	need, err := nodeimage.HostNeedsShim()
	if err != nil {
		return "", &exitError{code: exitBadInput, msg: err.Error()}
	}
	if need {
		shim = "/usr/local/bin/pgchaos-runc-shim"
		if _, err := os.Stat(shim); err != nil {
			return "", &exitError{code: exitBadInput, msg: "this host lacks CAP_SYS_RESOURCE and " + shim + " is missing: run ci/host-prep.sh"}
		}
	}
	start := time.Now()
	res, err := nodeimage.Build(cmd.Context(), nodeimage.Options{
		CacheDir:   cacheDir,
		ShimBinary: shim,
		Progress:   p.line,
	})
	if err != nil {
		return "", &exitError{code: exitBadInput, msg: "images build: " + err.Error()}
	}
	built := "nothing (all cached)"
	if len(res.Built) > 0 {
		built = strings.Join(res.Built, ", ")
	}
	p.line(fmt.Sprintf("node image %s ready in %s; built: %s", res.Image, time.Since(start).Round(time.Second), built))
	return res.Image, nil
}
