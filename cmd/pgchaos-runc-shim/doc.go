// Command pgchaos-runc-shim is an OCI runtime wrapper for hosts whose capability
// bounding set lacks CAP_SYS_RESOURCE. It removes that capability from the OCI
// spec of `create --bundle DIR` and from the process spec of `exec --process FILE`,
// then execs the real runc with the original arguments.
package main
