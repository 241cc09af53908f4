package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/pgchaos/pgchaos/assert"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/faults/agent"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/suites"
	"github.com/pgchaos/pgchaos/workload"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// One Ordered container per operator of the registry, labelled
// operator:<name>: select one with -ginkgo.label-filter. Only the
// containers with a selected spec set anything up (images, install).
// The targets shipped in targets/ (PGCHAOS_TARGETS) get a container each
// too, labelled operator:<target name>.
var _ = func() bool {
	adapters, err := suites.Adapters(os.Getenv("PGCHAOS_TARGETS"))
	if err != nil {
		panic(fmt.Sprintf("suite: %v", err)) // a shipped target file is broken: fail loudly
	}
	for _, a := range adapters {
		describeOperator(a)
	}
	return true
}()

func describeOperator(a operators.Adapter) {
	Describe(a.Title(), Label(suites.OperatorLabel(a.Name())), Ordered, func() {
		s := &suite{}
		// The timeouts are read while the tree is built (node timeouts need
		// them); a bad override fails the first spec.
		tm, tmErr := suites.TimeoutsFromEnv(suites.Getenv)
		BeforeAll(func(ctx SpecContext) {
			Expect(tmErr).NotTo(HaveOccurred())
			setupSuite(ctx, s, a)
		}, NodeTimeout(tm.Images+tm.Install))
		AfterAll(func(ctx SpecContext) {
			if s.agentDone != nil {
				By("uninstalling the node agent")
				s.agentDone(ctx)
				Eventually(func() bool {
					_, err := s.target.Kube.CS.AppsV1().DaemonSets(agent.Namespace).Get(ctx, agent.Name, metav1.GetOptions{})
					return apierrors.IsNotFound(err)
				}).WithContext(ctx).WithTimeout(2*time.Minute).WithPolling(2*time.Second).Should(BeTrue(), "the node agent is still installed")
			}
		}, NodeTimeout(5*time.Minute))

		for _, mode := range suites.Modes(a) {
			modeLabel := suites.LabelAsync
			if mode == faults.Sync {
				modeLabel = suites.LabelSync
			}
			Context("with "+mode+" replication", Label(modeLabel), Ordered, func() {
				var prov *scenario.Provisioned
				BeforeAll(func(ctx SpecContext) {
					spec := operators.ClusterSpec{
						Ref:       operators.Ref{Namespace: "pgchaos-e2e-" + a.Name(), Name: "pg-" + mode},
						Instances: 3, Synchronous: mode == faults.Sync, StorageSize: "1Gi",
						Image: s.target.Image, PullPolicy: s.target.PullPolicy, RunID: s.runID,
					}
					By(fmt.Sprintf("creating a 3-instance %s %s cluster %s", mode, a.Title(), spec.Ref))
					var cleanup func(context.Context) error
					var err error
					prov, cleanup, err = scenario.Provision(ctx, scenario.ProvisionOptions{
						Kube: s.target.Kube, Operator: s.target.Operator, Spec: spec, SkipInstall: true,
						Progress: func(l string) { GinkgoWriter.Println(l) },
					})
					DeferCleanup(func(ctx SpecContext) {
						By("deleting cluster " + spec.Ref.String())
						Expect(cleanup(ctx)).To(Succeed())
						By("checking nothing labelled with run " + s.runID + " is left in " + spec.Ref.Namespace)
						expectRunClean(ctx, s.target.Kube, s.runID, spec.Ref.Namespace)
					}, NodeTimeout(tm.Cleanup+4*time.Minute))
					Expect(err).NotTo(HaveOccurred())
				}, NodeTimeout(tm.ClusterReady+2*time.Minute))

				for _, f := range faults.All() {
					labels := Label(suites.FaultLabel(f.Name()), suites.LabelDisruptive)
					if mode == faults.Sync && f.Name() == faults.PrimaryPodDelete.Name() {
						labels = Label(suites.FaultLabel(f.Name()), suites.LabelDisruptive, suites.LabelSmoke)
					}
					It(f.Name(), labels, func(ctx SpecContext) {
						runSpec(ctx, s, prov, f, mode)
					}, SpecTimeout(tm.Spec))
				}
			})
		}
	})
}

