#!/usr/bin/env bash
# The tests' second Docker engine: Debian sid's docker.io, docker-cli and
# containerd, fetched with an apt configuration of our own (the machine's
# sources are not touched) and unpacked into a private root under DIR, with
# Debian 12's runc (sid's needs a newer glibc). Nothing is installed.
#   bash scripts/docker-next.sh DIR
# On success DIR/root holds the packages and DIR/bin the binaries dockerd finds
# on its PATH. When the fetch is impossible, DIR/skip says why (the tests on
# this engine are then reported skipped with that reason) and the script still
# succeeds: a machine without the network runs the rest.
set -euo pipefail
dir=${1:?usage: docker-next.sh DIR}
mkdir -p "$dir"
rm -f "$dir/skip" "$dir/ready"
apt="$dir/apt"
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/sources.list.d" "$dir/debs"
echo "deb http://deb.debian.org/debian sid main" >"$apt/sources.list.d/sid.list"
options=(-o "Dir::Etc::sourcelist=/dev/null" -o "Dir::Etc::sourceparts=$apt/sources.list.d"
  -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o "Debug::NoLocking=1"
  -o "APT::Sandbox::User=root" -o "Acquire::Retries=2")

skip() {
  echo "$1" >"$dir/skip"
  echo "docker-next: skipped: $1" >&2
  exit 0
}

apt-get "${options[@]}" update -qq >"$dir/apt.log" 2>&1 ||
  skip "cannot read Debian sid's package lists: $(tail -1 "$dir/apt.log")"
(cd "$dir/debs" && apt-get "${options[@]}" download docker.io docker-cli containerd >>"$dir/apt.log" 2>&1) ||
  skip "cannot fetch docker.io, docker-cli and containerd from sid: $(tail -1 "$dir/apt.log")"
rm -rf "$dir/root" "$dir/bin"
for deb in "$dir"/debs/*.deb; do dpkg -x "$deb" "$dir/root"; done
[ -x "$dir/root/usr/sbin/dockerd" ] || skip "sid's docker.io has no /usr/sbin/dockerd"
[ -x /usr/sbin/runc ] || skip "Debian 12's runc is not installed (it comes with docker.io)"
mkdir -p "$dir/bin"
for tool in containerd containerd-shim-runc-v2 docker-proxy; do
  found=$(find "$dir/root/usr/bin" "$dir/root/usr/sbin" -name "$tool" -type f | head -1)
  [ -n "$found" ] || skip "sid's packages have no $tool"
  ln -s "$found" "$dir/bin/$tool"
done
ln -s /usr/sbin/runc "$dir/bin/runc"
# `docker run --init`: Debian 12's tini, as its own dockerd uses.
if [ -x /usr/bin/docker-init ]; then ln -s /usr/bin/docker-init "$dir/bin/docker-init"; fi
version=$("$dir/root/usr/sbin/dockerd" --version 2>&1) || skip "sid's dockerd does not run here: $version"
echo "$version" >"$dir/ready"
echo "docker-next: $version in $dir/root"
