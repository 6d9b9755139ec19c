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
