package target

import (
	"context"
	"fmt"
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
