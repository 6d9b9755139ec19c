#!/usr/bin/env bash
# The run command: installs what tether needs on Debian 12 (as root), builds it
# and runs it next to Docker in one of three forms:
#   bash scripts/install.sh            a daemon (systemd unit ordered before docker.service,
#                                      or a background process where there is no systemd)
#   bash scripts/install.sh container  the FROM-scratch image, --net=host --privileged
#   bash scripts/install.sh plugin     a Docker managed (v2) plugin named tether:latest
# TETHER_* variables in the environment configure every form (cluster mode:
# TETHER_STORE=etcd://... TETHER_HOST_NAME=...; swarm: TETHER_SCOPE=global too);
# the systemd unit reads them from /etc/default/tether, which this script writes,
# and a new plugin takes those it declares as its settings.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mode=${1:-daemon}
case "$mode" in daemon|container|plugin) ;; *) echo "usage: $0 [daemon|container|plugin]" >&2; exit 2 ;; esac

. scripts/lib.sh
require_root
ensure_node
ensure_packages docker.io iptables nftables iproute2

npm ci --no-audit --no-fund
npm run build

# The tether command, on the Node it was built with (which may be tether's own runtime).
printf '#!/bin/sh\nexec %s %s "$@"\n' "$NODE" "$root/bin/tether.js" > /usr/local/bin/tether
chmod 755 /usr/local/bin/tether

systemd=false
[ -d /run/systemd/system ] && systemd=true

start_docker() {
  docker version >/dev/null 2>&1 && return
  if $systemd; then systemctl start docker.service; else
    nohup dockerd >> /var/log/dockerd.log 2>&1 &
    echo $! > /run/dockerd-started-by-tether.pid
  fi
  for _ in $(seq 100); do docker version >/dev/null 2>&1 && return; sleep 0.2; done
  echo "dockerd did not come up; see /var/log/dockerd.log or journalctl -u docker" >&2
  exit 1
}

socket=${TETHER_SOCKET:-/run/docker/plugins/tether.sock}
driver=tether
case "$mode" in
  daemon)
    if $systemd; then
      upgrade=false
      [ -f /etc/systemd/system/tether.service ] && upgrade=true
      env | grep '^TETHER_' > /etc/default/tether || true
      sed "s#@ROOT@#$root#g; s#@NODE@#$NODE#g" packaging/tether.service > /etc/systemd/system/tether.service
      systemctl daemon-reload
      if $upgrade; then
        # Containers keep their links while tether restarts; the new one takes its state back.
        systemctl restart tether.service
      else
        systemctl enable --now tether.service
        systemctl restart docker.service
      fi
    else
      if [ -f /run/tether.pid ] && kill -0 "$(cat /run/tether.pid)" 2>/dev/null; then kill "$(cat /run/tether.pid)"; sleep 1; fi
      nohup "$NODE" "$root/bin/tether.js" serve --socket "$socket" >> /var/log/tether.log 2>&1 &
      echo $! > /run/tether.pid
      start_docker
    fi
    ;;
  container)
    start_docker
    "$NODE" "$root/bin/tether.js" image build --tag tether:latest
    docker rm -f tether >/dev/null 2>&1 || true
    env | grep '^TETHER_' > /run/tether.env || true
    # Cluster mode creates the cluster's networks through Docker's API, hence its socket.
    docker run -d --name tether --restart always --net=host --privileged --env-file /run/tether.env \
      -v /run/docker/plugins:/run/docker/plugins -v /var/lib/tether:/var/lib/tether \
      -v /var/run/docker.sock:/var/run/docker.sock tether:latest
    ;;
  plugin)
    start_docker
    if docker plugin inspect tether >/dev/null 2>&1; then
      "$NODE" "$root/bin/tether.js" plugin upgrade --name tether
    else
      "$NODE" "$root/bin/tether.js" plugin create --name tether
    fi
    driver=tether:latest
    ;;
esac

for _ in $(seq 100); do
  if docker version >/dev/null 2>&1 && { [ "$mode" = plugin ] || [ -S "$socket" ]; }; then
    echo "tether is running ($mode); try: docker network create -d $driver --ipam-driver $driver web"
    exit 0
  fi
  sleep 0.2
done
echo "tether did not come up; see /var/log/tether.log, docker logs tether, or journalctl -u tether" >&2
exit 1
