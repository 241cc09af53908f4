package faults

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/faults/agent"
	"github.com/pgchaos/pgchaos/faults/iofs"
	"github.com/pgchaos/pgchaos/operators"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestOnIOFS(t *testing.T) {
	if err := onIOFS(map[string]string{"pg-1": "pgchaos-iofs", "pg-2": "pgchaos-iofs"}); err != nil {
		t.Fatalf("all on the class: %v", err)
	}
	err := onIOFS(map[string]string{"pg-1": "pgchaos-iofs", "pg-2": "standard", "pg-3": ""})
	want := `the cluster's volumes are not on storage class pgchaos-iofs (run with --storage-class pgchaos-iofs): pg-2 on "standard", pg-3 on ""`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	if err := onIOFS(nil); err == nil || !strings.Contains(err.Error(), "no persistent volume claims") {
		t.Fatalf("no claims: %v", err)
	}
}

func TestStorageFaultAim(t *testing.T) {
	slow := storageFault{spec: iofs.Spec{FsyncDelay: 50 * time.Millisecond}}.aim("pvc-1_db_pg-1/pgdata/pg_wal/")
	if slow.DelayPrefix != "pvc-1_db_pg-1/pgdata/pg_wal/" || slow.ENOSPC || slow.ENOSPCPrefix != "" {
		t.Errorf("slow aimed: %+v", slow)
	}
	full := storageFault{spec: iofs.Spec{ENOSPC: true}}.aim("pvc-1/pgdata/pg_wal/")
	if full.ENOSPCPrefix != "pvc-1/pgdata/pg_wal/" || full.DelayPrefix != "" {
		t.Errorf("full aimed: %+v", full)
	}
}

func TestStorageFaultsNeedAgentAndClass(t *testing.T) {
	for _, f := range []Fault{PrimaryWALSlow, PrimaryDataSlow, PrimaryWALFull} {
		in := InfoOf(f)
		if !in.Needs.Agent || !in.Needs.Storage {
			t.Errorf("%s needs %+v", f.Name(), in.Needs)
		}
		err := f.Available(context.Background(), Env{})
		if err == nil || !strings.Contains(err.Error(), "node agent") {
			t.Errorf("%s without the agent: %v", f.Name(), err)
		}
	}
	if x := ExpectOf(PrimaryWALSlow, true); !x.Heal || !x.NoFailover {
		t.Errorf("slow WAL expectations %+v: want heal and no failover", x)
	}
	if x := ExpectOf(PrimaryWALFull, true); !x.Heal || x.NoFailover {
		t.Errorf("full WAL expectations %+v: want heal only", x)
	}
}

func TestStorageFaultDescribe(t *testing.T) {
	h := Hit{}
	if got := PrimaryDataSlow.Describe(h); !strings.HasPrefix(got, "write +10ms, fsync +100ms on the data files (base) of cluster") {
		t.Errorf("describe: %q", got)
	}
	if got := PrimaryWALFull.Describe(h); !strings.HasPrefix(got, "ENOSPC on the WAL (pg_wal)") {
		t.Errorf("describe: %q", got)
	}
}

func TestStorageAvailabilityReadsTheClaims(t *testing.T) {
	e, cs := env(1)
	e.Agent = &agent.Client{Kube: e.Kube}
	ctx := context.Background()
	for _, name := range []string{"pg-1", "pg-2", "pg-3"} {
		p, _ := cs.CoreV1().Pods("db").Get(ctx, name, metav1.GetOptions{})
		p.Spec.Volumes = []corev1.Volume{{Name: "pgdata", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}}}}
		if _, err := cs.CoreV1().Pods("db").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		class := "pgchaos-iofs"
		if name == "pg-3" {
			class = "standard"
		}
		if _, err := cs.CoreV1().PersistentVolumeClaims("db").Create(ctx, &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "db"},
			Spec:       corev1.PersistentVolumeClaimSpec{StorageClassName: &class}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	err := PrimaryWALSlow.Available(ctx, e)
	if err == nil || !strings.Contains(err.Error(), `(run with --storage-class pgchaos-iofs): pg-3 on "standard"`) {
		t.Fatalf("one claim on standard: %v", err)
	}
	pvc, _ := cs.CoreV1().PersistentVolumeClaims("db").Get(ctx, "pg-3", metav1.GetOptions{})
	class := "pgchaos-iofs"
	pvc.Spec.StorageClassName = &class
	if _, err := cs.CoreV1().PersistentVolumeClaims("db").Update(ctx, pvc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := PrimaryWALFull.Available(ctx, e); err != nil {
		t.Fatalf("every claim on pgchaos-iofs: %v", err)
	}
}

