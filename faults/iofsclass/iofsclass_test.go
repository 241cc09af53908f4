package iofsclass

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/faults/agent"
	"github.com/pgchaos/pgchaos/faults/iofs"
	"github.com/pgchaos/pgchaos/operators/kube"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestPrefix(t *testing.T) {
	cases := []struct {
		root, pv, sub, want, err string
	}{
		{"/var/lib/pgchaos-iofs/fs", "/var/lib/pgchaos-iofs/fs/pvc-1_db_pg-1", "pgdata/pg_wal", "pvc-1_db_pg-1/pgdata/pg_wal/", ""},
		{"/var/lib/pgchaos-iofs/fs/", "/var/lib/pgchaos-iofs/fs/pvc-1_db_pg-1/", "", "pvc-1_db_pg-1/", ""},
		{"/var/lib/pgchaos-iofs/fs", "/var/lib/pgchaos-iofs/fs/pvc-1", "/pgdata/", "pvc-1/pgdata/", ""},
		// sub is cleaned as an absolute path: it cannot climb out of the volume.
		{"/var/lib/pgchaos-iofs/fs", "/var/lib/pgchaos-iofs/fs/pvc-1", "../pvc-2", "pvc-1/pvc-2/", ""},
		{"/var/lib/pgchaos-iofs/fs", "/var/local-path-provisioner/pvc-1", "pgdata", "", "not under the iofs mount"},
		{"/var/lib/pgchaos-iofs/fs", "/var/lib/pgchaos-iofs/fs", "pgdata", "", "not under the iofs mount"},
		{"/var/lib/pgchaos-iofs/fs", "/var/lib/pgchaos-iofs/fsx/pvc-1", "", "", "not under the iofs mount"},
		{"/var/lib/pgchaos-iofs/fs", "", "", "", "no node path"},
	}
	for _, c := range cases {
		got, err := Prefix(c.root, c.pv, c.sub)
		if c.err == "" && (err != nil || got != c.want) {
			t.Errorf("Prefix(%q, %q, %q) = %q, %v; want %q", c.root, c.pv, c.sub, got, err, c.want)
		}
		if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("Prefix(%q, %q, %q) = %q, %v; want an error with %q", c.root, c.pv, c.sub, got, err, c.err)
		}
	}
}

func TestMountFor(t *testing.T) {
	ms := []corev1.VolumeMount{{Name: "pgdata", MountPath: "/var/lib/postgresql/data"},
		{Name: "pg-wal", MountPath: "/var/lib/postgresql/wal"}, {Name: "scratch", MountPath: "/run"}}
	cases := []struct{ dir, vol, rest string }{
		{"/var/lib/postgresql/data/pgdata/pg_wal", "pgdata", "pgdata/pg_wal"},
		{"/var/lib/postgresql/wal/pg_wal/", "pg-wal", "pg_wal"},
		{"/var/lib/postgresql/data", "pgdata", ""},
		{"/var/lib/postgresql/database", "", ""},
	}
	for _, c := range cases {
		m, rest, ok := MountFor(ms, c.dir)
		if c.vol == "" {
			if ok {
				t.Errorf("MountFor(%q) = %s, want none", c.dir, m.Name)
			}
			continue
		}
		if !ok || m.Name != c.vol || rest != c.rest {
			t.Errorf("MountFor(%q) = %s %q %v, want %s %q", c.dir, m.Name, rest, ok, c.vol, c.rest)
		}
	}
}

func TestLocate(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: "pg-1"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "postgres", VolumeMounts: []corev1.VolumeMount{
			{Name: "pgdata", MountPath: "/var/lib/postgresql/data"}, {Name: "shm", MountPath: "/dev/shm"}}}},
		Volumes: []corev1.Volume{
			{Name: "pgdata", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "pg-1"}}},
			{Name: "shm", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
	}}
	pv := func(class, p string) func(string) (*corev1.PersistentVolume, error) {
		return func(claim string) (*corev1.PersistentVolume, error) {
			return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pvc-9"}, Spec: corev1.PersistentVolumeSpec{
				StorageClassName:       class,
				PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: p}}}}, nil
		}
	}
	v, err := Locate(pod, "postgres", "/var/lib/postgresql/data/pgdata/pg_wal", pv(ClassName, iofs.NodeMount+"/pvc-9_db_pg-1"))
	if err != nil || v.Prefix != "pvc-9_db_pg-1/pgdata/pg_wal/" || v.Claim != "pg-1" || v.PV != "pvc-9" {
		t.Fatalf("Locate = %+v, %v", v, err)
	}
	if _, err := Locate(pod, "postgres", "/var/lib/postgresql/data/pgdata", pv("standard", "/var/local-path-provisioner/pvc-9_db_pg-1")); !errors.Is(err, ErrNotOnClass) ||
		!strings.Contains(err.Error(), `storage class "standard"`) {
		t.Fatalf("on another class: %v", err)
	}
	if _, err := Locate(pod, "postgres", "/dev/shm/x", pv(ClassName, "")); !errors.Is(err, ErrNotOnClass) {
		t.Fatalf("on an emptyDir: %v", err)
	}
	if _, err := Locate(pod, "other", "/var/lib/postgresql/data", pv(ClassName, "")); err == nil {
		t.Fatal("an absent container was located")
	}
}

