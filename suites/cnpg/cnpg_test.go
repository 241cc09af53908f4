package cnpg_test

import (
	"context"
	"fmt"
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

var _ = Describe("CloudNativePG", Label(suites.LabelOperatorCNPG), Ordered, func() {
	s := &suite{}
	// The timeouts are read while the tree is built (node timeouts need
	// them); a bad override fails the first spec.
	tm, tmErr := suites.TimeoutsFromEnv(suites.Getenv)
	BeforeAll(func(ctx SpecContext) {
		Expect(tmErr).NotTo(HaveOccurred())
		setupSuite(ctx, s)
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

	for _, sync := range []bool{false, true} {
		mode, modeLabel := "async", suites.LabelAsync
		if sync {
			mode, modeLabel = "sync", suites.LabelSync
		}
		Context("with "+mode+" replication", Label(modeLabel), Ordered, func() {
			var prov *scenario.Provisioned
			BeforeAll(func(ctx SpecContext) {
				spec := operators.ClusterSpec{
					Ref:       operators.Ref{Namespace: "pgchaos-suite", Name: "pg-" + mode},
					Instances: 3, Synchronous: sync, StorageSize: "1Gi",
					Image: s.target.Image, PullPolicy: s.target.PullPolicy, RunID: s.runID,
				}
				By(fmt.Sprintf("creating a 3-instance %s cluster %s", mode, spec.Ref))
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
				if sync && f.Name() == faults.PrimaryPodDelete.Name() {
					labels = Label(suites.FaultLabel(f.Name()), suites.LabelDisruptive, suites.LabelSmoke)
				}
				It(f.Name(), labels, func(ctx SpecContext) {
					runSpec(ctx, s, prov, f, sync)
				}, SpecTimeout(tm.Spec))
			}
		})
	}
})

// runSpec runs one faulted trial and asserts on its verdicts; on failure the
// trial and the cluster's artifacts stay in the spec's directory.
func runSpec(ctx SpecContext, s *suite, prov *scenario.Provisioned, f faults.Fault, sync bool) {
	Expect(prov).NotTo(BeNil(), "the cluster was not provisioned")
	t := s.env.Timeouts
	dir := s.env.SpecDir(fmt.Sprintf("%s-%s", map[bool]string{false: "async", true: "sync"}[sync], f.Name()))
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
	fenv.Kube, fenv.Cluster = s.target.Kube, prov.Cluster
	if err := f.Available(ctx, fenv); err != nil {
		Skip(fmt.Sprintf("fault %s is not available here: %v", f.Name(), err))
	}
	By("checking the cluster is ready before the fault")
	Expect(prov.Cluster.WaitReady(ctx)).To(Succeed())
	By(fmt.Sprintf("running the workload with fault %s; trial in %s", f.Name(), dir))
	sched := scenario.DefaultSchedule()
	sched.ReadyTimeout = t.Recover
	sched.ReplicationBudget = t.ReplicationBudget // watch until replication-recovery is decided
	if h := faults.InfoOf(f).Hold; h > 0 {
		sched.Hold = h
	}
	fenv.Hold = sched.Hold
	out, err := scenario.RunFaulted(ctx, scenario.Plan{
		Spec: scenario.Spec{Out: dir, Seed: s.env.Seed, Monitor: prov.Monitor, Command: "suites/cnpg " + CurrentSpecReport().FullText(),
			Workload: workload.Config{DSN: prov.ReadWriteDSN, Clients: 4, Rate: 200, OpTimeout: 5 * time.Second}},
		Kube: s.target.Kube, Cluster: prov.Cluster, Fault: f, Schedule: sched, Final: prov.Final,
		RWService: prov.Exposure.ReadWriteService, Progress: func(l string) { GinkgoWriter.Println(l) }, Env: fenv,
	})
	Expect(err).NotTo(HaveOccurred(), "the trial did not complete")
	AddReportEntry("seed", out.Seed)
	tr, err := history.Load(dir)
	Expect(err).NotTo(HaveOccurred(), "the trial is not checkable")
	cfg := assert.DefaultConfig()
	cfg.RTOBudget, cfg.ReplicationBudget = t.RTOBudget, t.ReplicationBudget
	cfg.Expect = faults.ExpectOf(f, sync)
	rep := assert.Run(tr, cfg)
	Expect(history.WriteReport(dir, rep)).To(Succeed())
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
