package recount

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadLedger(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ledger.jsonl")
	lines := []string{
		`{"t":"header","v":1,"table":"pgchaos_w","run":42}`,
		`{"t":"inv","id":1,"c":0,"at":1}`,
		`{"t":"ok","id":1,"at":2}`,
		`{"t":"inv","id":2,"c":0,"at":3}`,
		`{"t":"fail","id":2,"at":4}`,
		`{"t":"inv","id":3,"c":1,"at":5}`,
		`{"at":6,"id":3,"t":"ok"}`,
		`{"t":"ok","id":4,"a`, // torn last line
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Table != "pgchaos_w" || got.Run != 42 {
		t.Errorf("header: table %q run %d", got.Table, got.Run)
	}
	if len(got.IDs) != 2 || !got.IDs[1] || !got.IDs[3] || got.IDs[2] || got.IDs[4] {
		t.Errorf("acknowledged ids %v, want 1 and 3", got.IDs)
	}
	if _, err := ReadLedger(filepath.Join(dir, "absent")); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("missing file: %v", err)
	}
}
