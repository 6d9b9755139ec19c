#!/usr/bin/env bash
# `npm run bench`: installs what the benchmarks need (the test packages and
# iperf3), builds tether, and runs bench/run.ts. Results go to bench-results/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
require_root
ensure_node
ensure_packages docker.io busybox-static iptables nftables iproute2 procps tar iperf3
npm run build
node --import tsx bench/run.ts
