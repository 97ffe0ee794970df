#!/usr/bin/env bash
# Installs what traceledger builds, tests and runs with (Debian packages). Idempotent: packages already
# present are not fetched again. Needs root (or sudo).
set -euo pipefail
pkgs=(librdkafka-dev liblz4-dev libpq-dev libcurl4 pkg-config postgresql kcat python3 iproute2)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all present (${pkgs[*]})"
  exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts a cluster on install; tests run their own throwaway server, so leave the system one alone.
echo "install-deps: done"
