#!/usr/bin/env bash
# The run command: installs what tether needs on Debian 12 (as root), builds it
# and runs it next to Docker. With systemd, tether becomes a unit ordered
# before docker.service; without it (a container, a minimal VM), tether and,
# if none is running, dockerd are started in the background.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

. scripts/lib.sh
require_root_and_node
ensure_packages docker.io iptables iproute2

npm ci --no-audit --no-fund
npm run build

socket=${TETHER_SOCKET:-/run/docker/plugins/tether.sock}
if [ -d /run/systemd/system ]; then
  sed "s#@ROOT@#$root#g" packaging/tether.service > /etc/systemd/system/tether.service
  systemctl daemon-reload
  systemctl enable --now tether.service
  systemctl restart docker.service
else
  if [ -f /run/tether.pid ] && kill -0 "$(cat /run/tether.pid)" 2>/dev/null; then kill "$(cat /run/tether.pid)"; sleep 1; fi
  nohup "$root/bin/tether.js" serve --socket "$socket" >> /var/log/tether.log 2>&1 &
  echo $! > /run/tether.pid
  if ! docker version >/dev/null 2>&1; then
    nohup dockerd >> /var/log/dockerd.log 2>&1 &
    echo $! > /run/dockerd-started-by-tether.pid
  fi
fi

for _ in $(seq 100); do
  if [ -S "$socket" ] && docker version >/dev/null 2>&1; then
    echo "tether is serving on $socket; try: docker network create -d tether --ipam-driver tether web"
    exit 0
  fi
  sleep 0.2
done
echo "tether or dockerd did not come up; see /var/log/tether.log (or journalctl -u tether)" >&2
exit 1
