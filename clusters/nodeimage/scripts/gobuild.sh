#!/usr/bin/env bash
# Builds one Go main package of a module at a pinned version, offline from the
# module proxy: either through a throwaway module that requires it (MODE=require)
# or from a writable copy of the module without its vendor/ (MODE=copy).
# In: OUT, WORK, MODULE, VERSION, PKG (import path of the main package), NAME, MODE.
# Out: $OUT/$NAME
set -euo pipefail
mkdir -p "$WORK" "$OUT"
case "$MODE" in
require)
	mkdir -p "$WORK/mod"
	cd "$WORK/mod"
	printf 'module pgchaos.local/build\n\ngo 1.24\n' >go.mod
	GOFLAGS=-mod=mod go get "$MODULE@$VERSION" >/dev/null 2>&1 || GOFLAGS=-mod=mod go get "$MODULE@$VERSION"
	CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$OUT/$NAME" "$PKG"
	;;
copy)
	dir="$(go mod download -json "$MODULE@$VERSION" | jq -r .Dir)"
	cp -r "$dir" "$WORK/src"
	chmod -R u+w "$WORK/src"
	rm -rf "$WORK/src/vendor"
	cd "$WORK/src"
	CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$OUT/$NAME" "$PKG"
	;;
*)
	echo "gobuild.sh: unknown MODE $MODE" >&2
	exit 2
	;;
esac
