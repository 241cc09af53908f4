// Package generic adapts any Postgres operator pgchaos has no adapter for,
// from what the user knows about its objects: a label selector for the
// instance pods and one for the primary, the read-write Service, and the
// Secrets holding credentials. It observes a cluster (operators.Cluster); it
// cannot install an operator or create a cluster.
//
// Worked example, CloudNativePG's labels for a cluster "pg" in "db":
//
//	generic.Config{
//		Ref:              operators.Ref{Namespace: "db", Name: "pg"},
//		Instances:        "cnpg.io/cluster=pg,cnpg.io/podRole=instance",
//		Primary:          "cnpg.io/instanceRole=primary",
//		Replica:          "cnpg.io/instanceRole=replica",
//		InstanceLabel:    "cnpg.io/instanceName",
//		ReadWriteService: "pg-rw",
//		Container:        "postgres",
//		App:              generic.Secret{Name: "pg-app"},
//		Superuser:        generic.Secret{Name: "pg-superuser", Database: "app"},
//	}
package generic
