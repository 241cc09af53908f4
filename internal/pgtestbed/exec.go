package pgtestbed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// debianPGRoot is where Debian and Ubuntu install the PostgreSQL server
// binaries, one directory per major version.
const debianPGRoot = "/usr/lib/postgresql"

// ErrNoBinaries is returned by Start (wrapped) and FindBinDir when no
// PostgreSQL server binaries are installed.
var ErrNoBinaries = errors.New("PostgreSQL server binaries not found under " + debianPGRoot +
	"; install postgresql (apt-get install -y postgresql)")

// FindBinDir returns the bin directory of the newest PostgreSQL major version
// installed under /usr/lib/postgresql, or an error wrapping ErrNoBinaries.
func FindBinDir() (string, error) {
	return findBinDir(debianPGRoot)
}

func findBinDir(root string) (string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", root, ErrNoBinaries)
	}
	type cand struct {
		version []int
		bin     string
	}
	var cands []cand
	for _, e := range entries {
		v, ok := parseVersion(e.Name())
		if !ok {
			continue
		}
		bin := filepath.Join(root, e.Name(), "bin")
		complete := true
		for _, tool := range []string{"postgres", "initdb", "pg_ctl", "pg_basebackup", "pg_rewind"} {
			if fi, err := os.Stat(filepath.Join(bin, tool)); err != nil || fi.Mode()&0o111 == 0 {
				complete = false
				break
			}
		}
		if complete {
			cands = append(cands, cand{v, bin})
		}
	}
	if len(cands) == 0 {
		return "", ErrNoBinaries
	}
	sort.Slice(cands, func(a, b int) bool { return versionLess(cands[a].version, cands[b].version) })
	return cands[len(cands)-1].bin, nil
}

// parseVersion parses directory names such as "15" or "9.6".
func parseVersion(s string) ([]int, bool) {
	var v []int
	for _, part := range strings.Split(s, ".") {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return nil, false
		}
		v = append(v, n)
	}
	return v, len(v) > 0
}

func versionLess(a, b []int) bool {
	for k := 0; k < len(a) && k < len(b); k++ {
		if a[k] != b[k] {
			return a[k] < b[k]
		}
	}
	return len(a) < len(b)
}

// runner runs PostgreSQL binaries as the unprivileged user of the testbed.
type runner struct {
	binDir  string
	baseDir string
	// cred is nil when the binaries run as the current user.
	cred     *syscall.Credential
	userName string
	log      *slog.Logger
}

// uid and gid return the ids files of the testbed must belong to; -1 means
// "leave as is" (not root).
func (r *runner) uid() int {
	if r.cred == nil {
		return -1
	}
	return int(r.cred.Uid)
}

func (r *runner) gid() int {
	if r.cred == nil {
		return -1
	}
	return int(r.cred.Gid)
}

// chown gives path to the run user when the process is root.
func (r *runner) chown(path string) error {
	if r.cred == nil {
		return nil
	}
	if err := os.Lchown(path, r.uid(), r.gid()); err != nil {
		return fmt.Errorf("chown %s to %s: %w", path, r.userName, err)
	}
	return nil
}

// writeFile writes a file readable by the run user only (the server insists
// on private configuration and data files).
func (r *runner) writeFile(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return r.chown(path)
}

// resolveRunUser picks the OS user the servers run as: the current user, or
// when root the `postgres` user, or a system user `pgchaos` created on the fly.
func resolveRunUser(ctx context.Context, log *slog.Logger) (*syscall.Credential, string, error) {
	if os.Geteuid() != 0 {
		name := strconv.Itoa(os.Geteuid())
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
		return nil, name, nil
	}
	for _, name := range []string{"postgres", "pgchaos"} {
		if u, err := user.Lookup(name); err == nil {
			return credOf(u)
		}
	}
	log.InfoContext(ctx, "creating system user for PostgreSQL", "user", "pgchaos")
	out, err := exec.CommandContext(ctx, "useradd", "--system", "--no-create-home",
		"--shell", "/usr/sbin/nologin", "pgchaos").CombinedOutput()
	// Another testbed may have created it concurrently: look it up either way.
	u, lerr := user.Lookup("pgchaos")
	if lerr != nil {
		if err != nil {
			return nil, "", fmt.Errorf("creating user pgchaos: %w: %s", err, strings.TrimSpace(string(out)))
		}
		return nil, "", fmt.Errorf("looking up user pgchaos: %w", lerr)
	}
	return credOf(u)
}

func credOf(u *user.User) (*syscall.Credential, string, error) {
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, "", fmt.Errorf("parsing uid of user %s: %w", u.Username, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, "", fmt.Errorf("parsing gid of user %s: %w", u.Username, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, u.Username, nil
}

// env is the environment of every PostgreSQL binary: the caller's, without
// libpq/server variables that would redirect the tools, with a home the run
// user can read and untranslated messages.
func (r *runner) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PG") || k == "HOME" || k == "LANG" || strings.HasPrefix(k, "LC_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+r.baseDir, "LC_ALL=C")
}

// run runs a binary of binDir to completion and returns its combined output.
// The error names the tool and carries its output.
func (r *runner) run(ctx context.Context, tool string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(r.binDir, tool), args...)
	cmd.Dir = r.baseDir
	cmd.Env = r.env()
	if r.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.cred}
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// A server started by pg_ctl must never hold our pipes, but if one does,
	// do not wait for it forever.
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	r.log.DebugContext(ctx, "ran", "tool", tool, "args", args, "took", time.Since(start), "err", err)
	if err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", tool, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}
