// Package operators holds what pgchaos needs from a Postgres operator: the
// Operator interface (install a version, create and delete a cluster), the
// Cluster interface (wait until ready, instances with roles and pods, the
// read-write endpoint, credentials), optional abilities found by type
// assertion (Switchover), and the connectivity that follows a failover
// (NodePort Services reached from the host). One adapter per operator lives
// in a subpackage (cnpg) implementing Adapter, listed once in
// operators/registry; an instance's PostgreSQL layout (data directory,
// volume, port) is the adapter's knowledge, carried by Instance.Layout.
package operators
