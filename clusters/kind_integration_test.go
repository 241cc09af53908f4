package clusters

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pgchaos/pgchaos/clusters/nodeimage"
)

// testImage is preloaded in every offline node (busybox from Debian).
const testImage = "docker.io/pgchaos/local-path-helper:bookworm"

// TestKindCluster is the end-to-end check of issue 3: a 4-node cluster from the
// offline node image, DNS, cross-node pod traffic, a PVC on the default class, a
// privileged pod, and a delete that leaves nothing behind. It needs Docker
// (ci/host-prep.sh) and runs only with PGCHAOS_KIND=1.
func TestKindCluster(t *testing.T) {
	if os.Getenv("PGCHAOS_KIND") != "1" {
		t.Skip("set PGCHAOS_KIND=1 to create a real kind cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	img := os.Getenv("PGCHAOS_NODE_IMAGE")
	if img == "" {
		need, err := nodeimage.HostNeedsShim()
		if err != nil {
			t.Fatal(err)
		}
		shim := ""
		if need {
			shim = "/usr/local/bin/pgchaos-runc-shim"
		}
		start := time.Now()
		res, err := nodeimage.Build(ctx, nodeimage.Options{ShimBinary: shim, Progress: func(l string) { t.Log(l) }})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("node image %s in %s", res.Image, time.Since(start).Round(time.Second))
		img = res.Image
	}
	name := "pgchaos-it"
	k := NewKind(KindOptions{Name: name, Workers: 3, NodeImage: img, LogDir: t.TempDir(),
		KubeconfigPath: filepath.Join(t.TempDir(), "kubeconfig"), Progress: func(l string) { t.Log(l) }})
	start := time.Now()
	if err := k.Create(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("create: %s", time.Since(start).Round(time.Second))
	deleted := false
	defer func() {
		if !deleted {
			_ = k.Delete(context.WithoutCancel(ctx))
		}
	}()

	// A second create under the same name is bad input.
	if err := NewKind(KindOptions{Name: name, NodeImage: img}).Create(ctx); !IsBadInput(err) {
		t.Errorf("create of an existing cluster: got %v, want bad input", err)
	}

	st, err := k.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Nodes) != 4 || !st.Ready() {
		t.Fatalf("status: %+v, want 4 Ready nodes", st)
	}
	cs, err := clientset(k.KubeconfigPath(), "")
	if err != nil {
		t.Fatal(err)
	}
	ns := "pgchaos-smoke"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// A web server on worker-3; from worker-1 and worker-2: DNS and cross-node traffic.
	server := pod("web", "worker-3", false, nil,
		"sh", "-c", "echo pgchaos-ok > /tmp/index.html; exec busybox httpd -f -p 8080 -h /tmp")
	server.Spec.RestartPolicy = corev1.RestartPolicyAlways
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, server, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	webIP := waitRunning(ctx, t, cs, ns, "web")
	for _, w := range []string{"worker-1", "worker-2"} {
		// busybox nslookup ignores the search list, so walk it as the resolver does;
		// busybox wget (static glibc) crashes here, nc does not.
		script := fmt.Sprintf(`set -e
ok=
for d in $(busybox sed -n 's/^search //p' /etc/resolv.conf); do
  if busybox nslookup kubernetes.default.$d; then ok=1; echo "resolved kubernetes.default in $d"; break; fi
done
[ -n "$ok" ]
busybox nc -w 5 10.96.0.1 443 </dev/null && echo "service kubernetes.default reachable"
printf 'GET /index.html HTTP/1.0\r\n\r\n' | busybox nc -w 5 %s 8080`, webIP)
		p := pod("probe-"+w, w, false, nil, "sh", "-c", script)
		logs := runToCompletion(ctx, t, cs, ns, p)
		t.Logf("probe on %s:\n%s", w, logs)
		if !strings.Contains(logs, "10.96.0.1") || !strings.Contains(logs, "pgchaos-ok") ||
			!strings.Contains(logs, "service kubernetes.default reachable") {
			t.Errorf("probe on %s: DNS or cross-node traffic failed:\n%s", w, logs)
		}
	}

	// A PVC on the default StorageClass, written by a pod.
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceStorage: resource.MustParse("64Mi")}},
		},
	}
	if _, err := cs.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	writer := pod("writer", "worker-2", false, &corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
		"sh", "-c", "echo written > /data/f && cat /data/f")
	if logs := runToCompletion(ctx, t, cs, ns, writer); !strings.Contains(logs, "written") {
		t.Errorf("PVC writer: %q", logs)
	}
	got, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data", metav1.GetOptions{})
	if err != nil || got.Status.Phase != corev1.ClaimBound {
		t.Errorf("PVC not Bound: %v %v", got.Status.Phase, err)
	}

	// A privileged pod starts.
	priv := pod("privileged", "worker-1", true, nil, "sh", "-c", "grep CapEff /proc/self/status")
	if logs := runToCompletion(ctx, t, cs, ns, priv); !strings.Contains(logs, "CapEff") {
		t.Errorf("privileged pod: %q", logs)
	}

	// The volumes of this cluster's nodes (other clusters may share this Docker).
	volumes := map[string]bool{}
	for id := range dockerList(ctx, t, "ps", "-aq", "--filter", "label=io.x-k8s.kind.cluster="+name) {
		for v := range dockerList(ctx, t, "inspect", "--format", "{{range .Mounts}}{{.Name}} {{end}}", id) {
			volumes[v] = true
		}
	}
	if len(volumes) == 0 {
		t.Errorf("found no volumes of the nodes of %s", name)
	}
	start = time.Now()
	if err := k.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	deleted = true
	t.Logf("delete: %s", time.Since(start).Round(time.Second))
	for _, args := range [][]string{
		{"ps", "-aq", "--filter", "label=io.x-k8s.kind.cluster=" + name},
	} {
		out, err := exec.CommandContext(ctx, "docker", args...).Output()
		if err != nil {
			t.Fatalf("docker %v: %v", args, err)
		}
		if s := strings.TrimSpace(string(out)); s != "" {
			t.Errorf("left behind after delete (docker %s): %s", strings.Join(args, " "), s)
		}
	}
	// kind's network may stay only while another cluster uses it.
	if out, err := exec.CommandContext(ctx, "docker", "network", "inspect", "kind", "--format", "{{len .Containers}}").Output(); err == nil &&
		strings.TrimSpace(string(out)) == "0" {
		t.Errorf("docker network kind left behind with no containers")
	}
	for v := range dockerList(ctx, t, "volume", "ls", "-q") {
		if volumes[v] {
			t.Errorf("volume left behind after delete: %s", v)
		}
	}

	// A cluster that does not become Ready in time: the error names a node and its
	// condition, logs are collected, and nothing is left behind.
	logDir := t.TempDir()
	bad := NewKind(KindOptions{Name: "pgchaos-it-timeout", Workers: 1, NodeImage: img, ReadyTimeout: time.Millisecond,
		LogDir: logDir, KubeconfigPath: filepath.Join(t.TempDir(), "kubeconfig")})
	err = bad.Create(ctx)
	if err == nil || !strings.Contains(err.Error(), "logs") ||
		!(strings.Contains(err.Error(), "node pgchaos-it-timeout-") || strings.Contains(err.Error(), "deployment ") ||
			strings.Contains(err.Error(), "daemonset ")) {
		t.Errorf("create with a 1ms Ready timeout: got %v, want a not-Ready error naming the logs", err)
	}
	t.Logf("timeout error: %v", err)
	if entries, _ := os.ReadDir(logDir); len(entries) == 0 {
		t.Errorf("no logs collected in %s", logDir)
	}
	if left := dockerList(ctx, t, "ps", "-aq", "--filter", "label=io.x-k8s.kind.cluster=pgchaos-it-timeout"); len(left) > 0 {
		t.Errorf("failed create left containers: %v", left)
	}
}

