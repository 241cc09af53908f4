// Package chaosmesh is the Chaos Mesh backend of the fault library: it turns
// a declarative Request (pod kill, container kill, pod failure, network
// partition or netem, IO latency or IO fault) into the typed objects of
// github.com/chaos-mesh/chaos-mesh/api/v1alpha1 (PodChaos, NetworkChaos,
// IOChaos), each labelled with the run id, and creates, watches and deletes
// them on a cluster where Chaos Mesh is installed.
//
// It owns nothing of the fault model in package faults: the built-in faults
// map onto Request when Client.Available says Chaos Mesh can act.
// scripts/crds.sh generates Chaos Mesh's CRDs from the same api module (into
// a cache outside the repository) so that the API server's validation of
// every built object can be tested without Chaos Mesh itself.
package chaosmesh