// runSpec runs one faulted trial and asserts on its verdicts; on failure the
// trial and the cluster's artifacts stay in the spec's directory.
func runSpec(ctx SpecContext, s *suite, prov *scenario.Provisioned, f faults.Fault, mode string) {
	Expect(prov).NotTo(BeNil(), "the cluster was not provisioned")
	t := s.env.Timeouts
	sync := mode == faults.Sync
	dir := s.env.SpecDir(fmt.Sprintf("%s-%s-%s", s.target.Adapter.Name(), mode, f.Name()))
	DeferCleanup(func(ctx SpecContext) {
		if CurrentSpecReport().Failed() {
			By("collecting artifacts into " + dir)
			err := suites.CollectArtifacts(ctx, s.target.Kube, s.target.Adapter, prov.Cluster.Ref().Namespace, filepath.Join(dir, "artifacts"))
			if err != nil {
				GinkgoWriter.Println("artifacts: " + err.Error())
			}
		}
	}, NodeTimeout(2*time.Minute))
	fenv := s.faultEnv(ctx, f)
	fenv.Kube, fenv.Cluster, fenv.Superuser = s.target.Kube, prov.Cluster, prov.Superuser()
	if err := f.Available(ctx, fenv); err != nil {
		Skip(fmt.Sprintf("fault %s is not available here: %v", f.Name(), err))
	}
	By(fmt.Sprintf("running the workload with fault %s; trial in %s", f.Name(), dir))
	sched := scenario.DefaultSchedule()
	sched.ReadyTimeout = t.Recover
	sched.ReplicationBudget = t.ReplicationBudget // watch until replication-recovery is decided
	if h := faults.InfoOf(f).Hold; h > 0 {
		sched.Hold = h
	}
	fenv.Hold = sched.Hold
	cfg := assert.DefaultConfig()
	cfg.RTOBudget, cfg.ReplicationBudget = t.RTOBudget, t.ReplicationBudget
	ex := scenario.ExpectationFor(s.target.Adapter, f, mode)
	AddReportEntry("expected", ex.Text())
	j, err := scenario.Execute(ctx, scenario.Plan{
		Spec: scenario.Spec{Out: dir, Seed: s.env.Seed, Monitor: prov.Monitor, Command: "suites/e2e " + CurrentSpecReport().FullText(),
			Workload: workload.Config{DSN: prov.ReadWriteDSN, Clients: 4, Rate: 200, OpTimeout: 5 * time.Second}},
		Kube: s.target.Kube, Cluster: prov.Cluster, Fault: f, Schedule: sched, Final: prov.Final,
		RWService: prov.Exposure.ReadWriteService, Progress: func(l string) { GinkgoWriter.Println(l) }, Env: fenv,
		ClientsHost: prov.Exposure.ReadWrite.Host,
	}, cfg, ex)
	Expect(err).NotTo(HaveOccurred(), "the trial did not complete or could not be judged")
	out, tr, rep := j.Outcome, j.Trial, j.Report
	AddReportEntry("seed", out.Seed)
	AddReportEntry("placement", out.Placement.Summary())
	By("checking placement.json records where the fault struck")
	pl, err := history.ReadPlacement(dir)
	Expect(err).NotTo(HaveOccurred())
	Expect(pl).NotTo(BeNil(), "placement.json is missing from %s", dir)
	Expect(*pl).To(Equal(out.Placement), "placement.json disagrees with the trial's outcome")
	Expect(pl.Policy).To(Equal(scenario.PlacementApart))
	if pl.NodeFault {
		Expect(pl.OperatorHit).To(BeFalse(), "policy apart, yet the node fault hit the operator: %s", pl.Summary())
	}
	for _, c := range rep.Checks {
		AddReportEntry(c.Name, fmt.Sprintf("%s: %s", c.Status, c.Summary))
	}
	if !sync {
		// Asynchronous: a loss is allowed and measured; the figure is reported.
		AddReportEntry("async lost acknowledged writes", verdicts(rep)[history.CheckLostAckedWrites].Figures["lost"])
	}
	// What the harness must get right, every time (see suites.Env).
	findings := expectHarnessJudged(ctx, prov, f, dir, tr, rep, out, t.ReplicationBudget)
	// What the operator did, where it is not deterministic: recorded, and
	// gated only with PGCHAOS_GATE_FINDINGS=1.
	recordFindings(dir, append(findings, operatorFindings(rep, sync)...), s.env.GateFindings)
}

func verdicts(rep history.Report) map[string]history.Verdict {
	m := map[string]history.Verdict{}
	for _, c := range rep.Checks {
		m[c.Name] = c
	}
	return m
}
