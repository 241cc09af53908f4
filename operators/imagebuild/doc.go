// Package imagebuild builds container images without a registry: an
// embedded shell script writes a root filesystem (or a tarball) into a
// cache directory keyed by the script's text and environment, and docker
// import turns it into a tagged image. Operator adapters use it for their
// operator and PostgreSQL images.
package imagebuild
