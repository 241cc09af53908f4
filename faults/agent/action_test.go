package agent

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/faults/iofs"
)

func TestValidate(t *testing.T) {
	dl := time.Now().Add(time.Minute)
	cases := []struct {
		name string
		a    Action
		want string // substring of the error; "" = valid
	}{
		{"partition ok", Action{ID: "r1-a", Kind: Partition, PodUID: "u", Deadline: dl, Peers: []string{"10.0.0.1", "10.1.0.0/16"}}, ""},
		{"node partition ok", Action{ID: "r1-a", Kind: Partition, Container: "kind-worker", Iface: "eth0", Deadline: dl}, ""},
		{"no deadline", Action{ID: "r1-a", Kind: Partition, PodUID: "u"}, "deadline is required"},
		{"bad id", Action{ID: "a/b", Kind: Partition, PodUID: "u", Deadline: dl}, "want 1-80"},
		{"no target", Action{ID: "x", Kind: Partition, Deadline: dl}, "pod uid or a node container"},
		{"bad peer", Action{ID: "x", Kind: Partition, PodUID: "u", Deadline: dl, Peers: []string{"pg-1"}}, "neither an IP nor a CIDR"},
		{"bad port", Action{ID: "x", Kind: Partition, PodUID: "u", Deadline: dl, Ports: []int{70000}}, "out of range"},
		{"bad iface", Action{ID: "x", Kind: Partition, PodUID: "u", Deadline: dl, Iface: "eth0; rm"}, "not a valid name"},
		{"freeze needs pod", Action{ID: "x", Kind: Freeze, Container: "c", Deadline: dl}, "freeze needs a pod uid"},
		{"node needs container", Action{ID: "x", Kind: NodeStop, PodUID: "u", Deadline: dl}, "needs a node container"},
		{"unknown kind", Action{ID: "x", Kind: "melt", PodUID: "u", Deadline: dl}, "unknown kind"},
		{"iofs ok", Action{ID: "x", Kind: IOFS, Deadline: dl, Storage: &iofs.Spec{FsyncDelay: 50 * time.Millisecond, DelayPrefix: "pvc-1_db_pg-1/pgdata/pg_wal/"}}, ""},
		{"iofs enospc ok", Action{ID: "x", Kind: IOFS, Deadline: dl, Storage: &iofs.Spec{ENOSPC: true, ENOSPCPrefix: "pvc-1_db_pg-1/pgdata/pg_wal/"}}, ""},
		{"iofs needs a fault", Action{ID: "x", Kind: IOFS, Deadline: dl}, "needs a storage fault"},
		{"iofs empty fault", Action{ID: "x", Kind: IOFS, Deadline: dl, Storage: &iofs.Spec{DelayPrefix: "a/"}}, "needs a storage fault"},
		{"iofs whole mount", Action{ID: "x", Kind: IOFS, Deadline: dl, Storage: &iofs.Spec{ENOSPC: true}}, "hit every volume"},
		{"iofs sibling", Action{ID: "x", Kind: IOFS, Deadline: dl, Storage: &iofs.Spec{FsyncDelay: time.Millisecond, DelayPrefix: "pvc-1"}}, "must end with"},
		{"iofs dotdot", Action{ID: "x", Kind: IOFS, Deadline: dl, Storage: &iofs.Spec{ENOSPC: true, ENOSPCPrefix: "pvc-1/../pvc-2/"}}, "clean relative path"},
		{"iofs absolute", Action{ID: "x", Kind: IOFS, Deadline: dl, Storage: &iofs.Spec{ENOSPC: true, ENOSPCPrefix: "/pvc-1/"}}, "relative"},
		{"iofs double slash", Action{ID: "x", Kind: IOFS, Deadline: dl, Storage: &iofs.Spec{ENOSPC: true, ENOSPCPrefix: "pvc-1//"}}, "clean relative path"},
		{"iofs delay too long", Action{ID: "x", Kind: IOFS, Deadline: dl, Storage: &iofs.Spec{FsyncDelay: time.Hour, DelayPrefix: "a/"}}, "out of range"},
	}
	for _, c := range cases {
		err := c.a.Validate()
		if c.want == "" && err != nil {
			t.Errorf("%s: unexpected error %v", c.name, err)
		}
		if c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestEncodeDecode(t *testing.T) {
	a := Action{ID: "run-1", RunID: "run", Kind: Partition, PodUID: "u", Pod: "db/pg-1",
		Deadline: time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC), Peers: []string{"10.0.0.2"}, Ports: []int{5432}}
	s, err := a.Encode()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Decode(s)
	if err != nil || !reflect.DeepEqual(a, b) {
		t.Fatalf("round trip: %+v, %v", b, err)
	}
	if _, err := Decode(`{"id":"x","kind":"partition"}`); err == nil {
		t.Fatal("an action without target and deadline decoded")
	}
	if _, err := Decode(`{`); err == nil {
		t.Fatal("malformed JSON decoded")
	}
}

func TestParseStat(t *testing.T) {
	// comm with a space and a parenthesis: the parser must cut at the last ')'.
	s := "4242 (postgres: a) b) S 4200 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 200 0 0 0"
	st, err := parseStat(s)
	if err != nil {
		t.Fatal(err)
	}
	if st.comm != "postgres: a) b" || st.ppid != 4200 || st.start != 987654 {
		t.Fatalf("parsed %+v", st)
	}
	if _, err := parseStat("garbage"); err == nil {
		t.Fatal("garbage parsed")
	}
}

func TestChainsShortAndDistinct(t *testing.T) {
	i1, o1, f1 := chains("run-20261122-primary-isolate-1")
	i2, _, _ := chains("run-20261122-primary-isolate-2")
	for _, c := range []string{i1, o1, f1} {
		if len(c) > 28 {
			t.Fatalf("chain %s longer than iptables allows", c)
		}
	}
	if i1 == i2 || i1 == o1 || o1 == f1 {
		t.Fatalf("chains collide: %s %s %s %s", i1, o1, f1, i2)
	}
}

func TestPartitionRules(t *testing.T) {
	join := func(rs [][]string) string {
		var l []string
		for _, r := range rs {
			l = append(l, strings.Join(r, " "))
		}
		return strings.Join(l, "\n")
	}
	in, out, fwd := chains("a")
	// Clients cut from the primary: port 5432 dropped except for the replicas.
	got := join(partitionRules(Action{ID: "a", Except: []string{"10.0.0.2"}, Ports: []int{5432}}))
	for _, want := range []string{
		"-A " + in + " -i lo -j RETURN",
		"-A " + in + " -s 10.0.0.2 -j RETURN",
		"-A " + out + " -d 10.0.0.2 -j RETURN",
		"-A " + in + " -p tcp --dport 5432 -j DROP",
		"-A " + out + " -p tcp --sport 5432 -j DROP",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("clients-cut rules lack %q:\n%s", want, got)
		}
	}
	if strings.Index(got, "RETURN") > strings.Index(got, "DROP") {
		t.Errorf("an exception comes after a drop:\n%s", got)
	}
	// A node cut on eth0: forwarded traffic too, loopback untouched by construction.
	got = join(partitionRules(Action{ID: "a", Iface: "eth0"}))
	for _, want := range []string{"-A " + in + " -i eth0 -j DROP", "-A " + out + " -o eth0 -j DROP",
		"-A " + fwd + " -i eth0 -j DROP", "-A " + fwd + " -o eth0 -j DROP"} {
		if !strings.Contains(got, want) {
			t.Errorf("node rules lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, " lo ") {
		t.Errorf("interface rules mention loopback:\n%s", got)
	}
}
