package imagebuild

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// TestStepCachesByContent runs a real script twice and once changed: the
// second run is served from the cache, a changed environment builds again,
// and a failing script leaves nothing that looks finished.
func TestStepCachesByContent(t *testing.T) {
	cache := t.TempDir()
	var lines []string
	b := Builder{CacheDir: cache, Area: "test", Dir: "s", Progress: func(s string) { lines = append(lines, s) },
		Scripts: fstest.MapFS{
			"s/ok.sh":   {Data: []byte(`echo "$GREETING" > "$OUT/out"; echo $RANDOM >> "$OUT/out"`)},
			"s/fail.sh": {Data: []byte(`echo half > "$OUT/out"; echo broken >&2; exit 3`)},
		}}
	ctx := context.Background()
	dir1, key1, err := b.Step(ctx, "hello", "ok.sh", map[string]string{"GREETING": "hi"}, "")
	if err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(filepath.Join(dir1, "out"))
	dir2, key2, err := b.Step(ctx, "hello", "ok.sh", map[string]string{"GREETING": "hi"}, "")
	if err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(filepath.Join(dir2, "out"))
	if key1 != key2 || dir1 != dir2 || string(first) != string(second) || !strings.HasPrefix(string(first), "hi\n") {
		t.Fatalf("second run not served from the cache: %s %q vs %s %q", key1, first, key2, second)
	}
	if !strings.Contains(strings.Join(lines, "\n"), "cached") {
		t.Errorf("progress does not say cached: %q", lines)
	}
	_, key3, err := b.Step(ctx, "hello", "ok.sh", map[string]string{"GREETING": "bye"}, "")
	if err != nil || key3 == key1 {
		t.Fatalf("a changed environment reused key %s (err %v)", key3, err)
	}
	_, _, err = b.Step(ctx, "broken", "fail.sh", nil, "")
	if err == nil || !strings.Contains(err.Error(), "broken") || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("failing script: %v", err)
	}
	matches, _ := filepath.Glob(filepath.Join(cache, "test", "broken", "*", ".done"))
	if len(matches) != 0 {
		t.Errorf("a failed step looks finished: %v", matches)
	}
	b.Scripts.(fstest.MapFS)["s/cat.sh"] = &fstest.MapFile{Data: []byte(`cp "$WORK/in.txt" "$OUT/out"`)}
	d1, k1, err := b.StepFiles(ctx, "files", "cat.sh", nil, "", map[string][]byte{"in.txt": []byte("one")})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(d1, "out")); string(got) != "one" {
		t.Errorf("input file not given to the script: %q", got)
	}
	if _, k2, _ := b.StepFiles(ctx, "files", "cat.sh", nil, "", map[string][]byte{"in.txt": []byte("two")}); k2 == k1 {
		t.Error("a changed input file kept the key")
	}
	if _, _, err := b.Step(ctx, "x", "absent.sh", nil, ""); err == nil {
		t.Error("a missing script was run")
	}
}

func TestCheckTools(t *testing.T) {
	if err := CheckTools("bash"); err != nil {
		t.Fatal(err)
	}
	if err := CheckTools("bash", "no-such-tool-pgchaos"); err == nil || !strings.Contains(err.Error(), "no-such-tool-pgchaos") {
		t.Fatalf("missing tool: %v", err)
	}
}
