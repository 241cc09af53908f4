#!/usr/bin/python3
"""pgchaos's entrypoint for a Spilo-compatible pod of Zalando's operator.

Reads the environment the operator gives the PostgreSQL container
(pkg/cluster/k8sres.go, generateSpiloPodEnvVars), writes a patroni.yml for
Debian's Patroni 3.0.2 with the Kubernetes DCS, and execs Patroni. Written for
pgchaos; not Spilo. With --print it writes the configuration to stdout and
exits (tests use it).
"""
import copy
import json
import os
import subprocess
import sys

import yaml

HOME = "/home/postgres"
CERTS = HOME + "/certs"


def env(name, default=None):
    v = os.environ.get(name)
    return v if v not in (None, "") else default


def merge(base, over):
    """Deep-merge over into base: dicts merge, anything else replaces."""
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def config():
    scope = env("SCOPE")
    pod_ip = env("POD_IP")
    if not scope or not pod_ip:
        sys.exit("pgchaos-spilo: SCOPE and POD_IP are required")
    pgroot = env("PGROOT", HOME + "/pgdata/pgroot")
    data_dir = pgroot + "/data"
    version = env("PGVERSION", "15")
    try:
        with open(data_dir + "/PG_VERSION") as f:
            version = f.read().strip()
    except OSError:
        pass
    spilo = json.loads(env("SPILO_CONFIGURATION", "{}"))
    labels = json.loads(env("KUBERNETES_LABELS", '{"application": "spilo"}'))
    su = env("PGUSER_SUPERUSER", "postgres")
    standby = env("PGUSER_STANDBY", "standby")

    # The DCS defaults. postgresql.parameters must never be empty: the
    # operator asserts its type when it reads /config (pkg/util/patroni).
    # No synchronous_* here: the operator sets them from the manifest.
    dcs = {
        "ttl": 30, "loop_wait": 10, "retry_timeout": 10,
        "maximum_lag_on_failover": 33554432,
        "postgresql": {
            "use_pg_rewind": True, "use_slots": True,
            "parameters": {
                "wal_level": "replica", "hot_standby": "on", "wal_log_hints": "on",
                "max_wal_senders": 10, "max_replication_slots": 10, "max_connections": 100,
                "wal_keep_size": "128MB",
            },
        },
    }
    dcs = merge(dcs, spilo.get("bootstrap", {}).get("dcs", {}))
    initdb = spilo.get("bootstrap", {}).get("initdb") or [{"auth-host": "md5"}, {"auth-local": "trust"}]
    if not any(isinstance(o, dict) and "encoding" in o for o in initdb):
        initdb = initdb + [{"encoding": "UTF8"}]
    if not any(isinstance(o, dict) and "locale" in o for o in initdb):
        initdb = initdb + [{"locale": "en_US.UTF-8"}]

    params = merge({
        "ssl": "on",
        "ssl_cert_file": CERTS + "/server.crt",
        "ssl_key_file": CERTS + "/server.key",
        "unix_socket_directories": "/var/run/postgresql",
        "password_encryption": "md5",
    }, spilo.get("postgresql", {}).get("parameters", {}))
    # md5, not scram: the operator sets system roles' passwords as md5.
    hba = spilo.get("postgresql", {}).get("pg_hba") or [
        "local all all trust",
        "local replication all trust",
        "host all all 127.0.0.1/32 md5",
        "host replication %s all md5" % standby,
        "host all all all md5",
    ]
    k8s = {
        "namespace": env("POD_NAMESPACE", "default"),
        "labels": labels,
        "scope_label": env("KUBERNETES_SCOPE_LABEL", "cluster-name"),
        "role_label": env("KUBERNETES_ROLE_LABEL", "spilo-role"),
        "pod_ip": pod_ip,
        "ports": [{"name": "postgresql", "port": 5432}],
    }
    if env("KUBERNETES_USE_CONFIGMAPS", "false").lower() == "true":
        k8s["use_endpoints"] = False
    else:
        k8s["use_endpoints"] = True
    return {
        "name": env("HOSTNAME", env("POD_NAME", "")),
        "scope": scope,
        "namespace": env("POD_NAMESPACE", "default"),
        "restapi": {"listen": "0.0.0.0:8008", "connect_address": pod_ip + ":8008"},
        "kubernetes": k8s,
        "bootstrap": {"dcs": dcs, "initdb": initdb},
        "postgresql": {
            "listen": "0.0.0.0:5432",
            "connect_address": pod_ip + ":5432",
            "data_dir": data_dir,
            "bin_dir": "/usr/lib/postgresql/%s/bin" % version,
            "pgpass": "/tmp/pgpass",
            "use_unix_socket": True,
            "use_unix_socket_repl": True,
            "authentication": {
                "superuser": {"username": su, "password": env("PGPASSWORD_SUPERUSER", "")},
                "replication": {"username": standby, "password": env("PGPASSWORD_STANDBY", "")},
            },
            "parameters": params,
            "pg_hba": hba,
        },
    }


def certificate(scope):
    if os.path.exists(CERTS + "/server.key"):
        return
    os.makedirs(CERTS, exist_ok=True)
    subprocess.run(["openssl", "req", "-nodes", "-new", "-x509", "-days", "3650", "-subj", "/CN=" + scope,
                    "-keyout", CERTS + "/server.key", "-out", CERTS + "/server.crt"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.chmod(CERTS + "/server.key", 0o600)


def main():
    cfg = config()
    text = yaml.safe_dump(cfg, default_flow_style=False)
    if "--print" in sys.argv[1:]:
        sys.stdout.write(text)
        return
    os.makedirs(os.path.dirname(cfg["postgresql"]["data_dir"]), exist_ok=True)
    if not os.access(os.path.dirname(cfg["postgresql"]["data_dir"]), os.W_OK):
        sys.exit("pgchaos-spilo: %s is not writable by uid %d" % (os.path.dirname(cfg["postgresql"]["data_dir"]), os.getuid()))
    certificate(cfg["scope"])
    path = HOME + "/patroni.yml"
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    os.execv("/usr/bin/patroni", ["patroni", path])


if __name__ == "__main__":
    main()