func TestProvisionerObjects(t *testing.T) {
	m, err := ProvisionerObjects(Options{ProvisionerImage: "lpp:v0.0.30", HelperImage: "helper:1"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m, "${") {
		t.Fatalf("a placeholder is left: %s", m)
	}
	objs, err := kube.DecodeManifest([]byte(m))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, o := range objs {
		kinds[o.GetKind()] = o.GetName()
		if o.GetLabels()[ComponentLabel] != "iofs" {
			t.Errorf("%s %s is not labelled %s", o.GetKind(), o.GetName(), ComponentLabel)
		}
	}
	for _, k := range []string{"ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "StorageClass"} {
		if kinds[k] == "" {
			t.Errorf("no %s in %v", k, kinds)
		}
	}
	if kinds["StorageClass"] != ClassName {
		t.Errorf("storage class %q", kinds["StorageClass"])
	}
	for _, want := range []string{`"paths": ["` + iofs.NodeMount + `"]`, "--provisioner-name, " + Provisioner, "image: helper:1", "provisioner: " + Provisioner} {
		if !strings.Contains(m, want) {
			t.Errorf("manifest lacks %q", want)
		}
	}
	if _, err := ProvisionerObjects(Options{}); err == nil {
		t.Error("no images accepted")
	}
}

func TestDaemonSetPropagatesTheMount(t *testing.T) {
	ds := DaemonSet("img:1")
	c := ds.Spec.Template.Spec.Containers[0]
	if c.VolumeMounts[0].MountPath != iofs.NodeRoot || *c.VolumeMounts[0].MountPropagation != corev1.MountPropagationBidirectional {
		t.Errorf("mount %+v: the FUSE mount would not reach the node", c.VolumeMounts[0])
	}
	if !*c.SecurityContext.Privileged {
		t.Error("not privileged: mount(2) of /dev/fuse and bidirectional propagation need it")
	}
	if ds.Spec.UpdateStrategy.Type != "OnDelete" {
		t.Error("an update would restart servers under running volumes")
	}
	if !strings.Contains(strings.Join(c.Command, " "), "--mount "+iofs.NodeMount) {
		t.Errorf("command %v", c.Command)
	}
}

func TestReplaceIdleAndUninstallOnlyWithoutVolumes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	old := DaemonSet("img:old")
	cs := fake.NewSimpleClientset(old,
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "iofs-a", Namespace: agent.Namespace, Labels: map[string]string{appLabel: DaemonSetName}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "iofs", Image: "img:old"}}}},
		&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pvc-1"}, Spec: corev1.PersistentVolumeSpec{StorageClassName: ClassName}})
	kc := kube.NewFake(cs, nil)
	var said []string
	say := func(s string) { said = append(said, s) }
	cur, _ := cs.AppsV1().DaemonSets(agent.Namespace).Get(ctx, DaemonSetName, metav1.GetOptions{})
	if err := replaceIdle(ctx, kc, cur, "img:new", say); err != nil {
		t.Fatal(err)
	}
	if got, _ := cs.AppsV1().DaemonSets(agent.Namespace).Get(ctx, DaemonSetName, metav1.GetOptions{}); got.Spec.Template.Spec.Containers[0].Image != "img:old" {
		t.Fatal("servers replaced under a volume in use")
	}
	if len(said) != 1 || !strings.Contains(said[0], "1 volumes use them") {
		t.Errorf("said %q", said)
	}
	if _, err := Uninstall(ctx, kc); !errors.Is(err, ErrInUse) {
		t.Fatalf("uninstall with a volume: %v", err)
	}
	if _, err := cs.AppsV1().DaemonSets(agent.Namespace).Get(ctx, DaemonSetName, metav1.GetOptions{}); err != nil {
		t.Fatalf("uninstall with a volume removed the servers: %v", err)
	}
	if err := cs.CoreV1().PersistentVolumes().Delete(ctx, "pvc-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cur, _ = cs.AppsV1().DaemonSets(agent.Namespace).Get(ctx, DaemonSetName, metav1.GetOptions{})
	if err := replaceIdle(ctx, kc, cur, "img:new", say); err != nil {
		t.Fatal(err)
	}
	if got, _ := cs.AppsV1().DaemonSets(agent.Namespace).Get(ctx, DaemonSetName, metav1.GetOptions{}); got.Spec.Template.Spec.Containers[0].Image != "img:new" {
		t.Fatal("idle servers not moved to the new image")
	}
	removed, err := Uninstall(ctx, kc)
	if err != nil || !removed {
		t.Fatalf("uninstall without volumes: %v, %v", removed, err)
	}
	if _, err := cs.AppsV1().DaemonSets(agent.Namespace).Get(ctx, DaemonSetName, metav1.GetOptions{}); err == nil {
		t.Fatal("servers left after uninstall")
	}
}
