#!/usr/bin/env bash
# Proves that the run command brings its own Node.js where Debian has none new enough: a plain
# Debian 12 root made with debootstrap (Debian's packages only, no Node), this checkout copied in,
# then, inside it, the runtime set-up of scripts/lib.sh, npm ci, the build, the tether command
# and the unit tests, all on the Node it installed. Takes several minutes and downloads Debian's
# packages and Node's, so it is not part of scripts/test.sh. Run as root: bash scripts/test-runtime.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
require_root
ensure_packages debootstrap git

root=$(mktemp -d /tmp/tether-debian12-XXXXXX)
mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
  rm -rf "$root"
}
trap cleanup EXIT

started=$(date +%s)
# The Debian mirror this host's apt already uses.
mirror=$({ grep -hoE '^(URIs:|deb) +[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null ||
  true; } | awk '{print $2}' | head -1)
[ -n "$mirror" ] || { echo "no Debian mirror in this host's apt sources" >&2; exit 1; }
debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
echo "debootstrap: $(($(date +%s) - started)) s"
for fs in proc sys dev; do mount --bind "/$fs" "$root/$fs"; mounted+=("$root/$fs"); done
cp /etc/resolv.conf "$root/etc/resolv.conf"
# This machine's network may reach registries through a TLS proxy whose CA only the host trusts:
# the Debian root gets the host's bundle as an extra CA file for npm and Node.
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/host-ca.crt"
mkdir -p "$root/opt/tether-src"
git archive HEAD | tar -x -C "$root/opt/tether-src"

if chroot "$root" sh -c 'command -v node' >/dev/null; then echo "the Debian root has a node already" >&2; exit 1; fi
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  npm_config_cafile=/etc/host-ca.crt NODE_EXTRA_CA_CERTS=/etc/host-ca.crt bash -c '
  set -euo pipefail
  cd /opt/tether-src
  . scripts/lib.sh
  ensure_node
  echo "NODE=$NODE ($("$NODE" --version))"
  [ "$NODE" = /opt/tether/runtime/bin/node ] || { echo "expected tether'"'"'s own runtime" >&2; exit 1; }
  npm ci --no-audit --no-fund >/dev/null
  npm run build >/dev/null
  "$NODE" bin/tether.js --help | head -3
  ensure_packages etcd-server
  if ! npm run test:unit > /tmp/unit.log 2>&1; then
    grep -B2 -A30 "^ *not ok" /tmp/unit.log | head -200
    exit 1
  fi
  grep -E "^# (tests|pass|fail)" /tmp/unit.log
'
echo "runtime test passed in $(($(date +%s) - started)) s"
