// Package target reads target files: a PostgreSQL HA stack that no
// operator adapter knows (a Patroni StatefulSet, repmgr behind Pgpool-II,
// a team's own), described by its objects, and presents it as an
// operators.Adapter so that every part of pgchaos (run, certify, game
// days, the suite) judges it like an operator.
//
// The schema (apiVersion pgchaos.io/v1, kind Target; unknown fields are
// errors):
//
//	metadata.name          DNS-1123 label; the adapter's name in results
//	spec.title, version    the stack and its HA software's version, for reports
//	spec.namespace         where it runs (default: --namespace)
//	spec.images.NAME       {build: patroni} (built offline by pgchaos) or {ref: IMAGE}
//	spec.manifests         YAML files relative to the target file, applied in
//	                       order with the cluster, deleted in reverse with it
//	                       (none: an already-deployed stack)
//	spec.instances         selector (every instance pod), primary and replica
//	                       (label selectors), instanceLabel, container,
//	                       dataDir, volumePath, port
//	spec.readWrite.service the Service that routes to the primary (with a
//	                       selector pgchaos copies into a NodePort Service, or
//	                       without one, endpoints written by the stack: then a
//	                       NodePort itself)
//	spec.credentials       app and superuser: {secret, userKey, passwordKey,
//	                       databaseKey, database}
//	spec.switchover.exec   a command run in the primary's container with
//	                       ${primary} and ${candidate}; absent: no switchover
//	spec.synchronous       optional (the manifests follow ${synchronous}),
//	                       always, or never (the default)
//	spec.settings          what decides failover, as reports show it
//
// Strings and manifests may use ${name}, ${namespace}, ${runID},
// ${instances}, ${synchronous}, ${storageSize}, ${storageClass} and
// ${image.NAME} (and the switchover command ${primary}, ${candidate}); any
// other ${...} is an error. Every object applied is labelled with the run
// id. Deleting the cluster deletes the objects, waits for the instance
// pods (removing them after generic.DeleteGrace) and deletes the claims
// of the manifests' StatefulSets.
//
// Check compares a target with a running cluster field by field (pgchaos
// target validate).
package target
