package certify

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/reports"
)

// CertificateFormat and CertificateVersion identify certificate.json.
const (
	CertificateFormat  = "pgchaos-certificate"
	CertificateVersion = 1
	// CertificateFile and CertificateHTML are written in the run's directory.
	CertificateFile = "certificate.json"
	CertificateHTML = "certificate.html"
)

// Certificate is what `pgchaos certify` issues: the profile (its text and
// hash), the software certified, every requirement with its status and
// evidence, and every trial with its seed, verdicts and the SHA-256 of its
// raw files, so that `pgchaos certify verify` can re-judge it.
type Certificate struct {
	Format  string     `json:"format"`
	Version int        `json:"version"`
	Issued  time.Time  `json:"issued"`
	Profile ProfileRef `json:"profile"`
	// Operator is the adapter's name (operators/registry).
	Operator string `json:"operator"`
	// Software: pgchaos, Kubernetes, the operator, its settings, images.
	Software *reports.Software `json:"software,omitempty"`
	// Clusters: one per replication mode, with its PostgreSQL version.
	Clusters []reports.ClusterInfo `json:"clusters,omitempty"`
	// Budgets the trials were driven and judged by.
	Budgets *reports.Budgets `json:"budgets,omitempty"`
	// Status is PASS, FAIL or UNDECIDED; Reason says why it is not PASS.
	Status       string    `json:"status"`
	Reason       string    `json:"reason,omitempty"`
	Requirements []Result  `json:"requirements"`
	Trials       []Trial   `json:"trials"`
	Missing      []Missing `json:"missing,omitempty"`
}

// ProfileRef names the profile a certificate was made with; Text is the
// file's content, so the certificate can be verified without it.
type ProfileRef struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	File    string `json:"file"`
	SHA256  string `json:"sha256"`
	Text    string `json:"text"`
}

// derived are files of a trial directory computed from the others: not
// hashed (verify recomputes what matters).
var derived = map[string]bool{history.VerdictFile: true, "report.html": true}

// HashFiles returns the SHA-256 of every regular file of a trial
// directory, by name, except the derived ones (verdict.json, report.html).
func HashFiles(dir string) (map[string]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading trial %s: %w", dir, err)
	}
	out := map[string]string{}
	for _, e := range ents {
		if !e.Type().IsRegular() || derived[e.Name()] {
			continue
		}
		sum, err := hashFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out[e.Name()] = sum
	}
	if _, ok := out[history.LedgerFile]; !ok {
		return nil, fmt.Errorf("trial %s has no %s", dir, history.LedgerFile)
	}
	return out, nil
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Build makes the certificate of a run directory dir (what `pgchaos run`
// wrote: results.json and the trial directories) against profile p, whose
// file is profilePath with content profileText.
func Build(dir string, p *Profile, profilePath string, profileText []byte, res *reports.Results) (*Certificate, error) {
	sum := sha256.Sum256(profileText)
	c := &Certificate{
		Format: CertificateFormat, Version: CertificateVersion, Issued: time.Now().UTC(),
		Profile:  ProfileRef{Name: p.Name, Version: p.Version, File: filepath.Base(profilePath), SHA256: hex.EncodeToString(sum[:]), Text: string(profileText)},
		Software: res.Software, Budgets: res.Budgets, Clusters: res.Clusters,
	}
	if res.Software != nil {
		c.Operator = res.Software.Operator
	}
	ran := map[[2]string]int{}
	for _, r := range res.Trials {
		rel, err := filepath.Rel(dir, r.Dir)
		if err != nil || !inside(rel) {
			return nil, fmt.Errorf("trial %s is not inside %s", r.Dir, dir)
		}
		files, err := HashFiles(r.Dir)
		if err != nil {
			return nil, err
		}
		if c.Operator == "" {
			c.Operator = r.Operator
		}
		c.Trials = append(c.Trials, Trial{Dir: rel, Scenario: r.Scenario, Mode: r.Replication, Seed: r.Seed, Checks: r.Checks, Files: files})
		ran[[2]string{r.Scenario, r.Replication}]++
	}
	skipped := map[[2]string]string{}
	for _, s := range res.Skipped {
		skipped[[2]string{s.Scenario, s.Replication}] = s.Reason
	}
	for _, mode := range p.ModeNames() {
		for _, s := range p.Modes[mode].Scenarios {
			k := [2]string{s, mode}
			if n, want := ran[k], p.Repeat(mode); n < want {
				why := skipped[k]
				if why == "" {
					why = fmt.Sprintf("%d of %d trials ran", n, want)
				}
				c.Missing = append(c.Missing, Missing{Scenario: s, Mode: mode, Reason: why})
			}
		}
	}
	c.Requirements, c.Status, c.Reason = Evaluate(p, c.Trials, c.Missing)
	return c, nil
}

// Write writes DIR/certificate.json and DIR/certificate.html.
func (c *Certificate) Write(dir string) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the certificate: %w", err)
	}
	if err := writeAtomic(filepath.Join(dir, CertificateFile), append(data, '\n')); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, CertificateHTML+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", CertificateHTML, err)
	}
	if err := c.HTML(f); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", CertificateHTML, err)
	}
	return os.Rename(f.Name(), filepath.Join(dir, CertificateHTML))
}

// Read reads DIR/certificate.json.
func Read(dir string) (*Certificate, error) {
	path := filepath.Join(dir, CertificateFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var c Certificate
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if c.Format != CertificateFormat {
		return nil, fmt.Errorf("%s: format %q, want %q", path, c.Format, CertificateFormat)
	}
	if c.Version < 1 || c.Version > CertificateVersion {
		return nil, fmt.Errorf("%s: version %d; this pgchaos reads 1 to %d", path, c.Version, CertificateVersion)
	}
	return &c, nil
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// sortedFiles lists a trial's file names in order.
func sortedFiles(m map[string]string) []string {
	var names []string
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// inside reports whether rel, a path relative to a certificate's
// directory, stays inside it.
func inside(rel string) bool {
	rel = filepath.Clean(rel)
	return !filepath.IsAbs(rel) && rel != ".." && !strings.HasPrefix(rel, "../")
}
