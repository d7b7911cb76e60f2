#!/usr/bin/env bash
# Install the Debian packages of scripts/debian-packages.txt that are missing (needs root and apt-get).
# Without them the tests that need one skip with the reason printed; nothing else changes.
set -uo pipefail
cd "$(dirname "$0")/.."
mapfile -t wanted < <(grep -v '^\s*#' scripts/debian-packages.txt | grep -v '^\s*$')
missing=()
for pkg in "${wanted[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "system packages missing (${missing[*]}): install them with apt-get as root; the tests that need them will skip"
  exit 0
fi
echo "installing Debian packages: ${missing[*]}"
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
  || echo "could not install ${missing[*]}; the tests that need them will skip"
