package cnpg

import (
	"context"
	"embed"
	"path/filepath"
	"runtime"

	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/imagebuild"
)

//go:embed scripts/*.sh
var scripts embed.FS

// BuildImages builds (or finds in the cache) the operator image from the
// CloudNativePG module's cmd/manager and a PostgreSQL image from Debian's
// packages, both with docker import (no registry is needed). Tags carry a
// content key, so a changed input never reuses a stale image on the nodes.
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
	b := imagebuild.Builder{CacheDir: opts.CacheDir, Area: "cnpg", Scripts: scripts, Dir: "scripts", Progress: opts.Progress}
	var imgs operators.Images
	env := map[string]string{"VERSION": opts.Version, "GOARCH": runtime.GOARCH}
	dir, key, err := b.Step(ctx, "cnpg-operator", "operator.sh", env, imagebuild.GoVersion(ctx))
	if err != nil {
		return imgs, err
	}
	imgs.Operator = "pgchaos.local/cloudnative-pg:" + opts.Version + "-" + key[:12]
	if err := b.Import(ctx, filepath.Join(dir, "root"), "", imgs.Operator, []string{
		`ENTRYPOINT ["/manager"]`, "USER 65532:65532", "WORKDIR /",
	}); err != nil {
		return imgs, err
	}
	env = map[string]string{"SUITE": DebianSuite, "MIRROR": DebianMirror, "PG_MAJOR": opts.PostgresMajor}
	dir, key, err = b.Step(ctx, "cnpg-postgres", "postgres.sh", env, "")
	if err != nil {
		return imgs, err
	}
	imgs.Postgres = "pgchaos.local/postgresql:" + opts.PostgresMajor + "-" + key[:12]
	bin := "/usr/lib/postgresql/" + opts.PostgresMajor + "/bin"
	if err := b.Import(ctx, "", filepath.Join(dir, "rootfs.tar"), imgs.Postgres, []string{
		"ENV PATH=" + bin + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"ENV LANG=en_US.utf8", "ENV PGDATA=" + DataDir,
		"USER 26", "WORKDIR /",
	}); err != nil {
		return imgs, err
	}
	return imgs, nil
}

// buildTools are what the scripts run.
var buildTools = []string{"docker", "go", "debootstrap", "jq", "tar"}

// Debian's suite and mirror of the PostgreSQL image.
const (
	DebianSuite  = "bookworm"
	DebianMirror = "http://deb.debian.org/debian"
)
