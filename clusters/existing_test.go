package clusters

import (
	"os"
	"path/filepath"
	"testing"
)

func TestNewExistingBadInput(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewExisting(filepath.Join(dir, "missing"), ""); !IsBadInput(err) {
		t.Errorf("missing kubeconfig: got %v, want bad input", err)
	}
	cfg := filepath.Join(dir, "kubeconfig")
	data := `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1"}
contexts:
- name: a
  context: {cluster: c, user: u}
users:
- name: u
  user: {}
current-context: a
`
	if err := os.WriteFile(cfg, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewExisting(cfg, "nope"); !IsBadInput(err) {
		t.Errorf("missing context: got %v, want bad input", err)
	}
	e, err := NewExisting(cfg, "")
	if err != nil || e.Name() != "a" {
		t.Fatalf("current context: %v %v", e, err)
	}
}

func TestKindConfig(t *testing.T) {
	k := NewKind(KindOptions{Name: "x", Workers: 3, NodeImage: "img"})
	cfg := k.config()
	if len(cfg.Nodes) != 4 || cfg.Nodes[0].Role != "control-plane" || cfg.Nodes[3].Labels["pgchaos.io/node"] != "worker-3" {
		t.Fatalf("nodes: %+v", cfg.Nodes)
	}
	for _, n := range cfg.Nodes {
		if n.Image != "img" {
			t.Errorf("node image %q", n.Image)
		}
	}
}
