package iofsclass

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/pgchaos/pgchaos/faults/iofs"
	corev1 "k8s.io/api/core/v1"
)

// ErrNotOnClass says that a volume is not on the pgchaos-iofs class.
var ErrNotOnClass = errors.New("not on storage class " + ClassName + " (run with --storage-class " + ClassName + ")")

// Volume is where a path inside a pod's container lives on the iofs mount.
type Volume struct {
	// Claim is the PersistentVolumeClaim that holds the path.
	Claim string
	// PV is its PersistentVolume.
	PV string
	// Prefix is the path's directory relative to the node's mount, ending
	// in "/" ("pvc-1_db_pg-1/pgdata/pg_wal/"): what an iofs Spec targets.
	Prefix string
}

// Locate finds where dir, a directory as the container of pod sees it
// (e.g. "/var/lib/postgresql/data/pgdata/pg_wal"), lives on the node's iofs
// mount. pvOf reads the PersistentVolume bound to a claim.
func Locate(pod *corev1.Pod, container, dir string, pvOf func(claim string) (*corev1.PersistentVolume, error)) (Volume, error) {
	var mounts []corev1.VolumeMount
	for _, c := range pod.Spec.Containers {
		if c.Name == container {
			mounts = c.VolumeMounts
		}
	}
	if mounts == nil {
		return Volume{}, fmt.Errorf("pod %s/%s has no container %q with volumes", pod.Namespace, pod.Name, container)
	}
	m, rest, ok := MountFor(mounts, dir)
	if !ok {
		return Volume{}, fmt.Errorf("%s in pod %s/%s is on no volume of container %s", dir, pod.Namespace, pod.Name, container)
	}
	claim := ""
	for _, v := range pod.Spec.Volumes {
		if v.Name == m.Name && v.PersistentVolumeClaim != nil {
			claim = v.PersistentVolumeClaim.ClaimName
		}
	}
	if claim == "" {
		return Volume{}, fmt.Errorf("%s in pod %s/%s is on volume %s, not a persistent volume claim: %w", dir, pod.Namespace, pod.Name, m.Name, ErrNotOnClass)
	}
	pv, err := pvOf(claim)
	if err != nil {
		return Volume{}, fmt.Errorf("volume of claim %s/%s: %w", pod.Namespace, claim, err)
	}
	if pv.Spec.StorageClassName != ClassName {
		return Volume{}, fmt.Errorf("claim %s/%s is on storage class %q, %w", pod.Namespace, claim, pv.Spec.StorageClassName, ErrNotOnClass)
	}
	p, err := Prefix(iofs.NodeMount, PVPath(pv), path.Join(m.SubPath, rest))
	if err != nil {
		return Volume{}, fmt.Errorf("volume %s of claim %s/%s: %w", pv.Name, pod.Namespace, claim, err)
	}
	return Volume{Claim: claim, PV: pv.Name, Prefix: p}, nil
}

// MountFor finds the mount of dir among mounts (the longest mount path that
// holds it) and the rest of dir inside that mount ("" for the mount itself).
func MountFor(mounts []corev1.VolumeMount, dir string) (corev1.VolumeMount, string, bool) {
	dir = path.Clean(dir)
	var best corev1.VolumeMount
	rest, found := "", false
	for _, m := range mounts {
		mp := path.Clean(m.MountPath)
		var r string
		switch {
		case dir == mp:
		case strings.HasPrefix(dir, mp+"/"):
			r = dir[len(mp)+1:]
		case mp == "/":
			r = strings.TrimPrefix(dir, "/")
		default:
			continue
		}
		if !found || len(mp) > len(path.Clean(best.MountPath)) {
			best, rest, found = m, r, true
		}
	}
	return best, rest, found
}

// PVPath is the node path of a PersistentVolume (hostPath or local; "" for others).
func PVPath(pv *corev1.PersistentVolume) string {
	switch {
	case pv.Spec.HostPath != nil:
		return pv.Spec.HostPath.Path
	case pv.Spec.Local != nil:
		return pv.Spec.Local.Path
	}
	return ""
}

// Prefix is the iofs prefix of sub (a path inside the volume) for a volume
// at pvPath on a node whose iofs mount is root: pvPath made relative to
// root, sub appended, ending in "/". The volume must be a directory strictly
// under root, and sub must stay inside it.
func Prefix(root, pvPath, sub string) (string, error) {
	if pvPath == "" {
		return "", fmt.Errorf("volume has no node path (neither hostPath nor local): %w", ErrNotOnClass)
	}
	root, pvPath = path.Clean(root), path.Clean(pvPath)
	if !strings.HasPrefix(pvPath, root+"/") {
		return "", fmt.Errorf("volume path %s is not under the iofs mount %s: %w", pvPath, root, ErrNotOnClass)
	}
	rel := pvPath[len(root)+1:]
	if sub = path.Clean("/" + sub); sub != "/" {
		rel += sub
	}
	for _, el := range strings.Split(rel, "/") {
		if el == ".." || el == "." || el == "" {
			return "", fmt.Errorf("volume path %s: element %q", rel, el)
		}
	}
	return rel + "/", nil
}
