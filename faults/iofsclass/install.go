package iofsclass

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/faults/agent"
	"github.com/pgchaos/pgchaos/faults/iofs"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Names of the storage class's objects (in agent.Namespace).
const (
	// ClassName is the StorageClass whose volumes live on the iofs mounts.
	ClassName = "pgchaos-iofs"
	// Provisioner is the provisioner name of the class's local-path instance.
	Provisioner = "pgchaos.io/iofs-local-path"
	// DaemonSetName serves the filesystem on every node.
	DaemonSetName = "pgchaos-iofs"
	// ProvisionerName names the provisioner's Deployment, ServiceAccount,
	// ConfigMap and RBAC objects.
	ProvisionerName = "pgchaos-iofs-provisioner"
	// ComponentLabel marks every object of the class (cleanup finds them by it).
	ComponentLabel = "pgchaos.io/component"
	component      = "iofs"
	appLabel       = "app.kubernetes.io/name"
)

// Options are the images the class runs.
type Options struct {
	// Image has a static pgchaos at /usr/local/bin/pgchaos (the agent image).
	Image string
	// ProvisionerImage is local-path-provisioner (v0.0.30 is what was read).
	ProvisionerImage string
	// HelperImage runs local-path's helper pods: it needs /bin/sh, mkdir, rm.
	HelperImage string
}

// DaemonSet serves the filesystem on every node: privileged (mount(2) of
// /dev/fuse), NodeRoot mounted with bidirectional propagation so that the
// FUSE mount at iofs.NodeMount appears in the node's mount namespace, where
// the kubelet bind-mounts the class's volumes into pods from it.
//
// Its update strategy is OnDelete: a newer template never restarts a server
// under running volumes (a restarted server leaves pods with a dead mount
// until they restart).
func DaemonSet(image string) *appsv1.DaemonSet {
	labels := map[string]string{appLabel: DaemonSetName, ComponentLabel: component}
	status := []string{"/usr/local/bin/pgchaos", "iofs", "status", "--control", iofs.NodeControl}
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: DaemonSetName, Namespace: agent.Namespace, Labels: labels},
		Spec: appsv1.DaemonSetSpec{
			Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{appLabel: DaemonSetName}},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
					// Like a storage driver: evicted last.
					PriorityClassName:             "system-node-critical",
					TerminationGracePeriodSeconds: ptr.To[int64](30),
					Containers: []corev1.Container{{
						Name:            "iofs",
						Image:           image,
						ImagePullPolicy: corev1.PullIfNotPresent,
						Command: []string{"/usr/local/bin/pgchaos", "iofs", "serve", "--mkdir",
							"--backing", iofs.NodeBacking, "--mount", iofs.NodeMount, "--control", iofs.NodeControl},
						SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)},
						VolumeMounts: []corev1.VolumeMount{{Name: "root", MountPath: iofs.NodeRoot,
							MountPropagation: ptr.To(corev1.MountPropagationBidirectional)}},
						// Ready once the control answers: it is served after the mount is made.
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: status}},
							PeriodSeconds: 2, TimeoutSeconds: 10,
						},
					}},
					Volumes: []corev1.Volume{{Name: "root", VolumeSource: corev1.VolumeSource{
						HostPath: &corev1.HostPathVolumeSource{Path: iofs.NodeRoot, Type: ptr.To(corev1.HostPathDirectoryOrCreate)},
					}}},
				},
			},
		},
	}
}

