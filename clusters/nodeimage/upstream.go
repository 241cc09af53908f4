package nodeimage

import (
	"context"
	"os"
	"time"

	kinddefaults "sigs.k8s.io/kind/pkg/apis/config/defaults"
)

// UpstreamImage is the node image kind itself would use (pinned by digest).
const UpstreamImage = kinddefaults.Image

// allowPullEnv opts in to trying `docker pull` of UpstreamImage. It is off by
// default because pgchaos's own machines have no registry, and a pull attempt is
// network traffic to a host outside the machine.
const allowPullEnv = "PGCHAOS_ALLOW_PULL"

// Upstream returns kind's upstream node image when it is usable here without
// building anything: already present locally, or (only with PGCHAOS_ALLOW_PULL=1)
// pullable within a minute. ok is false when the offline build is needed.
func Upstream(ctx context.Context) (image string, ok bool) {
	if imageID(ctx, UpstreamImage) != "" {
		return UpstreamImage, true
	}
	if os.Getenv(allowPullEnv) != "1" {
		return "", false
	}
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := docker(pctx, nil, "pull", UpstreamImage); err != nil {
		return "", false
	}
	return UpstreamImage, true
}
