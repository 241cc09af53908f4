// Package operators holds one adapter per Postgres operator (CloudNativePG,
// a generic label-based one, ...): install, create a cluster, list instances
// and roles, the read-write endpoint and credentials, delete.
//
// Empty for now; see the CloudNativePG issue.
package operators
