// Package zalando is the adapter for Zalando's postgres-operator: Patroni
// (Debian's 3.0.2, in a Spilo-compatible image pgchaos builds with its own
// entrypoint) holds the leader lock in the cluster's Endpoints and writes
// the read-write Service's endpoints itself; the operator creates the
// StatefulSet, Services, Secrets and roles. Results are "Zalando's operator
// with pgchaos's Patroni 3.0.2 image", not upstream Spilo.
package zalando
