// Package pgtestbed runs a real PostgreSQL primary and N streaming replicas on
// 127.0.0.1 from the machine's own server binaries (Debian layout:
// /usr/lib/postgresql/<version>/bin, newest version wins), each in a temporary
// directory, for `pgchaos selftest` and the integration tests.
//
// It owns the lifecycle of those servers (initdb, pg_basebackup, pg_ctl,
// pg_rewind) and the hand-driven faults on them: Kill (a node crash: SIGKILL of
// the postmaster and every process of the instance), immediate and fast stops,
// Promote, Follow (repoint a replica at a new primary) and Rewind (turn a
// stopped old primary into a replica). It knows nothing about workloads or
// checkers.
//
// Layout of a cluster's base directory:
//
//	<base>/sock/      unix sockets of every instance
//	<base>/pgN/       data directory of instance pgN (cluster_name=pgN)
//	<base>/pgN.log    server log of pgN (stderr; kept outside the data
//	                  directory so that pg_basebackup and pg_rewind never copy it)
//
// The settings the testbed manages live in <datadir>/pgtestbed.conf, included
// at the end of the postgresql.conf that initdb wrote. The file is rewritten
// for its own instance after every copy of a data directory (pg_basebackup,
// pg_rewind), since those copy the source's configuration files too.
//
// initdb refuses to run as root. When the process is root, every PostgreSQL
// binary runs as the `postgres` user (or, if that does not exist, as a system
// user `pgchaos` created on the fly) and the base directory is chowned to that
// user; every parent of the base directory must then be searchable by it (the
// default under os.TempDir() is). Otherwise everything runs as the current user.
//
// Unix socket paths are limited to 107 bytes, so keep Options.BaseDir short.
package pgtestbed