func TestStorageEffect(t *testing.T) {
	before := &iofs.Counts{DelayedWrites: 3, DelayedFsyncs: 10, ENOSPC: 1}
	after := &iofs.Counts{DelayedWrites: 3, DelayedFsyncs: 278, ENOSPC: 8}
	got := storageEffect("pg-1", "worker2", before, after)
	want := "pgchaos-iofs on worker2 (pg-1): 0 writes and 268 fsyncs delayed, 7 operations failed with ENOSPC during the fault"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := storageEffect("pg-1", "worker2", nil, after); !strings.Contains(got, "could not be read") {
		t.Errorf("unreadable counts: %s", got)
	}
	if d := PrimaryDataSlow.Describe(Hit{Instances: nil}); !strings.Contains(d, "CHECKPOINT") {
		t.Errorf("primary-data-slow does not say it checkpoints: %s", d)
	}
}

// TestScriptsFollowTheLayout: the shell the faults run in a container
// names the adapter's data directory, quoted, and nothing of another
// operator's layout.
func TestScriptsFollowTheLayout(t *testing.T) {
	l := operators.Layout{DataDir: "/home/postgres/pgdata/pgroot/data", VolumePath: "/home/postgres/pgdata", Port: 5432}
	if got := areaScript(walArea, l); got != "readlink -f '/home/postgres/pgdata/pgroot/data/pg_wal'" {
		t.Errorf("WAL area script %q", got)
	}
	if got := areaScript(dataArea, l); got != "readlink -f '/home/postgres/pgdata/pgroot/data/base'" {
		t.Errorf("data area script %q", got)
	}
	k := killScript(l)
	if !strings.Contains(k, "'/home/postgres/pgdata/pgroot/data/postmaster.pid'") || strings.Contains(k, "/var/lib/postgresql") {
		t.Errorf("kill script %q", k)
	}
	// On real processes: a child killed (and reaped by its parent) is
	// "killed"; PID 1 is refused; a process that survives is an error.
	dir := t.TempDir()
	lay := operators.Layout{DataDir: dir, VolumePath: dir, Port: 5432}
	victim := exec.Command("sleep", "60")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = victim.Wait() }() // the parent reaps, as a container's init does
	_ = os.WriteFile(filepath.Join(dir, "postmaster.pid"), []byte(strconv.Itoa(victim.Process.Pid)+"\n"), 0o600)
	if out, err := exec.Command("sh", "-c", killScript(lay)).CombinedOutput(); err != nil || !strings.Contains(string(out), "killed") {
		t.Errorf("killing a child: %q, %v", out, err)
	}
	_ = os.WriteFile(filepath.Join(dir, "postmaster.pid"), []byte("1\n"), 0o600)
	if out, err := exec.Command("sh", "-c", killScript(lay)).CombinedOutput(); err == nil || !strings.Contains(string(out), "PID 1 of its container") {
		t.Errorf("PID 1 not refused: %q, %v", out, err)
	}
	// A process that ignores the kill: a pid the script may not signal is
	// refused by kill (exit 3), never reported killed.
	_ = os.WriteFile(filepath.Join(dir, "postmaster.pid"), []byte("999999999\n"), 0o600)
	if out, err := exec.Command("sh", "-c", killScript(lay)).CombinedOutput(); err == nil || strings.Contains(string(out), "killed") {
		t.Errorf("a pid that does not exist reported killed: %q, %v", out, err)
	}
	odd := operators.Layout{DataDir: "/data/it's here", VolumePath: "/data", Port: 5432}
	out, err := exec.Command("sh", "-c", "printf %s "+shQuote(odd.DataDir)).Output()
	if err != nil || string(out) != odd.DataDir {
		t.Errorf("shQuote(%q) through sh: %q, %v", odd.DataDir, out, err)
	}
}