// provisionerManifest is a local-path-provisioner instance of its own (its
// name, ConfigMap and service account), so that the cluster's default class
// is never touched; its only path on every node is iofs.NodeMount.
const provisionerManifest = `
apiVersion: v1
kind: ServiceAccount
metadata: {name: ${NAME}, namespace: ${NAMESPACE}, labels: {${LABEL}: iofs}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: ${NAME}, namespace: ${NAMESPACE}, labels: {${LABEL}: iofs}}
rules:
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ${NAME}, namespace: ${NAMESPACE}, labels: {${LABEL}: iofs}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: ${NAME}}
subjects: [{kind: ServiceAccount, name: ${NAME}, namespace: ${NAMESPACE}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: ${NAME}, labels: {${LABEL}: iofs}}
rules:
- apiGroups: [""]
  resources: ["nodes", "persistentvolumeclaims", "configmaps", "pods", "pods/log"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["persistentvolumes"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["storage.k8s.io"]
  resources: ["storageclasses"]
  verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ${NAME}, labels: {${LABEL}: iofs}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${NAME}}
subjects: [{kind: ServiceAccount, name: ${NAME}, namespace: ${NAMESPACE}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ${NAME}, namespace: ${NAMESPACE}, labels: {${LABEL}: iofs}}
data:
  config.json: |-
    {"nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": ["${MOUNT}"]}]}
  setup: |-
    #!/bin/sh
    set -eu
    mkdir -m 0777 -p "$VOL_DIR"
  teardown: |-
    #!/bin/sh
    set -eu
    rm -rf "$VOL_DIR"
  helperPod.yaml: |-
    apiVersion: v1
    kind: Pod
    metadata:
      name: helper-pod
    spec:
      priorityClassName: system-node-critical
      tolerations:
        - key: node.kubernetes.io/disk-pressure
          operator: Exists
          effect: NoSchedule
      containers:
      - name: helper-pod
        image: ${HELPER}
        imagePullPolicy: IfNotPresent
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${NAME}, namespace: ${NAMESPACE}, labels: {${LABEL}: iofs}}
spec:
  replicas: 1
  selector: {matchLabels: {app.kubernetes.io/name: ${NAME}}}
  template:
    metadata: {labels: {app.kubernetes.io/name: ${NAME}, ${LABEL}: iofs}}
    spec:
      serviceAccountName: ${NAME}
      tolerations: [{operator: Exists}]
      containers:
      - name: provisioner
        image: ${PROVISIONER}
        imagePullPolicy: IfNotPresent
        command: [local-path-provisioner, --debug, start, --config, /etc/config/config.json,
          --provisioner-name, ${PROVNAME}, --configmap-name, ${NAME}, --service-account-name, ${NAME}, --helper-image, ${HELPER}]
        volumeMounts: [{name: config, mountPath: /etc/config/}]
        env:
        - {name: POD_NAMESPACE, value: ${NAMESPACE}}
        - {name: CONFIG_MOUNT_PATH, value: /etc/config/}
      volumes: [{name: config, configMap: {name: ${NAME}}}]
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: ${CLASS}, labels: {${LABEL}: iofs}}
provisioner: ${PROVNAME}
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
`

// ProvisionerObjects are the provisioner's objects and the StorageClass.
func ProvisionerObjects(o Options) (string, error) {
	if o.ProvisionerImage == "" || o.HelperImage == "" {
		return "", errors.New("the pgchaos-iofs provisioner needs a local-path-provisioner image and a helper image")
	}
	r := strings.NewReplacer("${PROVISIONER}", o.ProvisionerImage, "${HELPER}", o.HelperImage, "${PROVNAME}", Provisioner,
		"${NAMESPACE}", agent.Namespace, "${NAME}", ProvisionerName, "${LABEL}", ComponentLabel, "${CLASS}", ClassName, "${MOUNT}", iofs.NodeMount)
	return r.Replace(provisionerManifest), nil
}

