// Package nodeimage builds, fully offline, a kind node image and every image a kind
// cluster needs (control plane, etcd, CoreDNS, pause, kube-proxy, the pod network
// and local-path-provisioner) from Go modules, Debian packages and compiled C,
// caching each artifact under a key derived from the content of its inputs.
package nodeimage
