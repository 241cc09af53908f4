package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReportInChromium renders the saved run and the comparison of a saved
// CloudNativePG run (async against sync), opens each file in headless
// Chromium (Debian's package, installed by testdata/install-chromium.sh
// when missing), checks that the scorecard and charts are in the rendered
// DOM, that the page asked nothing of the network (Chromium's net log; a
// control page with external resources proves the detector sees them), and
// saves screenshots (report.png, compare.png) to $PGCHAOS_ARTIFACTS (else
// the test's temporary directory).
func TestReportInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short (it needs chromium; run without -short)")
	}
	chromium := findChromium(t)
	start := time.Now()
	dir := t.TempDir()
	out := os.Getenv("PGCHAOS_ARTIFACTS")
	if out == "" {
		out = dir
	} else if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	if err := Render(&buf, loadTestRun(t)); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(out, "report.html")
	writeFile(t, page, buf.String())

	// The DOM as Chromium built it.
	dom, netlog := runChromium(t, chromium, dir, page, "--dump-dom")
	for _, want := range []string{`<table class="scorecard">`, ">async-failover</a>", ">split-brain</a>", ">known-outage</a>", "✗ FAIL", "✓ PASS", "NOT CHECKED"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
	if n := strings.Count(dom, `<svg class="timeline"`); n != 3 {
		t.Errorf("rendered DOM has %d timeline charts, want 3", n)
	}
	assertSelfContained(t, dom)
	if reqs := pageRequests(t, netlog); len(reqs) > 0 {
		t.Errorf("the report asked the network for %q", reqs)
	}

	// The screenshot a person would see.
	shot := filepath.Join(out, "report.png")
	_, netlog = runChromium(t, chromium, dir, page, "--screenshot="+shot, "--window-size=1400,2000")
	if reqs := pageRequests(t, netlog); len(reqs) > 0 {
		t.Errorf("the report asked the network for %q while drawn", reqs)
	}
	checkScreenshot(t, shot, map[string]string{"passed cell": "#c6f6d5", "failed cell": "#fed7d7", "primary": "#1a365d"})
	t.Logf("screenshot: %s (report: %s)", shot, page)

	// The comparison of the real CloudNativePG run, asynchronous against
	// synchronous.
	runs, err := LoadRunResults([]string{cnpgV1})
	if err != nil {
		t.Fatal(err)
	}
	cmp, err := Compare(runs, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := cmp.HTML(&buf); err != nil {
		t.Fatal(err)
	}
	cpage := filepath.Join(out, "compare.html")
	writeFile(t, cpage, buf.String())
	dom, netlog = runChromium(t, chromium, dir, cpage, "--dump-dom")
	for _, want := range []string{`<table class="scorecard compare">`, "cnpg-v1 · cnpg · async", "cnpg-v1 · cnpg · sync",
		`<td class="fail worse"`, "▲ +614 lost vs best", "✓ HELD EVERY EXPECTATION", `<span class="bar"`} {
		if !strings.Contains(html.UnescapeString(dom), want) {
			t.Errorf("rendered comparison DOM lacks %q", want)
		}
	}
	assertSelfContained(t, dom)
	if reqs := pageRequests(t, netlog); len(reqs) > 0 {
		t.Errorf("the comparison asked the network for %q", reqs)
	}
	cshot := filepath.Join(out, "compare.png")
	_, netlog = runChromium(t, chromium, dir, cpage, "--screenshot="+cshot, "--window-size=1400,1400")
	if reqs := pageRequests(t, netlog); len(reqs) > 0 {
		t.Errorf("the comparison asked the network for %q while drawn", reqs)
	}
	// Passed and failed cells, and the bars (#2d3748) of the figures.
	checkScreenshot(t, cshot, map[string]string{"passed cell": "#c6f6d5", "failed cell": "#fed7d7", "figure bar": "#2d3748"})
	t.Logf("screenshot: %s (comparison: %s)", cshot, cpage)

	// Control: a page with external resources is caught by the same check.
	control := filepath.Join(dir, "control.html")
	writeFile(t, control, `<!DOCTYPE html><html><head><link rel="stylesheet" href="https://fonts.example.invalid/x.css"></head><body><img src="http://example.invalid/x.png"></body></html>`)
	_, netlog = runChromium(t, chromium, dir, control, "--dump-dom")
	if reqs := pageRequests(t, netlog); len(reqs) != 2 {
		t.Errorf("the net log check saw %q on the control page, want its 2 external resources: it cannot be trusted", reqs)
	}
	t.Logf("browser test: %s", time.Since(start).Round(time.Millisecond))
}

// findChromium returns Debian's chromium, installing it when missing. It
// fails (never skips) when it cannot.
func findChromium(t *testing.T) string {
	t.Helper()
	look := func() string {
		for _, p := range []string{"/usr/bin/chromium"} {
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p
			}
		}
		p, _ := exec.LookPath("chromium")
		return p
	}
	if p := look(); p != "" {
		return p
	}
	t.Log("chromium missing: running testdata/install-chromium.sh")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "testdata/install-chromium.sh")
	b, err := cmd.CombinedOutput()
	if p := look(); err == nil && p != "" {
		return p
	}
	t.Fatalf("the browser test needs Debian's chromium, which is missing, and testdata/install-chromium.sh could not install it (%v): %s\n"+
		"install it (as root: apt-get install -y chromium) and run the test again", err, strings.TrimSpace(string(b)))
	return ""
}

