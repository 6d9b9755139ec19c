# Shared by the run and test commands: checks and Debian package installs.

require_root_and_node() {
  if [ "$(id -u)" -ne 0 ]; then echo "run this as root: tether creates bridges, veths and firewall rules" >&2; exit 1; fi
  node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
    || { echo "tether needs Node.js 20 or newer" >&2; exit 1; }
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
