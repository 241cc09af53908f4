package zalando

import (
	"context"
	"embed"
	"path/filepath"

	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/imagebuild"
)

//go:embed scripts/*.sh scripts/*.py
var scripts embed.FS

// DefaultVersion is the operator release installed by default; its Go
// module is served by the proxy and builds here.
const DefaultVersion = "1.15.0"

// Debian's suite and mirror of the PostgreSQL image.
const (
	DebianSuite  = "bookworm"
	DebianMirror = "http://deb.debian.org/debian"
)

// buildTools are what the scripts run.
var buildTools = []string{"docker", "go", "debootstrap", "jq", "tar"}

// PostgresUID and PostgresGID are the postgres user's ids in the image
// (Spilo's), given to the operator as spilo_runasuser / spilo_fsgroup.
const (
	PostgresUID = 101
	PostgresGID = 103
)

// BuildImages builds (or finds in the cache) the operator image from the
// module's cmd and the Spilo-compatible PostgreSQL + Patroni image from
// Debian's packages, both with docker import.
func BuildImages(ctx context.Context, opts operators.ImageOptions) (operators.Images, error) {
	if opts.Version == "" {
		opts.Version = DefaultVersion
	}
	if opts.PostgresMajor == "" {
		opts.PostgresMajor = "15"
	}
	if err := imagebuild.CheckTools(buildTools...); err != nil {
		return operators.Images{}, err
	}
	b := imagebuild.Builder{CacheDir: opts.CacheDir, Area: "zalando", Scripts: scripts, Dir: "scripts", Progress: opts.Progress}
	var imgs operators.Images
	dir, key, err := b.Step(ctx, "zalando-operator", "operator.sh", map[string]string{"VERSION": opts.Version}, imagebuild.GoVersion(ctx))
	if err != nil {
		return imgs, err
	}
	imgs.Operator = "pgchaos.local/postgres-operator:" + opts.Version + "-" + key[:12]
	if err := b.Import(ctx, filepath.Join(dir, "root"), "", imgs.Operator, []string{
		`ENTRYPOINT ["/postgres-operator"]`, "USER 1000:1000", "WORKDIR /",
	}); err != nil {
		return imgs, err
	}
	imgs.Postgres, err = buildPostgres(ctx, b, opts)
	return imgs, err
}

// BuildPostgresImage builds (or finds in the cache) the PostgreSQL +
// Patroni image alone (a target's Patroni StatefulSet runs it too).
func BuildPostgresImage(ctx context.Context, opts operators.ImageOptions) (string, error) {
	if opts.PostgresMajor == "" {
		opts.PostgresMajor = "15"
	}
	if err := imagebuild.CheckTools(PostgresBuildTools...); err != nil {
		return "", err
	}
	b := imagebuild.Builder{CacheDir: opts.CacheDir, Area: "zalando", Scripts: scripts, Dir: "scripts", Progress: opts.Progress}
	return buildPostgres(ctx, b, opts)
}

// PostgresBuildTools are what the PostgreSQL image's build runs.
var PostgresBuildTools = []string{"docker", "debootstrap", "tar"}

func buildPostgres(ctx context.Context, b imagebuild.Builder, opts operators.ImageOptions) (string, error) {
	entry, err := scripts.ReadFile("scripts/spilo-entrypoint.py")
	if err != nil {
		return "", err
	}
	env := map[string]string{"SUITE": DebianSuite, "MIRROR": DebianMirror, "PG_MAJOR": opts.PostgresMajor, "ENTRYPOINT_PY": "spilo-entrypoint.py"}
	dir, key, err := b.StepFiles(ctx, "zalando-spilo", "postgres.sh", env, "", map[string][]byte{"spilo-entrypoint.py": entry})
	if err != nil {
		return "", err
	}
	ref := "pgchaos.local/patroni-spilo:" + opts.PostgresMajor + "-" + key[:12]
	bin := "/usr/lib/postgresql/" + opts.PostgresMajor + "/bin"
	if err := b.Import(ctx, "", filepath.Join(dir, "rootfs.tar"), ref, []string{
		"ENV PATH=" + bin + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"ENV LANG=en_US.utf8", "ENV PGHOST=/var/run/postgresql", "ENV HOME=/home/postgres",
		"USER 101:103", "WORKDIR /home/postgres", `ENTRYPOINT ["/usr/local/bin/pgchaos-spilo"]`,
	}); err != nil {
		return "", err
	}
	return ref, nil
}
