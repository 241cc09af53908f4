#!/usr/bin/env bash
# Builds the node root filesystem from Debian packages with debootstrap, and the
# netfilter layer (iptables, conntrack and the libraries they load) that the
# kube-proxy image needs.
# In: OUT, WORK, SUITE (bookworm), MIRROR, PACKAGES (comma-separated).
# Out: $OUT/rootfs.tar, $OUT/netfilter.tar
set -euo pipefail
root="$WORK/root"
mkdir -p "$root"
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$root" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
	{ tail -20 "$WORK/debootstrap.log" >&2; exit 1; }

# The netfilter layer: package files, the ELF libraries they load, alternatives links.
cat >"$root/tmp/netfilter-files.sh" <<'IN'
set -eu
{
	dpkg -L iptables conntrack libxtables12 | while read -r f; do [ -f "$f" ] || [ -L "$f" ] && echo "$f"; done
	ls -d /etc/alternatives/ip*tables* /etc/alternatives/ebtables* /usr/sbin/ip*tables* /usr/sbin/ebtables* 2>/dev/null || true
	for f in $(dpkg -L iptables conntrack libxtables12); do
		[ -f "$f" ] || continue
		ldd "$f" 2>/dev/null | awk '/=>/ {print $3} /ld-linux/ {print $1}' || true
	done
} | sort -u | while read -r f; do
	[ -e "$f" ] || continue
	echo "$f"
	readlink -f "$f"
done | sort -u
IN
# Merged /usr: the top-level links first, then every path spelled under usr/.
for l in bin lib lib64 sbin; do if [ -L "$root/$l" ]; then echo "$l"; fi; done >"$WORK/netfilter.list"
chroot "$root" /bin/sh /tmp/netfilter-files.sh | sed -e 's#^/##' -e 's#^\(bin\|lib\|lib64\|sbin\)/#usr/\1/#' |
	sort -u >>"$WORK/netfilter.list"
rm -f "$root/tmp/netfilter-files.sh"
tar -C "$root" --numeric-owner --no-recursion -cf "$OUT/netfilter.tar" -T "$WORK/netfilter.list"

# Trim what a node never needs.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
	"$root"/usr/share/man/* "$root"/usr/share/locale/*
tar -C "$root" --numeric-owner -cf "$OUT/rootfs.tar" .
cp "$root/bin/busybox" "$OUT/busybox"