// Install installs the class idempotently: the DaemonSet first, waited for
// until its filesystem answers on every node (a volume provisioned before
// the mount exists would silently land on the node's own disk), then the
// provisioner and the StorageClass. An existing DaemonSet is left as it is:
// replacing its servers would break the volumes in use.
func Install(ctx context.Context, kc *kube.Client, o Options, say func(string)) error {
	if err := kc.EnsureNamespace(ctx, agent.Namespace, map[string]string{operators.OperatorLabel: "pgchaos-agent"}); err != nil {
		return fmt.Errorf("installing storage class %s: %w", ClassName, err)
	}
	dsc := kc.CS.AppsV1().DaemonSets(agent.Namespace)
	cur, err := dsc.Get(ctx, DaemonSetName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if o.Image == "" {
			return fmt.Errorf("installing daemonset %s/%s: no image", agent.Namespace, DaemonSetName)
		}
		if _, err := dsc.Create(ctx, DaemonSet(o.Image), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating daemonset %s/%s: %w", agent.Namespace, DaemonSetName, err)
		}
	case err != nil:
		return fmt.Errorf("reading daemonset %s/%s: %w", agent.Namespace, DaemonSetName, err)
	default:
		if err := replaceIdle(ctx, kc, cur, o.Image, say); err != nil {
			return err
		}
	}
	err = kube.Poll(ctx, time.Second, "storage-fault filesystem "+agent.Namespace+"/"+DaemonSetName+" serving on every node", func(ctx context.Context) (bool, string, error) {
		d, err := dsc.Get(ctx, DaemonSetName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		s := d.Status
		return s.DesiredNumberScheduled > 0 && s.NumberReady == s.DesiredNumberScheduled,
			fmt.Sprintf("%d of %d ready", s.NumberReady, s.DesiredNumberScheduled), nil
	})
	if err != nil {
		return err
	}
	m, err := ProvisionerObjects(o)
	if err != nil {
		return err
	}
	objs, err := kube.DecodeManifest([]byte(m))
	if err != nil {
		return fmt.Errorf("storage class %s: %w", ClassName, err)
	}
	for _, obj := range objs {
		if obj.GetKind() == "StorageClass" {
			// Immutable once created: create it if absent only.
			if _, err := kc.CS.StorageV1().StorageClasses().Get(ctx, ClassName, metav1.GetOptions{}); err == nil {
				continue
			}
		}
		if err := kc.Apply(ctx, obj); err != nil {
			return fmt.Errorf("storage class %s: %w", ClassName, err)
		}
	}
	return kc.WaitDeploymentAvailable(ctx, agent.Namespace, ProvisionerName)
}

// replaceIdle moves the servers of an existing DaemonSet to image, but only
// while no volume of the class exists: a server restarted under a volume
// leaves its pod with a dead mount. In use, the servers are kept as they are.
func replaceIdle(ctx context.Context, kc *kube.Client, cur *appsv1.DaemonSet, image string, say func(string)) error {
	if image == "" || cur.Spec.Template.Spec.Containers[0].Image == image {
		return nil
	}
	pvs, err := VolumesInUse(ctx, kc)
	if err != nil {
		return err
	}
	if len(pvs) > 0 {
		if say != nil {
			say(fmt.Sprintf("storage class %s: keeping the filesystem servers on %s: %d volumes use them",
				ClassName, cur.Spec.Template.Spec.Containers[0].Image, len(pvs)))
		}
		return nil
	}
	want := DaemonSet(image)
	cur.Labels, cur.Spec.Template, cur.Spec.UpdateStrategy = want.Labels, want.Spec.Template, want.Spec.UpdateStrategy
	if _, err := kc.CS.AppsV1().DaemonSets(agent.Namespace).Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("updating daemonset %s/%s: %w", agent.Namespace, DaemonSetName, err)
	}
	// OnDelete: the new template runs once the old pods are gone.
	pods, err := kc.CS.CoreV1().Pods(agent.Namespace).List(ctx, metav1.ListOptions{LabelSelector: appLabel + "=" + DaemonSetName})
	if err != nil {
		return fmt.Errorf("listing the pods of daemonset %s/%s: %w", agent.Namespace, DaemonSetName, err)
	}
	for _, p := range pods.Items {
		err := kc.CS.CoreV1().Pods(agent.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("replacing pod %s/%s of daemonset %s: %w", agent.Namespace, p.Name, DaemonSetName, err)
		}
	}
	return kube.Poll(ctx, time.Second, "filesystem servers on "+image, func(ctx context.Context) (bool, string, error) {
		l, err := kc.CS.CoreV1().Pods(agent.Namespace).List(ctx, metav1.ListOptions{LabelSelector: appLabel + "=" + DaemonSetName})
		if err != nil {
			return false, err.Error(), nil
		}
		old := 0
		for _, p := range l.Items {
			if p.Spec.Containers[0].Image != image {
				old++
			}
		}
		return old == 0, fmt.Sprintf("%d servers on the old image", old), nil
	})
}

