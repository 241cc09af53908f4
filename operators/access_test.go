package operators

import (
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestDSNQuotesAndParses(t *testing.T) {
	pw := `a b'c\d`
	d := DSN(HostPort{"172.18.0.2", 31234}, Credentials{User: "app", Password: pw, Database: "app"}, true, 2*time.Second)
	cc, err := pgx.ParseConfig(d)
	if err != nil {
		t.Fatalf("%s: %v", d, err)
	}
	if cc.Host != "172.18.0.2" || cc.Port != 31234 || cc.User != "app" || cc.Password != pw || cc.Database != "app" {
		t.Fatalf("parsed %+v from %s", cc, d)
	}
	if cc.RuntimeParams["target_session_attrs"] != "" {
		t.Fatalf("target_session_attrs leaked into runtime params")
	}
	if cc.ValidateConnect == nil {
		t.Fatalf("target_session_attrs=read-write not applied")
	}
	if cc.ConnectTimeout != 2*time.Second {
		t.Fatalf("connect timeout %v", cc.ConnectTimeout)
	}
}

func TestPrimaryOf(t *testing.T) {
	ref := Ref{"db", "pg"}
	if _, err := PrimaryOf([]Instance{{Name: "a", Role: RoleReplica}}, ref); err == nil {
		t.Fatal("no primary: want an error")
	}
	if _, err := PrimaryOf([]Instance{{Name: "a", Role: RolePrimary}, {Name: "b", Role: RolePrimary}}, ref); err == nil {
		t.Fatal("two primaries: want an error")
	}
	p, err := PrimaryOf([]Instance{{Name: "a", Role: RoleReplica}, {Name: "b", Role: RolePrimary}}, ref)
	if err != nil || p.Name != "b" {
		t.Fatalf("got %+v %v", p, err)
	}
}

func TestExposedNameFitsDNS(t *testing.T) {
	n := exposedName("a-very-long-cluster-name-that-goes-on-and-on-and-on-and-on-rw-x")
	if len(n) > 63 || n[len(n)-1] == '-' {
		t.Fatalf("%q", n)
	}
}

func TestCheckRelease(t *testing.T) {
	known := []string{"1.27.1", "1.25.1"}
	for _, v := range []string{"1.27.1", "1.25.1", "1.26.0", "1.30.12"} {
		if err := CheckRelease("X", v, known); err != nil {
			t.Errorf("%s refused: %v", v, err)
		}
	}
	for _, v := range []string{"", "v1.27.1", "2.0.0", "1.27", "1.x.0", "1.27.1-rc1", "latest"} {
		err := CheckRelease("X", v, known)
		if err == nil || !strings.Contains(err.Error(), "X version") || !strings.Contains(err.Error(), "1.27.1, 1.25.1") {
			t.Errorf("%q: %v", v, err)
		}
	}
}
