#!/usr/bin/env bash
# The test command: installs what the tests need on Debian 12 (as root), builds
# tether and runs every test. The end-to-end tests start their own dockerd and
# tether, and stop them by pid when they finish.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib.sh
require_root
ensure_node
ensure_packages docker.io busybox-static iptables nftables iproute2 procps tar openssl etcd-server systemd python3 chromium

npm ci --no-audit --no-fund
npm run typecheck
npm run lint
npm run build
npm test

# The second engine: Debian sid's Docker 28.5 unpacked into a private root (nothing installed); the
# suites run again on it, each test named with the engine, or reported skipped with the reason.
next=$(mktemp -d /tmp/tether-docker-next-XXXXXX)
trap 'rm -rf "$next"' EXIT
bash scripts/docker-next.sh "$next"
TETHER_E2E_ENGINE=28.5 TETHER_DOCKER_NEXT="$next" npm run test:docker-next