// Installed says why the class cannot be used (nil: it can).
func Installed(ctx context.Context, kc *kube.Client) error {
	if _, err := kc.CS.StorageV1().StorageClasses().Get(ctx, ClassName, metav1.GetOptions{}); err != nil {
		return fmt.Errorf("storage class %s: %w", ClassName, err)
	}
	d, err := kc.CS.AppsV1().DaemonSets(agent.Namespace).Get(ctx, DaemonSetName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("storage class %s: its filesystem servers: %w", ClassName, err)
	}
	if s := d.Status; s.NumberReady == 0 || s.NumberReady < s.DesiredNumberScheduled {
		return fmt.Errorf("storage class %s: %d of %d filesystem servers ready", ClassName, s.NumberReady, s.DesiredNumberScheduled)
	}
	return nil
}

// VolumesInUse lists the PersistentVolumes of the class.
func VolumesInUse(ctx context.Context, kc *kube.Client) ([]string, error) {
	l, err := kc.CS.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing persistent volumes: %w", err)
	}
	var out []string
	for _, pv := range l.Items {
		if pv.Spec.StorageClassName == ClassName {
			out = append(out, pv.Name)
		}
	}
	return out, nil
}

// ErrInUse is returned by Uninstall while volumes of the class exist.
var ErrInUse = errors.New("volumes still use it")

// Uninstall removes the class, its provisioner and its filesystem servers,
// but only when no PersistentVolume of the class is left (ErrInUse
// otherwise, with nothing removed): stopping the servers under a volume
// would leave its pod with a dead mount. Absent is fine; it reports whether
// anything was there.
func Uninstall(ctx context.Context, kc *kube.Client) (bool, error) {
	pvs, err := VolumesInUse(ctx, kc)
	if err != nil {
		return false, err
	}
	if len(pvs) > 0 {
		return false, fmt.Errorf("storage class %s left installed: %d %w (%s)", ClassName, len(pvs), ErrInUse, strings.Join(pvs, ", "))
	}
	m, err := ProvisionerObjects(Options{ProvisionerImage: "x", HelperImage: "x"})
	if err != nil {
		return false, err
	}
	objs, err := kube.DecodeManifest([]byte(m))
	if err != nil {
		return false, fmt.Errorf("storage class %s: %w", ClassName, err)
	}
	found := false
	var errs []error
	for i := len(objs) - 1; i >= 0; i-- {
		err := deleteObject(ctx, kc, objs[i].GetKind(), objs[i].GetNamespace(), objs[i].GetName())
		switch {
		case err == nil:
			found = true
		case !apierrors.IsNotFound(err):
			errs = append(errs, fmt.Errorf("deleting %s %s: %w", objs[i].GetKind(), kube.Name(objs[i]), err))
		}
	}
	err = kc.CS.AppsV1().DaemonSets(agent.Namespace).Delete(ctx, DaemonSetName, metav1.DeleteOptions{})
	switch {
	case err == nil:
		found = true
	case !apierrors.IsNotFound(err):
		errs = append(errs, fmt.Errorf("deleting daemonset %s/%s: %w", agent.Namespace, DaemonSetName, err))
	}
	return found, errors.Join(errs...)
}

// deleteObject deletes one of the provisioner's objects through the typed
// API (no discovery needed).
func deleteObject(ctx context.Context, kc *kube.Client, kind, ns, name string) error {
	o := metav1.DeleteOptions{}
	switch kind {
	case "ServiceAccount":
		return kc.CS.CoreV1().ServiceAccounts(ns).Delete(ctx, name, o)
	case "ConfigMap":
		return kc.CS.CoreV1().ConfigMaps(ns).Delete(ctx, name, o)
	case "Role":
		return kc.CS.RbacV1().Roles(ns).Delete(ctx, name, o)
	case "RoleBinding":
		return kc.CS.RbacV1().RoleBindings(ns).Delete(ctx, name, o)
	case "ClusterRole":
		return kc.CS.RbacV1().ClusterRoles().Delete(ctx, name, o)
	case "ClusterRoleBinding":
		return kc.CS.RbacV1().ClusterRoleBindings().Delete(ctx, name, o)
	case "Deployment":
		return kc.CS.AppsV1().Deployments(ns).Delete(ctx, name, o)
	case "StorageClass":
		return kc.CS.StorageV1().StorageClasses().Delete(ctx, name, o)
	}
	return fmt.Errorf("deleting %s %s: unexpected kind", kind, name)
}
