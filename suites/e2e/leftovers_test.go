package e2e_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/faults/agent"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
	"github.com/pgchaos/pgchaos/operators/registry"
	"github.com/pgchaos/pgchaos/suites"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Never leave chaos behind: `pgchaos run` is interrupted (SIGINT) or killed
// (SIGKILL) while an isolated primary is cut off by the node agent; the
// fault must end anyway — by the run itself, by the agent's deadline, and
// by `pgchaos cleanup` — and nothing of the run may be left.
// The operator the leftovers specs drive: $PGCHAOS_LEFTOVERS_OPERATOR, else
// the registry's first (what is proved is pgchaos's own cleanup).
var leftoversOperator = func() string {
	if n := os.Getenv("PGCHAOS_LEFTOVERS_OPERATOR"); n != "" {
		return n
	}
	return registry.All()[0].Name()
}()

var _ = Describe("pgchaos leaves no chaos behind", Label(suites.OperatorLabel(leftoversOperator), suites.LabelLeftovers, suites.LabelDisruptive), Ordered, func() {
	var env suites.Env
	var kc *kube.Client
	BeforeAll(func(ctx SpecContext) {
		env, kc, _ = kindCLITarget("the leftovers specs drive `pgchaos run` against the local kind cluster")
	})

	// start runs pgchaos run with primary-isolate held for hold, and waits
	// until the fault is in place; it returns the process, the run id, the
	// trial directory and the log path.
	start := func(ctx context.Context, name string, hold time.Duration) (*exec.Cmd, string, string, string) {
		dir := env.SpecDir("leftovers-" + name)
		Expect(os.RemoveAll(dir)).To(Succeed())
		Expect(os.MkdirAll(filepath.Dir(dir), 0o755)).To(Succeed())
		logPath := dir + ".log"
		logf, err := os.Create(logPath)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(logf.Close)
		cmd := exec.Command(pgchaosBinary(), "run", "--operator", leftoversOperator, "--replication", "async",
			"--scenario", faults.PrimaryIsolate.Name(), "--hold", hold.String(), "--warm-up", "5s",
			"--namespace", "pgchaos-leftovers", "--kind-name", env.KindName, "--out", dir)
		cmd.Stdout, cmd.Stderr = logf, logf
		Expect(cmd.Start()).To(Succeed())
		DeferCleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
		By("waiting until " + name + "'s fault is injected (log " + logPath + ")")
		var runID string
		Eventually(func(g Gomega) {
			data, err := os.ReadFile(logPath)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(data)).To(ContainSubstring("hold "+hold.String()), "log so far:\n%s", data)
			m := regexp.MustCompile(`run id ([0-9a-f]+)`).FindStringSubmatch(string(data))
			g.Expect(m).To(HaveLen(2))
			runID = m[1]
		}).WithContext(ctx).WithTimeout(8 * time.Minute).WithPolling(2 * time.Second).Should(Succeed())
		return cmd, runID, dir, logPath
	}

	// primaryPod is the pod the trial's fault hit.
	primaryPod := func(dir string) string {
		tr, err := history.Load(dir)
		if err != nil {
			return ""
		}
		for _, f := range tr.Faults {
			return f.Target
		}
		return ""
	}
	podReady := func(ctx context.Context, pod string) bool {
		p, err := kc.CS.CoreV1().Pods("pgchaos-leftovers").Get(ctx, pod, metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				return c.Status == corev1.ConditionTrue
			}
		}
		return false
	}

	It("reverts the fault when the run is interrupted (SIGINT)", func(ctx SpecContext) {
		cmd, runID, dir, logPath := start(ctx, "sigint", 5*time.Minute)
		By("interrupting run " + runID + " during the fault")
		Expect(cmd.Process.Signal(syscall.SIGINT)).To(Succeed())
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		Eventually(done).WithTimeout(5 * time.Minute).Should(Receive())
		tr, err := history.Load(dir)
		Expect(err).NotTo(HaveOccurred())
		Expect(tr.Faults).To(HaveLen(1))
		Expect(tr.Faults[0].Recovered).To(BeNumerically(">", tr.Faults[0].Injected),
			"the interrupted run did not record the fault as recovered; log %s", logPath)
		expectNoLeftovers(ctx, kc, runID, false)
	}, SpecTimeout(15*time.Minute))

	It("reverts the fault by the agent's deadline and by pgchaos cleanup when the run is killed (SIGKILL)", func(ctx SpecContext) {
		hold := 10 * time.Second
		cmd, runID, dir, _ := start(ctx, "sigkill", hold)
		pod := primaryPod(dir)
		Expect(pod).NotTo(BeEmpty())
		By("killing run " + runID + " with SIGKILL while " + pod + " is cut off")
		Expect(cmd.Process.Signal(syscall.SIGKILL)).To(Succeed())
		_, _ = cmd.Process.Wait()
		By("seeing the isolated primary " + pod + " fail its readiness probe (the fault is in place)")
		Eventually(func() bool { return podReady(ctx, pod) }).WithTimeout(2 * time.Minute).WithPolling(2 * time.Second).Should(BeFalse())
		By(fmt.Sprintf("waiting for the agent's dead man's switch (deadline: hold %s + %s)", hold, faults.Grace))
		Eventually(func() bool { return podReady(ctx, pod) }).WithTimeout(hold + faults.Grace + 2*time.Minute).WithPolling(2 * time.Second).Should(BeTrue())
		By("cleaning up after the killed run")
		out, err := exec.CommandContext(ctx, pgchaosBinary(), "cleanup", "--run-id", runID, "--kind-name", env.KindName).CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "pgchaos cleanup: %s", out)
		Expect(string(out)).To(ContainSubstring("DaemonSet " + agent.Namespace + "/" + agent.Name))
		expectNoLeftovers(ctx, kc, runID, true)
	}, SpecTimeout(20*time.Minute))
})

