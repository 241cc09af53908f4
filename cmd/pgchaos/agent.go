package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/faults/agent"
	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// newAgentCmd is `pgchaos agent`: the node agent's side (run in the agent
// DaemonSet's pods and, for kind node faults, on the harness's host).
func newAgentCmd() *cobra.Command {
	var state string
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "The node agent: applies faults with a deadline and reverts them by itself when it passes",
		Long: `pgchaos agent runs inside the privileged node agent DaemonSet that pgchaos installs
(and, for faults on kind node containers, on the harness's host as "agent watchdog").
Every action is recorded in the state directory with its deadline before it takes
effect; "agent run" reverts every action whose deadline has passed (the dead man's
switch) and everything it holds when it stops.`,
	}
	cmd.PersistentFlags().StringVar(&state, "state", agent.StateDir, "state directory of the actions held")
	exe := func() *agent.Executor {
		return &agent.Executor{Store: agent.Store{Dir: state}, Log: func(s string) { fmt.Fprintln(os.Stderr, s) }}
	}

	run := &cobra.Command{
		Use:   "run",
		Short: "Revert expired actions until stopped, then revert everything held",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.ErrOrStderr(), "pgchaos agent: state %s\n", state)
			if err := exe().Run(cmd.Context(), 500*time.Millisecond); err != nil {
				return fmt.Errorf("agent: %w", err)
			}
			return nil
		},
	}

	var watchdogIdle time.Duration
	watchdog := &cobra.Command{
		Use:   "watchdog",
		Short: "Like run, but exits once it has held nothing for --idle (the harness starts it detached)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e := exe()
			ctx := cmd.Context()
			idleSince := time.Now()
			for {
				if _, err := e.RevertExpired(context.WithoutCancel(ctx)); err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), err)
				}
				held, err := e.Store.List()
				if err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), err)
				}
				if len(held) > 0 {
					idleSince = time.Now()
				} else if time.Since(idleSince) >= watchdogIdle {
					return nil
				}
				select {
				case <-ctx.Done():
					// Interrupted: the deadlines still apply; revert only what expired.
					return nil
				case <-time.After(500 * time.Millisecond):
				}
			}
		},
	}
	watchdog.Flags().DurationVar(&watchdogIdle, "idle", 10*time.Second, "exit after holding nothing for this long")

	var js string
	apply := &cobra.Command{
		Use:   "apply --json ACTION",
		Short: "Record and apply one action; prints it as applied (JSON)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := agent.Decode(js)
			if err != nil {
				return usageErr("agent apply: %v", err)
			}
			e := exe()
			if label := os.Getenv(agent.GuardEnv); label != "" {
				cs, err := inClusterClient()
				if err != nil {
					return fmt.Errorf("agent apply: the guard (%s=%s) needs the API server: %w", agent.GuardEnv, label, err)
				}
				e.Check = agent.Guard{CS: cs, Label: label}.Check
			}
			done, err := e.Apply(cmd.Context(), a)
			if err != nil {
				return fmt.Errorf("agent apply: %w", err)
			}
			out, err := done.Encode()
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), out)
			return nil
		},
	}
	apply.Flags().StringVar(&js, "json", "", "the action (JSON)")

	var id, runID string
	var all bool
	revert := &cobra.Command{
		Use:   "revert --id ID | --run-id RUN | --all",
		Short: "Revert actions now; prints the ids reverted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e := exe()
			switch {
			case id != "":
				err := e.Revert(cmd.Context(), id)
				if errors.Is(err, agent.ErrNotFound) {
					return nil // reverted already (deadline), nothing held
				}
				if err != nil {
					return fmt.Errorf("agent revert: %w", err)
				}
				fmt.Fprintln(cmd.OutOrStdout(), id)
				return nil
			case runID != "" || all:
				done, err := e.RevertRun(cmd.Context(), runID)
				if len(done) > 0 {
					fmt.Fprintln(cmd.OutOrStdout(), strings.Join(done, "\n"))
				}
				if err != nil {
					return fmt.Errorf("agent revert: %w", err)
				}
				return nil
			}
			return usageErr("agent revert: give --id, --run-id or --all")
		},
	}
	revert.Flags().StringVar(&id, "id", "", "action id")
	revert.Flags().StringVar(&runID, "run-id", "", "every action of this run")
	revert.Flags().BoolVar(&all, "all", false, "every action")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the actions held, with their deadlines",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			as, err := exe().Store.List()
			for _, a := range as {
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\t%s\tdeadline %s\n", a.ID, a.RunID, a.Describe(), a.Deadline.Format(time.RFC3339))
			}
			if err != nil {
				return fmt.Errorf("agent list: %w", err)
			}
			return nil
		},
	}

	var netns string
	nsexec := &cobra.Command{
		Use:    "nsexec --net PATH -- COMMAND [ARGS...]",
		Short:  "Run a command inside a network namespace (used by the agent for iptables)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if netns == "" || len(args) == 0 {
				return usageErr("agent nsexec: give --net PATH and a command after --")
			}
			return agent.NSExec(netns, args)
		},
	}
	nsexec.Flags().StringVar(&netns, "net", "", "network namespace file (/proc/PID/ns/net)")

	cmd.AddCommand(run, watchdog, apply, revert, list, nsexec)
	return cmd
}

// inClusterClient is a client with the pod's service account.
func inClusterClient() (kubernetes.Interface, error) {
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return nil, err
	}
	cfg.Timeout = 20 * time.Second
	return kubernetes.NewForConfig(cfg)
}
