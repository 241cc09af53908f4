#!/usr/bin/env bash
# Compiles the pause container's program (build/pause/linux/pause.c of the
# k8s.io/kubernetes module) statically with gcc.
# In: OUT, WORK, K8S_VERSION, PAUSE_VERSION. Out: $OUT/pause
set -euo pipefail
kdir="$(go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" | jq -r .Dir)"
gcc -Os -Wall -Werror -static -DVERSION=v${PAUSE_VERSION}-pgchaos -o "$OUT/pause" "$kdir/build/pause/linux/pause.c"
strip "$OUT/pause"