func dockerList(ctx context.Context, t *testing.T, args ...string) map[string]bool {
	t.Helper()
	out, err := exec.CommandContext(ctx, "docker", args...).Output()
	if err != nil {
		t.Fatalf("docker %v: %v", args, err)
	}
	m := map[string]bool{}
	for _, f := range strings.Fields(string(out)) {
		m[f] = true
	}
	return m
}

// pod is a busybox pod pinned to a worker by its pgchaos.io/node label.
func pod(name, node string, privileged bool, vol *corev1.Volume, cmd ...string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			NodeSelector:  map[string]string{"pgchaos.io/node": node},
			Containers: []corev1.Container{{
				Name: "main", Image: testImage, ImagePullPolicy: corev1.PullNever, Command: cmd,
				SecurityContext: &corev1.SecurityContext{Privileged: &privileged},
			}},
		},
	}
	if vol != nil {
		p.Spec.Volumes = []corev1.Volume{*vol}
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: vol.Name, MountPath: "/data"}}
	}
	return p
}

func waitRunning(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns, name string) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil && p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" {
			return p.Status.PodIP
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("pod %s/%s not Running within 2m", ns, name)
	return ""
}

// runToCompletion creates a pod, waits until it ends (2 min at most), returns its logs.
func runToCompletion(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns string, p *corev1.Pod) string {
	t.Helper()
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating pod %s: %v", p.Name, err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	var phase corev1.PodPhase
	for time.Now().Before(deadline) {
		got, err := cs.CoreV1().Pods(ns).Get(ctx, p.Name, metav1.GetOptions{})
		if err == nil {
			phase = got.Status.Phase
			if phase == corev1.PodSucceeded || phase == corev1.PodFailed {
				break
			}
		}
		time.Sleep(time.Second)
	}
	raw, err := cs.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		t.Errorf("logs of pod %s: %v", p.Name, err)
	}
	if phase != corev1.PodSucceeded {
		t.Errorf("pod %s ended %q, want Succeeded; logs:\n%s", p.Name, phase, raw)
	}
	return string(raw)
}
