package zalando

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestEntrypointRendersPatroniConfig runs the image's entrypoint (python3,
// with --print) on the environment Zalando's operator gives a pod and
// checks what the operator and pgchaos rely on: the Kubernetes DCS with
// Endpoints and the operator's labels, the operator's DCS settings
// (synchronous mode) kept and never added, non-empty DCS parameters (the
// operator panics without them), TLS on, md5 in pg_hba.
func TestEntrypointRendersPatroniConfig(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is needed (ci/install-deps.sh installs it): %v", err)
	}
	if err := exec.Command(py, "-c", "import yaml").Run(); err != nil {
		t.Fatalf("python3-yaml is needed (ci/install-deps.sh installs it): %v", err)
	}
	render := func(extra ...string) map[string]any {
		t.Helper()
		cmd := exec.Command(py, filepath.Join("scripts", "spilo-entrypoint.py"), "--print")
		cmd.Env = append(os.Environ(), "SCOPE=pg-async", "POD_IP=10.244.1.7", "POD_NAMESPACE=pgchaos", "HOSTNAME=pg-async-0",
			"PGUSER_SUPERUSER=postgres", "PGPASSWORD_SUPERUSER=su-secret", "PGUSER_STANDBY=standby", "PGPASSWORD_STANDBY=st-secret",
			"KUBERNETES_SCOPE_LABEL=cluster-name", "KUBERNETES_ROLE_LABEL=spilo-role", `KUBERNETES_LABELS={"application":"spilo"}`,
			"PGROOT=/home/postgres/pgdata/pgroot", "PGVERSION=15")
		cmd.Env = append(cmd.Env, extra...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("entrypoint: %v", err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(out, &m); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return m
	}
	get := func(m map[string]any, path ...string) any {
		var v any = m
		for _, p := range path {
			mm, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = mm[p]
		}
		return v
	}
	m := render()
	checks := []struct {
		path []string
		want any
	}{
		{[]string{"scope"}, "pg-async"},
		{[]string{"name"}, "pg-async-0"},
		{[]string{"kubernetes", "use_endpoints"}, true},
		{[]string{"kubernetes", "role_label"}, "spilo-role"},
		{[]string{"kubernetes", "scope_label"}, "cluster-name"},
		{[]string{"kubernetes", "namespace"}, "pgchaos"},
		{[]string{"kubernetes", "pod_ip"}, "10.244.1.7"},
		{[]string{"postgresql", "data_dir"}, "/home/postgres/pgdata/pgroot/data"},
		{[]string{"postgresql", "connect_address"}, "10.244.1.7:5432"},
		{[]string{"postgresql", "parameters", "ssl"}, "on"},
		{[]string{"postgresql", "authentication", "superuser", "password"}, "su-secret"},
		{[]string{"postgresql", "authentication", "replication", "username"}, "standby"},
		{[]string{"restapi", "connect_address"}, "10.244.1.7:8008"},
	}
	for _, c := range checks {
		if got := get(m, c.path...); got != c.want {
			t.Errorf("%s = %v, want %v", strings.Join(c.path, "."), got, c.want)
		}
	}
	if get(m, "bootstrap", "dcs", "synchronous_mode") != nil || get(m, "bootstrap", "dcs", "synchronous_node_count") != nil {
		t.Error("the entrypoint added synchronous settings the operator did not ask for")
	}
	if p, _ := get(m, "bootstrap", "dcs", "postgresql", "parameters").(map[string]any); len(p) == 0 {
		t.Error("bootstrap.dcs.postgresql.parameters is empty: the operator's /config reader would panic")
	}
	hba, _ := get(m, "postgresql", "pg_hba").([]any)
	if len(hba) == 0 || !strings.Contains(hba[len(hba)-1].(string), "md5") {
		t.Errorf("pg_hba %v: want md5 for network connections", hba)
	}

	spilo := `{"postgresql":{"parameters":{"shared_buffers":"32MB"}},"bootstrap":{"dcs":{"ttl":20,"synchronous_mode":true,"synchronous_node_count":1,"postgresql":{"parameters":{"max_connections":"120"}}}}}`
	m = render("SPILO_CONFIGURATION="+spilo, "KUBERNETES_USE_CONFIGMAPS=true")
	for _, c := range []struct {
		path []string
		want any
	}{
		{[]string{"bootstrap", "dcs", "synchronous_mode"}, true},
		{[]string{"bootstrap", "dcs", "ttl"}, float64(20)},
		{[]string{"bootstrap", "dcs", "loop_wait"}, float64(10)},
		{[]string{"bootstrap", "dcs", "postgresql", "parameters", "max_connections"}, "120"},
		{[]string{"bootstrap", "dcs", "postgresql", "parameters", "wal_level"}, "replica"},
		{[]string{"postgresql", "parameters", "shared_buffers"}, "32MB"},
		{[]string{"postgresql", "parameters", "ssl"}, "on"},
		{[]string{"kubernetes", "use_endpoints"}, false},
	} {
		if got := get(m, c.path...); got != c.want {
			t.Errorf("with SPILO_CONFIGURATION: %s = %v (%T), want %v", strings.Join(c.path, "."), got, got, c.want)
		}
	}

	cmd := exec.Command(py, filepath.Join("scripts", "spilo-entrypoint.py"), "--print")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "SCOPE and POD_IP are required") {
		t.Errorf("without SCOPE: %v %s", err, out)
	}
}
