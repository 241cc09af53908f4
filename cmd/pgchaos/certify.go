package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/assert"
	"github.com/pgchaos/pgchaos/certify"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/registry"
	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/spf13/cobra"
)

// newCertifyCmd is `pgchaos certify`: a profile run against an operator,
// then its certificate; `certify verify DIR` re-judges one.
func newCertifyCmd() *cobra.Command {
	f := runFlags{sched: scenario.DefaultSchedule(), check: assert.DefaultConfig()}
	var profilePath string
	cmd := &cobra.Command{
		Use:   "certify --operator NAME --profile FILE --out DIR [--operator-version V] [--kubeconfig F | --kind-name N]",
		Short: "Run a certification profile against an operator and issue its certificate (certificate.json, certificate.html)",
		Long: `Runs the profile's scenarios per replication mode, as often as it says,
exactly as 'pgchaos run' does (same clusters, workload, faults, checkers),
then judges every requirement of the profile over the trials and writes
DIR/certificate.json and DIR/certificate.html: the profile's hash and text,
every software version, each requirement PASS / FAIL / UNDECIDED with its
evidence, the seeds and the SHA-256 of every raw trial file. A requirement
that could not be decided, or a trial that did not run, makes the
certificate UNDECIDED, never PASS. Exit 0 on PASS, 1 otherwise, 2 on bad
input. 'pgchaos certify verify DIR' re-checks it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runCertify(cmd, f, profilePath) },
	}
	fl := cmd.Flags()
	fl.StringVar(&profilePath, "profile", "", "certification profile file (profiles/*.yaml)")
	addTargetFlags(fl, &f)
	fl.StringVar(&f.out, "out", "", "directory to create: the run and its certificate")
	fl.StringVar(&f.namespace, "namespace", "pgchaos", "namespace of the Postgres clusters")
	fl.StringVar(&f.placement, "operator-placement", scenario.PlacementApart, "where the operator runs when a node fault strikes (see pgchaos run)")
	fl.Int64Var(&f.seed, "seed", 0, "random seed (0: one per trial, recorded in the certificate)")
	fl.BoolVar(&f.skipInstall, "skip-install", false, "the operator is installed already")
	cmd.AddCommand(newCertifyVerifyCmd())
	return cmd
}

func runCertify(cmd *cobra.Command, f runFlags, profilePath string) error {
	bad := func(format string, a ...any) error { return usageErr("certify: "+format, a...) }
	if profilePath == "" {
		return bad("--profile FILE is required (see profiles/)")
	}
	prof, _, err := certify.LoadProfile(profilePath)
	if err != nil {
		return bad("%v", err)
	}
	text, err := os.ReadFile(profilePath)
	if err != nil {
		return bad("%v", err)
	}
	if f.out == "" {
		return bad("--out DIR is required")
	}
	if _, err := chooseAdapter(&f); err != nil {
		return bad("%v", err)
	}
	// What `pgchaos run`'s flags default to; the profile's plan replaces
	// --scenario, --replication and --repeat.
	f.instances, f.storageSize, f.clients, f.rate = 3, "1Gi", 4, 200
	f.scenario, f.replication, f.repeat = "default", "both", 1
	if prof.Clients > 0 {
		f.clients = prof.Clients
	}
	if prof.Rate > 0 {
		f.rate = prof.Rate
	}
	set := func(dst *time.Duration, d certify.Duration) {
		if d > 0 {
			*dst = time.Duration(d)
		}
	}
	set(&f.sched.WarmUp, prof.WarmUp)
	set(&f.sched.CoolDown, prof.CoolDown)
	if prof.Hold > 0 {
		f.sched.Hold, f.holdFixed = time.Duration(prof.Hold), true
	}
	set(&f.check.RTOBudget, prof.RTOBudget)
	set(&f.check.ReplicationBudget, prof.ReplicationBudget)
	f.plan = map[string]modePlan{}
	for _, mode := range prof.ModeNames() {
		mp := modePlan{repeat: prof.Repeat(mode)}
		for _, name := range prof.Modes[mode].Scenarios {
			fl, err := faults.ByName(name)
			if err != nil {
				return bad("%v", err)
			}
			mp.faults = append(mp.faults, fl)
		}
		f.plan[mode] = mp
	}
	p := newStepPrinter(cmd.ErrOrStderr())
	p.line(fmt.Sprintf("profile %s v%d: %d trials (%s)", prof.Name, prof.Version, prof.Trials(), strings.Join(prof.ModeNames(), ", ")))
	runErr := runTrial(cmd, f)
	var ee *exitError
	if runErr != nil && !(errors.As(runErr, &ee) && ee.code == exitFailed) {
		return runErr // bad input, or the run could not go on: no certificate
	}
	res, _, err := reports.LoadResults(f.out)
	if err != nil {
		return bad("the run wrote no results to certify: %v", err)
	}
	cert, err := certify.Build(f.out, prof, profilePath, text, res)
	if err != nil {
		return bad("%v", err)
	}
	if err := cert.Write(f.out); err != nil {
		return bad("%v", err)
	}
	printCertificate(cmd, cert)
	fmt.Fprintf(cmd.OutOrStdout(), "certificate: %s, %s\n", filepath.Join(f.out, certify.CertificateFile), filepath.Join(f.out, certify.CertificateHTML))
	if cert.Status != certify.Pass {
		return &exitError{code: exitFailed}
	}
	return nil
}

func printCertificate(cmd *cobra.Command, c *certify.Certificate) {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "\ncertificate %s (profile %s v%d, operator %s)\n", c.Status, c.Profile.Name, c.Profile.Version, c.Operator)
	if c.Reason != "" {
		fmt.Fprintf(w, "  %s\n", c.Reason)
	}
	for _, r := range c.Requirements {
		line := fmt.Sprintf("  %-9s %-28s %s", r.Status, r.ID, r.Description)
		if len(r.Evidence) > 0 {
			line += " — " + r.Evidence[0]
		}
		fmt.Fprintln(w, line)
	}
}

func newCertifyVerifyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "verify DIR",
		Short: "Re-judge a certificate's trials from their raw files and re-check every hash",
		Long: `Reads DIR/certificate.json, checks the embedded profile against its hash
and every raw trial file against its SHA-256, re-judges every trial with this
binary's checkers (the certificate's budgets, the expectations of its
operator) and re-evaluates every requirement. Exit 0 when the certificate
stands, 1 when something changed (one line each), 2 on bad input.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			c, err := certify.Read(dir)
			if err != nil {
				return usageErr("certify verify: %v", err)
			}
			var adapter operators.Adapter
			if c.Operator != "" {
				if adapter, err = registry.ByName(c.Operator); err != nil {
					return usageErr("certify verify: the certificate's operator: %v", err)
				}
			}
			expect := func(fault, mode string) (history.Expect, error) {
				fl, err := faults.ByName(fault)
				if err != nil {
					return history.Expect{}, err
				}
				return scenario.ExpectationFor(adapter, fl, mode).Expect, nil
			}
			v, err := certify.Verify(dir, expect)
			if err != nil {
				return usageErr("certify verify: %v", err)
			}
			w := cmd.OutOrStdout()
			for _, pr := range v.Problems {
				fmt.Fprintln(w, pr)
			}
			if len(v.Problems) > 0 {
				return &exitError{code: exitFailed, msg: fmt.Sprintf("certify verify: the certificate in %s does not stand: %d problem(s)", dir, len(v.Problems))}
			}
			fmt.Fprintf(w, "certificate stands: %d trials re-judged, every file as certified, status %s\n", v.Trials, v.Status)
			return nil
		},
	}
}

// newProfileCmd is `pgchaos profile validate FILE`.
func newProfileCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "profile", Short: "Certification profiles"}
	cmd.AddCommand(&cobra.Command{
		Use:   "validate FILE",
		Short: "Check a certification profile: fields, faults, checks, modes, budgets",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, sum, err := certify.LoadProfile(args[0])
			if err != nil {
				return usageErr("profile validate: %v", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: profile %s v%d, %d trials over %s, %d requirements, SHA-256 %s\n",
				args[0], p.Name, p.Version, p.Trials(), strings.Join(p.ModeNames(), ", "), len(p.Requirements), sum)
			return nil
		},
	})
	return cmd
}
