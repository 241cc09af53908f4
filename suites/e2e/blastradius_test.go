package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/pgchaos/pgchaos/clusters"
	"github.com/pgchaos/pgchaos/clusters/nodeimage"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/faults/agent"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
	"github.com/pgchaos/pgchaos/operators/registry"
	"github.com/pgchaos/pgchaos/suites"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The blast radius on a cluster pgchaos did not create: the local kind
// cluster reached through --kubeconfig is treated as foreign. Every
// refusal is proved: an unlabelled namespace, node / operator / agent
// faults without --allow-scope, a node fault on nodes not labelled, the
// dry run's listing; nothing may be applied.
var _ = Describe("pgchaos keeps to its blast radius on a foreign cluster", Label(suites.OperatorLabel(leftoversOperator), suites.LabelBlastRadius), Ordered, func() {
	var env suites.Env
	var kc *kube.Client
	var kubeconfig, opImage, pgImage string
	const labelled, unlabelled = "pgchaos-foreign", "pgchaos-foreign-unlabelled"
	BeforeAll(func(ctx SpecContext) {
		env, kc, kubeconfig = kindCLITarget("the blast-radius specs treat the local kind cluster as foreign")
		a, err := registry.ByName(leftoversOperator)
		Expect(err).NotTo(HaveOccurred())
		imgs, err := a.BuildImages(ctx, operators.ImageOptions{CacheDir: env.CacheDir})
		Expect(err).NotTo(HaveOccurred())
		opImage, pgImage = imgs.Operator, imgs.Postgres
		Expect(clusters.LoadIntoKind(ctx, env.KindName, opImage, pgImage)).To(Succeed())
		foreignNamespaces(ctx, kc, labelled, unlabelled)
	}, NodeTimeout(25*time.Minute))

	// run runs pgchaos against the kind cluster as a foreign one and
	// returns its exit code, stdout and stderr.
	run := func(ctx context.Context, args ...string) (int, string, string) {
		full := append([]string{"run", "--operator", leftoversOperator, "--kubeconfig", kubeconfig,
			"--operator-image", opImage, "--postgres-image", pgImage}, args...)
		cmd := exec.CommandContext(ctx, pgchaosBinary(), full...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else {
			Expect(err).NotTo(HaveOccurred())
		}
		GinkgoWriter.Printf("pgchaos %v: exit %d\n%s%s", full, code, out.String(), errb.String())
		return code, out.String(), errb.String()
	}
	outDir := func(name string) string { return filepath.Join(env.SpecDir("blast-"+name), "run") }

	It("refuses a namespace not labelled pgchaos.io/allow-chaos=true", func(ctx SpecContext) {
		code, _, stderr := run(ctx, "--namespace", unlabelled, "--scenario", "primary-pod-delete", "--out", outDir("unlabelled"))
		Expect(code).To(Equal(2))
		Expect(stderr).To(ContainSubstring("namespace " + unlabelled + " is not labelled"))
	}, SpecTimeout(2*time.Minute))

	It("refuses node, operator and agent faults without --allow-scope, naming the fault and the flag", func(ctx SpecContext) {
		for fault, flag := range map[string]string{
			faults.PrimaryNodeDrain.Name(): "--allow-scope node",
			faults.OperatorOutage.Name():   "--allow-scope operator",
			faults.PrimaryIsolate.Name():   "--allow-scope agent",
		} {
			code, _, stderr := run(ctx, "--namespace", labelled, "--scenario", fault, "--out", outDir(fault))
			Expect(code).To(Equal(2), fault)
			Expect(stderr).To(And(ContainSubstring("fault "+fault), ContainSubstring(flag)), fault)
		}
	}, SpecTimeout(3*time.Minute))

	It("lists in a dry run what a node fault would hit in other namespaces, then refuses it", func(ctx SpecContext) {
		code, stdout, stderr := run(ctx, "--namespace", labelled, "--scenario", faults.PrimaryNodeDrain.Name(), "--dry-run")
		Expect(stdout).To(And(ContainSubstring("a cluster pgchaos did not create"), ContainSubstring("scope node"),
			ContainSubstring("kube-system"), ContainSubstring("would be hit too")))
		Expect(code).To(Equal(2))
		Expect(stderr).To(ContainSubstring("--allow-scope node"))
	}, SpecTimeout(2*time.Minute))

	It("refuses a node fault on nodes not labelled, before the trial starts, leaving nothing applied", func(ctx SpecContext) {
		dir := outDir("unlabelled-nodes")
		code, _, stderr := run(ctx, "--namespace", labelled, "--scenario", faults.PrimaryNodeDrain.Name(),
			"--allow-scope", "node", "--replication", "async", "--out", dir)
		Expect(code).To(Equal(2))
		Expect(stderr).To(ContainSubstring("is not labelled " + faults.NodeAllowLabel + "=true"))
		_, err := os.Stat(filepath.Join(dir, "ledger.jsonl"))
		Expect(os.IsNotExist(err)).To(BeTrue(), "the trial started although its node was refused")
		nodes, err := kc.CS.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		Expect(err).NotTo(HaveOccurred())
		for _, n := range nodes.Items {
			Expect(n.Spec.Unschedulable).To(BeFalse(), "node %s cordoned", n.Name)
		}
		Eventually(func(g Gomega) {
			pods, err := kc.CS.CoreV1().Pods(labelled).List(ctx, metav1.ListOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			var live []corev1.Pod
			for _, p := range pods.Items {
				if p.DeletionTimestamp == nil {
					live = append(live, p)
				}
			}
			g.Expect(live).To(BeEmpty(), "the run left its Postgres cluster in %s", labelled)
		}).WithContext(ctx).WithTimeout(3 * time.Minute).WithPolling(2 * time.Second).Should(Succeed())
	}, SpecTimeout(12*time.Minute))
})

// The node agent's own guard: installed for a cluster pgchaos did not
// create, it refuses an action on a pod of an unlabelled namespace (and a
// labelled pod's name carrying that pod's uid), and still acts on a pod of
// a labelled namespace. The requests go to the agent directly, as a run's
// would, so the refusal is the agent's, not the CLI's.
var _ = Describe("the node agent on a foreign cluster", Label(suites.LabelBlastRadius), Ordered, func() {
	var kc *kube.Client
	const labelled, unlabelled = "pgchaos-agent-allowed", "pgchaos-agent-foreign"
	pods := map[string]*corev1.Pod{}
	BeforeAll(func(ctx SpecContext) {
		var env suites.Env
		env, kc, _ = kindCLITarget("the agent-guard spec treats the local kind cluster as foreign")
		img, err := agent.BuildImage(ctx, pgchaosBinary(), "registry.k8s.io/kube-proxy:"+nodeimage.DefaultVersions().Kubernetes)
		Expect(err).NotTo(HaveOccurred())
		Expect(clusters.LoadIntoKind(ctx, env.KindName, img)).To(Succeed())
		// Any image of the kind nodes with sleep: the Postgres image.
		a, err := registry.ByName(leftoversOperator)
		Expect(err).NotTo(HaveOccurred())
		imgs, err := a.BuildImages(ctx, operators.ImageOptions{CacheDir: env.CacheDir})
		Expect(err).NotTo(HaveOccurred())
		Expect(clusters.LoadIntoKind(ctx, env.KindName, imgs.Postgres)).To(Succeed())
		foreignNamespaces(ctx, kc, labelled, unlabelled)
		By("installing the node agent with its guard on " + operators.AllowChaosLabel)
		Expect(agent.Install(ctx, kc, img, "agentguard", operators.AllowChaosLabel)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) {
			Expect(agent.Uninstall(ctx, kc)).To(Succeed())
		}, NodeTimeout(3*time.Minute))
		for _, ns := range []string{labelled, unlabelled} {
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "target", Namespace: ns},
				Spec: corev1.PodSpec{TerminationGracePeriodSeconds: ptr.To[int64](1), Containers: []corev1.Container{{
					Name: "sleep", Image: imgs.Postgres, ImagePullPolicy: corev1.PullIfNotPresent, Command: []string{"sleep", "3600"}}}}}
			_, err := kc.CS.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
			Expect(err).NotTo(HaveOccurred())
		}
		Eventually(func(g Gomega) {
			for _, ns := range []string{labelled, unlabelled} {
				p, err := kc.CS.CoreV1().Pods(ns).Get(ctx, "target", metav1.GetOptions{})
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(p.Status.Phase).To(Equal(corev1.PodRunning), "pod %s/target", ns)
				pods[ns] = p
			}
		}).WithContext(ctx).WithTimeout(3 * time.Minute).WithPolling(2 * time.Second).Should(Succeed())
	}, NodeTimeout(15*time.Minute))

	cut := func(id string, p *corev1.Pod, name string) agent.Action {
		return agent.Action{ID: id, RunID: "agentguard", Kind: agent.Partition, Deadline: time.Now().Add(2 * time.Minute),
			PodUID: string(p.UID), Pod: name, Ports: []int{5432}}
	}

	It("refuses a pod of an unlabelled namespace, and a labelled name with that pod's uid", func(ctx SpecContext) {
		ac := agent.Client{Kube: kc}
		p := pods[unlabelled]
		_, err := ac.Apply(ctx, p.Spec.NodeName, cut("guard-foreign", p, unlabelled+"/target"))
		Expect(err).To(MatchError(ContainSubstring("namespace " + unlabelled + " is not labelled " + operators.AllowChaosLabel + "=true")))
		_, err = ac.Apply(ctx, p.Spec.NodeName, cut("guard-disguised", p, labelled+"/target"))
		Expect(err).To(MatchError(ContainSubstring("the action names uid " + string(p.UID))))
		held, err := ac.RevertRun(ctx, "agentguard")
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Join(held, "")).NotTo(ContainSubstring("guard-"), "a refused action was held by an agent")
	}, SpecTimeout(3*time.Minute))

	It("acts on a pod of a labelled namespace", func(ctx SpecContext) {
		ac := agent.Client{Kube: kc}
		p := pods[labelled]
		done, err := ac.Apply(ctx, p.Spec.NodeName, cut("guard-allowed", p, labelled+"/target"))
		Expect(err).NotTo(HaveOccurred())
		Expect(done.Applied.IsZero()).To(BeFalse(), "the agent did not apply the allowed action")
		Expect(ac.Revert(ctx, p.Spec.NodeName, "guard-allowed")).To(Succeed())
	}, SpecTimeout(3*time.Minute))
})

// foreignNamespaces creates a namespace labelled pgchaos.io/allow-chaos=true
// and one not labelled, both deleted when the container ends.
func foreignNamespaces(ctx context.Context, kc *kube.Client, labelled, unlabelled string) {
	GinkgoHelper()
	Expect(kc.EnsureNamespace(ctx, labelled, map[string]string{operators.AllowChaosLabel: "true"})).To(Succeed())
	Expect(kc.EnsureNamespace(ctx, unlabelled, nil)).To(Succeed())
	DeferCleanup(func(ctx SpecContext) {
		for _, ns := range []string{labelled, unlabelled} {
			err := kc.CS.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				GinkgoWriter.Println("deleting namespace " + ns + ": " + err.Error())
			}
		}
	}, NodeTimeout(time.Minute))
}
