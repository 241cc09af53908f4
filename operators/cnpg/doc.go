// Package cnpg is the CloudNativePG adapter: it installs the operator from
// the release manifest shipped in CloudNativePG's Go module (server-side
// apply), builds Cluster objects (unstructured: CloudNativePG's Go API
// module requires Kubernetes 0.34 libraries, pgchaos pins 0.33), reads
// instances and roles through its labels, and asks for switchovers the way
// its kubectl plugin does. Where images cannot be pulled it builds them:
// the operator from the module's cmd/manager and PostgreSQL from Debian.
package cnpg
