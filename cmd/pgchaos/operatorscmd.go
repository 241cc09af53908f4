package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pgchaos/pgchaos/operators/registry"
	"github.com/spf13/cobra"
)

// operatorRow is one line of `pgchaos operators`.
type operatorRow struct {
	Name           string   `json:"name"`
	Title          string   `json:"title"`
	DefaultVersion string   `json:"default_version"`
	Versions       []string `json:"versions"`
	Deployment     string   `json:"deployment"`
	CanRun         bool     `json:"can_run"`
	Why            string   `json:"why,omitempty"`
}

// newOperatorsCmd is `pgchaos operators`: the adapters, their versions and
// whether their images can be built here.
func newOperatorsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "operators [--json]",
		Short: "List the operator adapters with their versions and whether they can run here",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			var rows []operatorRow
			for _, a := range registry.All() {
				r := operatorRow{Name: a.Name(), Title: a.Title(), DefaultVersion: a.DefaultVersion(),
					Versions: a.Versions(), Deployment: a.Deployment().String(), CanRun: true}
				if err := a.Available(ctx); err != nil {
					r.CanRun, r.Why = false, err.Error()
				}
				rows = append(rows, r)
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tOPERATOR\tDEFAULT\tVERSIONS\tDEPLOYMENT\tCAN RUN HERE")
			for _, r := range rows {
				can := "yes"
				if !r.CanRun {
					can = "no: " + r.Why
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Title, r.DefaultVersion, strings.Join(r.Versions, ","), r.Deployment, can)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "JSON instead of a table")
	return cmd
}