// runChromium opens file in headless Chromium with every network name
// resolving to nothing, and returns its standard output and net log.
func runChromium(t *testing.T, chromium, dir, file string, args ...string) (string, []byte) {
	t.Helper()
	profile, err := os.MkdirTemp(dir, "profile-")
	if err != nil {
		t.Fatal(err)
	}
	netlog := filepath.Join(profile, "netlog.json")
	full := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-default-apps", "--no-pings",
		"--user-data-dir=" + profile,
		"--host-resolver-rules=MAP * ~NOTFOUND",
		"--log-net-log=" + netlog,
		"--hide-scrollbars",
	}, args...)
	full = append(full, "file://"+mustAbs(t, file))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nice", append([]string{"-n", "10", chromium}, full...)...)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, lastLines(stderr.String(), 10))
	}
	b, err := os.ReadFile(netlog)
	if err != nil {
		t.Fatalf("chromium wrote no net log: %v\n%s", err, lastLines(stderr.String(), 10))
	}
	return stdout.String(), b
}

// pageRequests returns the URLs of the network requests a page started,
// from Chromium's net log: URL_REQUEST_START_JOB events with a web
// initiator. Chromium's own background requests (initiator "not an origin")
// are not the page's; every name resolves to nothing, so they go nowhere.
func pageRequests(t *testing.T, netlog []byte) []string {
	t.Helper()
	var nl struct {
		Constants struct {
			LogEventTypes map[string]int `json:"logEventTypes"`
		} `json:"constants"`
		Events []struct {
			Type   int            `json:"type"`
			Params map[string]any `json:"params"`
		} `json:"events"`
	}
	// A net log cut off at exit lacks its closing brackets.
	if err := json.Unmarshal(netlog, &nl); err != nil {
		fixed := strings.TrimRight(strings.TrimSpace(string(netlog)), ",") + "]}"
		if err2 := json.Unmarshal([]byte(fixed), &nl); err2 != nil {
			t.Fatalf("reading chromium's net log: %v", err)
		}
	}
	start, ok := nl.Constants.LogEventTypes["URL_REQUEST_START_JOB"]
	if !ok {
		t.Fatal("chromium's net log names no URL_REQUEST_START_JOB event type")
	}
	var out []string
	for _, e := range nl.Events {
		if e.Type != start {
			continue
		}
		url, _ := e.Params["url"].(string)
		if url == "" {
			continue // the end of a job: its start names the URL
		}
		init, _ := e.Params["initiator"].(string)
		nik, _ := e.Params["network_isolation_key"].(string)
		if init == "not an origin" && !strings.Contains(nik, "file://") {
			continue
		}
		if strings.HasPrefix(url, "file://") || strings.HasPrefix(url, "data:") {
			continue
		}
		out = append(out, url)
	}
	return out
}

// checkScreenshot asserts the screenshot shows the report as styled: at
// least 500 pixels of each colour (name to hex: the colours of passed and
// failed scorecard cells, of a primary in a timeline, ...).
func checkScreenshot(t *testing.T, path string, colours map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 1000 {
		t.Errorf("screenshot is %dx%d", b.Dx(), b.Dy())
	}
	for name, hex := range colours {
		if n := countColour(img, hex); n < 500 {
			t.Errorf("screenshot has %d pixels of the %s colour %s: the report did not render as styled", n, name, hex)
		}
	}
}

func countColour(img image.Image, hex string) int {
	var r0, g0, b0 int
	_, _ = fmt.Sscanf(hex, "#%02x%02x%02x", &r0, &g0, &b0)
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, _ := img.At(x, y).RGBA()
			if abs(int(r>>8)-r0) <= 3 && abs(int(g>>8)-g0) <= 3 && abs(int(bb>>8)-b0) <= 3 {
				n++
			}
		}
	}
	return n
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
