#!/usr/bin/env bash
# Installs what wgplay's lab, demo and tests need on a Debian machine (as root):
# Debian's packages, then the npm packages from the lock file, then the build.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: run as root (it installs Debian packages)" >&2
  exit 1
fi

# ansible-core: the oracle the inventory tests compare wgplay with (test/e2e/inventoryOracle.test.ts).
packages=(wireguard-go wireguard-tools nftables openssh-server openssh-client iproute2 util-linux procps curl socat busybox ca-certificates sudo ansible-core)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
