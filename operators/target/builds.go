package target

import (
	"context"
	"embed"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/imagebuild"
	"github.com/pgchaos/pgchaos/operators/zalando"
)

// recipe builds one image offline (cached by its inputs).
type recipe struct {
	tools []string
	build func(ctx context.Context, opts operators.ImageOptions) (string, error)
}

// recipes are the images a target may ask pgchaos to build.
var recipes = map[string]recipe{
	// patroni: Debian 12's PostgreSQL and Patroni 3.0.2 (the image of the
	// Zalando adapter, whose entrypoint a target's manifest replaces by
	// `patroni CONFIG`).
	"patroni": {tools: zalando.PostgresBuildTools, build: zalando.BuildPostgresImage},
	// repmgr-pgpool: Debian 12's PostgreSQL, repmgr 5.3.3 and Pgpool-II
	// 4.3.5 in one image, no entrypoint (the manifests bring their scripts).
	"repmgr-pgpool": {tools: []string{"docker", "debootstrap", "tar"}, build: buildRepmgr},
}

//go:embed scripts/*.sh
var scripts embed.FS

func buildRepmgr(ctx context.Context, opts operators.ImageOptions) (string, error) {
	major := opts.PostgresMajor
	if major == "" {
		major = "15"
	}
	b := imagebuild.Builder{CacheDir: opts.CacheDir, Area: "targets", Scripts: scripts, Dir: "scripts", Progress: opts.Progress}
	env := map[string]string{"SUITE": zalando.DebianSuite, "MIRROR": zalando.DebianMirror, "PG_MAJOR": major}
	dir, key, err := b.Step(ctx, "repmgr-pgpool", "repmgr.sh", env, "")
	if err != nil {
		return "", err
	}
	ref := "pgchaos.local/repmgr-pgpool:" + major + "-" + key[:12]
	bin := "/usr/lib/postgresql/" + major + "/bin"
	if err := b.Import(ctx, "", filepath.Join(dir, "rootfs.tar"), ref, []string{
		"ENV PATH=" + bin + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"ENV LANG=en_US.utf8", "ENV PGHOST=/var/run/postgresql", "ENV HOME=/home/postgres",
		"USER 101:103", "WORKDIR /home/postgres",
	}); err != nil {
		return "", err
	}
	return ref, nil
}

// Builds lists the images pgchaos builds for targets.
func Builds() []string {
	var out []string
	for k := range recipes {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func knownBuild(name string) bool { _, ok := recipes[name]; return ok }

func buildAvailable(_ context.Context, name string) error {
	r, ok := recipes[name]
	if !ok {
		return fmt.Errorf("unknown build %q", name)
	}
	return imagebuild.CheckTools(r.tools...)
}

func build(ctx context.Context, name string, opts operators.ImageOptions) (string, error) {
	r, ok := recipes[name]
	if !ok {
		return "", fmt.Errorf("unknown build %q", name)
	}
	return r.build(ctx, opts)
}
