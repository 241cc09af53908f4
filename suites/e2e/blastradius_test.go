package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/pgchaos/pgchaos/clusters"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
	"github.com/pgchaos/pgchaos/operators/registry"
	"github.com/pgchaos/pgchaos/suites"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
