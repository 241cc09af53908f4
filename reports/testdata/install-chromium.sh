#!/usr/bin/env bash
# Installs Debian's chromium for the reports browser test, only if missing.
# Idempotent; called by reports/browser_test.go when /usr/bin/chromium is
# absent. Exits 2 with one line saying what to do when it cannot install.
set -euo pipefail

if command -v chromium >/dev/null; then
  echo "install-chromium: $(command -v chromium) present: nothing to do"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-chromium: chromium missing; run as root or: sudo apt-get install -y chromium" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
nice_=""
command -v nice >/dev/null && nice_="nice -n 10"
for attempt in 1 2 3; do
  if $nice_ apt-get -o DPkg::Lock::Timeout=120 update -qq && $nice_ apt-get -o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; then
    break
  fi
  [ "$attempt" = 3 ] && { echo "install-chromium: apt-get failed 3 times; check the Debian mirror" >&2; exit 2; }
  sleep $((attempt * 5))
done
echo "install-chromium: installed $(chromium --version 2>/dev/null || echo chromium)"
