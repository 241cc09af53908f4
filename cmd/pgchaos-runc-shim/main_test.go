package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSpecPaths(t *testing.T) {
	cases := []struct {
		args          []string
		bundle, procf string
	}{
		{[]string{"--root", "/r", "create", "--bundle", "/b", "id"}, "/b", ""},
		{[]string{"create", "--bundle=/b", "id"}, "/b", ""},
		{[]string{"--log", "x", "exec", "--process", "/p.json", "id"}, "", "/p.json"},
		{[]string{"start", "id"}, "", ""},
	}
	for _, c := range cases {
		b, p := specPaths(c.args)
		if b != c.bundle || p != c.procf {
			t.Errorf("specPaths(%v) = %q,%q want %q,%q", c.args, b, p, c.bundle, c.procf)
		}
	}
}

func TestRewrite(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "config.json")
	in := `{"ociVersion":"1.0","process":{"capabilities":{"bounding":["CAP_CHOWN","CAP_SYS_RESOURCE"],"effective":["CAP_SYS_RESOURCE"]},"args":["sh"]}}`
	if err := os.WriteFile(spec, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := rewrite(spec, true); err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(spec)
	if strings.Contains(string(out), "CAP_SYS_RESOURCE") || !strings.Contains(string(out), "CAP_CHOWN") || !strings.Contains(string(out), `"args":["sh"]`) {
		t.Fatalf("bad rewrite: %s", out)
	}
	proc := filepath.Join(dir, "p.json")
	if err := os.WriteFile(proc, []byte(`{"capabilities":{"bounding":["CAP_SYS_RESOURCE","CAP_KILL"]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := rewrite(proc, false); err != nil {
		t.Fatal(err)
	}
	out, _ = os.ReadFile(proc)
	if strings.Contains(string(out), "CAP_SYS_RESOURCE") || !strings.Contains(string(out), "CAP_KILL") {
		t.Fatalf("bad rewrite: %s", out)
	}
}
