# Shared by the run and test commands: checks, Debian package installs, and the Node.js tether runs on.

require_root() {
  if [ "$(id -u)" -ne 0 ]; then echo "run this as root: tether creates bridges, veths and firewall rules" >&2; exit 1; fi
}

# Installs the Debian packages named that are not installed yet.
ensure_packages() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# The Node.js tether runs on: the system's when it is 20 or newer; otherwise a Node of tether's own,
# unpacked from the npm registry's node-linux-<arch> package (Node's official build, with its headers)
# into $TETHER_RUNTIME with an npm of its own, both fetched with Debian's own nodejs and npm. Sets NODE
# and puts its bin first on PATH; native addons (better-sqlite3) are built against its headers.
TETHER_RUNTIME=${TETHER_RUNTIME:-/opt/tether/runtime}
TETHER_NODE_VERSION=22.23.5
TETHER_NPM_VERSION=10.9.9

node_is_new_enough() {
  [ -x "$(command -v "$1" 2>/dev/null)" ] &&
    "$1" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null
}

ensure_node() {
  # Native addons are compiled on install (no prebuilt binaries are fetched).
  ensure_packages make g++ python3 ca-certificates
  if node_is_new_enough node; then
    NODE=$(command -v node)
    export NODE
    return
  fi
  if ! node_is_new_enough "$TETHER_RUNTIME/bin/node"; then
    local arch tmp
    case "$(uname -m)" in
      x86_64) arch=x64 ;;
      aarch64) arch=arm64 ;;
      *) echo "tether has no Node.js runtime package for $(uname -m); install Node.js 20 or newer" >&2; exit 1 ;;
    esac
    echo "Node.js 20 or newer is missing: installing Node $TETHER_NODE_VERSION into $TETHER_RUNTIME" >&2
    ensure_packages nodejs npm
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --loglevel=error "node-linux-$arch@$TETHER_NODE_VERSION" "npm@$TETHER_NPM_VERSION" >/dev/null)
    mkdir -p "$TETHER_RUNTIME/lib/node_modules/npm"
    tar -xzf "$tmp"/node-linux-"$arch"-*.tgz -C "$TETHER_RUNTIME" --strip-components=1
    # npm of its own too: Debian's builds native addons against Debian's Node headers, not this Node's.
    tar -xzf "$tmp"/npm-*.tgz -C "$TETHER_RUNTIME/lib/node_modules/npm" --strip-components=1
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$TETHER_RUNTIME/bin/npm"
    rm -rf "$tmp"
  fi
  NODE=$TETHER_RUNTIME/bin/node
  export NODE PATH="$TETHER_RUNTIME/bin:$PATH" npm_config_nodedir="$TETHER_RUNTIME"
}
