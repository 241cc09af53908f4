// Command pgchaos-podroutes is the pod network of pgchaos's offline kind clusters.
// It runs on every node (a host-network DaemonSet), writes the node's CNI
// configuration (ptp + host-local over the node's pod CIDR, portmap) and programs
// one route per other node: that node's pod CIDR via its InternalIP. All kind nodes
// share one Docker bridge, so these routes are the whole of cross-node pod routing.
package main
