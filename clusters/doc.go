// Package clusters provides the Kubernetes clusters pgchaos runs on: a kind cluster
// it creates and deletes itself through the sigs.k8s.io/kind library (with offline
// node images from clusters/nodeimage), and an existing cluster reached through a
// kubeconfig and context. Optional abilities (create, delete, log collection) are
// separate interfaces found by type assertion.
package clusters