// expectNoLeftovers: no node agent, no Service and no pod of the run, no
// action held on the host, no node cordoned; after pgchaos cleanup also the
// run's namespace gone or going (a run that ends by itself leaves it empty).
func expectNoLeftovers(ctx context.Context, kc *kube.Client, runID string, cleaned bool) {
	GinkgoHelper()
	sel := metav1.ListOptions{LabelSelector: operators.RunIDLabel + "=" + runID}
	Eventually(func(g Gomega) {
		_, err := kc.CS.AppsV1().DaemonSets(agent.Namespace).Get(ctx, agent.Name, metav1.GetOptions{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the node agent is still installed: %v", err)
		if cleaned {
			// Namespaces the run created are deleted (one an earlier run
			// created carries that run's id, and stays for its cleanup).
			nss, err := kc.CS.CoreV1().Namespaces().List(ctx, sel)
			g.Expect(err).NotTo(HaveOccurred())
			for _, ns := range nss.Items {
				if ns.Labels[operators.OperatorLabel] != "" {
					continue // an operator's or the agent's namespace: outlives runs
				}
				g.Expect(ns.DeletionTimestamp).NotTo(BeNil(), "namespace %s of the run still there after cleanup", ns.Name)
			}
		}
	}).WithContext(ctx).WithTimeout(3 * time.Minute).WithPolling(2 * time.Second).Should(Succeed())
	expectRunClean(ctx, kc, runID, "pgchaos-leftovers")
}

// expectRunClean: no Service of the run (an operator's own objects
// excepted), no pod left in namespace, no action of the run held on the
// host, no node cordoned.
func expectRunClean(ctx context.Context, kc *kube.Client, runID, namespace string) {
	GinkgoHelper()
	sel := metav1.ListOptions{LabelSelector: operators.RunIDLabel + "=" + runID}
	Eventually(func(g Gomega) {
		svcs, err := kc.CS.CoreV1().Services(metav1.NamespaceAll).List(ctx, sel)
		g.Expect(err).NotTo(HaveOccurred())
		var left []string
		for _, sv := range svcs.Items {
			// An operator's own objects carry the run id of the run that
			// installed it; they outlive runs on purpose.
			if sv.Labels[operators.OperatorLabel] == "" {
				left = append(left, sv.Namespace+"/"+sv.Name)
			}
		}
		g.Expect(left).To(BeEmpty(), "services of the run left behind")
		pods, err := kc.CS.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(pods.Items).To(BeEmpty(), "pods of the run left in %s", namespace)
	}).WithContext(ctx).WithTimeout(3 * time.Minute).WithPolling(2 * time.Second).Should(Succeed())
	held, err := (&agent.Store{Dir: faults.HostStateDir}).List()
	Expect(err).NotTo(HaveOccurred())
	for _, a := range held {
		Expect(a.RunID).NotTo(Equal(runID), "host action %s of the run is still held", a.ID)
	}
	nodes, err := kc.CS.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	Expect(err).NotTo(HaveOccurred())
	for _, n := range nodes.Items {
		Expect(n.Spec.Unschedulable).To(BeFalse(), "node %s left cordoned", n.Name)
	}
}

// kindCLITarget is what the specs that drive the pgchaos binary against the
// local kind cluster need: the suite's environment, a client and the
// kubeconfig of that cluster. It skips the spec without PGCHAOS_E2E=1 or
// when the target is not the local kind cluster (why says what needs it).
func kindCLITarget(why string) (suites.Env, *kube.Client, string) {
	GinkgoHelper()
	env, err := suites.EnvFromOS(suites.Getenv)
	Expect(err).NotTo(HaveOccurred())
	if !env.Enabled {
		Skip("end-to-end suite: set PGCHAOS_E2E=1 (and create the kind cluster first)")
	}
	if !env.OnKind() {
		Skip(why)
	}
	kubeconfig := filepath.Join(os.Getenv("HOME"), ".kube", "pgchaos-"+env.KindName+".kubeconfig")
	kc, err := kube.New(kubeconfig, "")
	Expect(err).NotTo(HaveOccurred())
	Expect(pgchaosBinary()).To(BeAnExistingFile(), "build it first: make build")
	return env, kc, kubeconfig
}
