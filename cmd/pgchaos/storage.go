package main

import (
	"context"
	"fmt"
	"time"

	"github.com/pgchaos/pgchaos/clusters/nodeimage"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/faults/iofsclass"
	"github.com/pgchaos/pgchaos/operators/kube"
)

// needsStorage reports whether a chosen fault needs the pgchaos-iofs
// storage class.
func needsStorage(chosen []faults.Fault) bool {
	for _, f := range chosen {
		if faults.InfoOf(f).Needs.Storage {
			return true
		}
	}
	return false
}

// storageClassFor is the storage class of a run's clusters: the one given,
// else pgchaos-iofs when a chosen fault needs it, else the cluster's default.
func storageClassFor(chosen []faults.Fault, given string) string {
	if given == "" && needsStorage(chosen) {
		return iofsclass.ClassName
	}
	return given
}

// installStorageClass installs the pgchaos-iofs storage class with the
// agent image (it runs `pgchaos iofs serve`). On kind, local-path-provisioner
// and its helper come from the node image; elsewhere from their upstream
// registries.
func installStorageClass(ctx context.Context, kc *kube.Client, image string, onKind bool, say func(string)) error {
	o := iofsclass.Options{Image: image, ProvisionerImage: "docker.io/rancher/local-path-provisioner:" + nodeimage.DefaultVersions().LocalPath,
		HelperImage: "docker.io/library/busybox:1.36"}
	if onKind {
		o.ProvisionerImage, o.HelperImage = nodeimage.LocalPathImages(nodeimage.DefaultVersions())
	}
	t := time.Now()
	if err := iofsclass.Install(ctx, kc, o, say); err != nil {
		return fmt.Errorf("installing storage class %s: %w", iofsclass.ClassName, err)
	}
	say(fmt.Sprintf("storage class %s ready: a FUSE filesystem on every node (%s); it stays installed while volumes use it (pgchaos cleanup removes it after)",
		iofsclass.ClassName, time.Since(t).Round(time.Second)))
	return nil
}
