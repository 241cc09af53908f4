package agent

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/faults/iofs"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

const testLabel = "pgchaos.io/allow-chaos"

// guardWorld: namespace "db" labelled, "team" not; a pod in each; node
// "n1" labelled, "n2" not.
func guardWorld() Guard {
	ns := func(name string, ok bool) *corev1.Namespace {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if ok {
			n.Labels = map[string]string{testLabel: "true"}
		}
		return n
	}
	pod := func(ns, name, uid string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(uid)}}
	}
	node := func(name string, ok bool) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if ok {
			n.Labels = map[string]string{testLabel: "true"}
		}
		return n
	}
	cs := fake.NewSimpleClientset(ns("db", true), ns("team", false),
		pod("db", "pg-1", "uid-db"), pod("team", "app-1", "uid-team"),
		node("n1", true), node("n2", false))
	return Guard{CS: cs, Label: testLabel}
}

func TestGuard(t *testing.T) {
	g := guardWorld()
	dl := time.Now().Add(time.Minute)
	freeze := func(pod, uid string) Action {
		return Action{ID: "a", Kind: Freeze, Deadline: dl, Pod: pod, PodUID: uid}
	}
	io := func(pod, uid, prefix string) Action {
		return Action{ID: "a", Kind: IOFS, Deadline: dl, Pod: pod, PodUID: uid,
			Storage: &iofs.Spec{DelayPrefix: prefix, ENOSPCPrefix: prefix}}
	}
	cases := []struct {
		name string
		a    Action
		want string // "" = allowed
	}{
		{"pod of a labelled namespace", freeze("db/pg-1", "uid-db"), ""},
		{"partition of a labelled namespace's pod", Action{ID: "a", Kind: Partition, Deadline: dl, Pod: "db/pg-1", PodUID: "uid-db"}, ""},
		{"storage of the pod's own volume", io("db/pg-1", "uid-db", "pvc-9_db_pg-1/pgdata/pg_wal/"), ""},
		{"node labelled", Action{ID: "a", Kind: NodePause, Deadline: dl, Container: "n1"}, ""},

		{"pod of an unlabelled namespace", freeze("team/app-1", "uid-team"), "namespace team is not labelled pgchaos.io/allow-chaos=true"},
		// The uid is what the executor acts on: a labelled pod's name with
		// another pod's uid must not pass.
		{"labelled name, foreign uid", freeze("db/pg-1", "uid-team"), "has uid uid-db, the action names uid uid-team"},
		{"pod without namespace", freeze("pg-1", "uid-db"), "is not namespace/name"},
		{"pod that does not exist", freeze("db/gone", "uid-x"), "reading the pod"},
		{"storage of another namespace's volume", io("db/pg-1", "uid-db", "pvc-7_team_data/x/"), `directory names namespace "team"`},
		{"storage prefix not a volume directory", io("db/pg-1", "uid-db", "lost+found/"), `directory names namespace ""`},
		{"node unlabelled", Action{ID: "a", Kind: NodeStop, Deadline: dl, Container: "n2"}, "node n2 is not labelled"},
		{"node unknown", Action{ID: "a", Kind: NodeStop, Deadline: dl, Container: "n9"}, "reading the node"},
	}
	for _, c := range cases {
		err := g.Check(context.Background(), c.a)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.want != "" && err == nil:
			t.Errorf("%s: allowed, want refused (%s)", c.name, c.want)
		case c.want != "" && !strings.Contains(err.Error(), c.want):
			t.Errorf("%s: %v, want it to say %q", c.name, err, c.want)
		}
	}
}

// A refused action leaves nothing behind: not recorded, not applied.
func TestExecutorCheckRefusesBeforeAnything(t *testing.T) {
	e := &Executor{Store: Store{Dir: t.TempDir()}, Proc: t.TempDir()}
	refused := errors.New("refused by the guard")
	e.Check = func(context.Context, Action) error { return refused }
	a := Action{ID: "f1", Kind: Freeze, Deadline: time.Now().Add(time.Minute), Pod: "team/app-1", PodUID: "uid-team"}
	if _, err := e.Apply(context.Background(), a); !errors.Is(err, refused) {
		t.Fatalf("Apply = %v, want the guard's refusal", err)
	}
	held, err := e.Store.List()
	if err != nil || len(held) != 0 {
		t.Fatalf("after a refusal the store holds %v (err %v), want nothing", held, err)
	}
	// Without a refusal the same action reaches the executor (which finds
	// no such pod's processes here and says so).
	e.Check = func(context.Context, Action) error { return nil }
	if _, err := e.Apply(context.Background(), a); err == nil || errors.Is(err, refused) || !strings.Contains(err.Error(), "uid-team") {
		t.Fatalf("Apply without refusal = %v, want the executor's own error naming the pod uid", err)
	}
}
