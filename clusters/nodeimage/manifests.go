package nodeimage

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// cniManifest is kind's default CNI manifest in the node (/kind/manifests/default-cni.yaml):
// the pgchaos-podroutes DaemonSet. kind adds CONTROL_PLANE_ENDPOINT to its env when
// the manifest carries the marker comment below.
const cniManifest = `# would you kindly patch this file
apiVersion: v1
kind: ServiceAccount
metadata:
  name: pgchaos-podroutes
  namespace: kube-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: pgchaos-podroutes
rules:
- apiGroups: [""]
  resources: ["nodes"]
  verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: pgchaos-podroutes
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: pgchaos-podroutes
subjects:
- kind: ServiceAccount
  name: pgchaos-podroutes
  namespace: kube-system
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: pgchaos-podroutes
  namespace: kube-system
  labels:
    app: pgchaos-podroutes
spec:
  selector:
    matchLabels:
      app: pgchaos-podroutes
  template:
    metadata:
      labels:
        app: pgchaos-podroutes
    spec:
      hostNetwork: true
      serviceAccountName: pgchaos-podroutes
      priorityClassName: system-node-critical
      tolerations:
      - operator: Exists
      containers:
      - name: podroutes
        image: IMAGE
        imagePullPolicy: IfNotPresent
        env:
        - name: NODE_NAME
          valueFrom:
            fieldRef:
              fieldPath: spec.nodeName
        securityContext:
          privileged: true
        resources:
          requests:
            cpu: 10m
            memory: 20Mi
        volumeMounts:
        - name: cni-cfg
          mountPath: /etc/cni/net.d
      volumes:
      - name: cni-cfg
        hostPath:
          path: /etc/cni/net.d
          type: DirectoryOrCreate
`

// storageManifest adapts local-path-provisioner's deploy/local-path-storage.yaml:
// our images, data under /var (a volume in kind nodes), and a default class "standard".
func storageManifest(lppDir string, v Versions) (string, error) {
	path := filepath.Join(lppDir, "deploy", "local-path-storage.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	s := string(data)
	for _, r := range [][2]string{
		{"image: rancher/local-path-provisioner:" + v.LocalPath, "image: " + localPathImage(v)},
		{"image: busybox", "image: " + localPathHelperImage},
		{"/opt/local-path-provisioner", "/var/local-path-provisioner"},
		{"kind: StorageClass\nmetadata:\n  name: local-path\n",
			"kind: StorageClass\nmetadata:\n  name: standard\n  annotations:\n    storageclass.kubernetes.io/is-default-class: \"true\"\n"},
	} {
		if !strings.Contains(s, r[0]) {
			return "", fmt.Errorf("adapting %s: %q not found", path, r[0])
		}
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	return s, nil
}
