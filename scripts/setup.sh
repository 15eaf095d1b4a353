#!/usr/bin/env bash
# Installs what gencache needs on Debian 12, and only what is missing (idempotent).
# Works as root, or as a user with sudo. Non-interactive.
set -euo pipefail

packages=(
  libboost1.81-dev libtbb-dev libfmt-dev catch2 libbenchmark-dev libhiredis-dev
  libmemcached-dev libcli11-dev libxxhash-dev liburcu-dev memcached redis-server pkg-config ninja-build
  ccache libpoco-dev librocksdb-dev prometheus-cpp-dev
  clang-19 libfuzzer-19-dev libclang-rt-19-dev clang-format-14 clang-tidy-19
  cmake g++ python3
)

if dpkg-query -W -f='${Status}' libboost1.74-dev 2>/dev/null | grep -q "install ok installed"; then
  echo "setup: libboost1.74-dev is installed and conflicts with libboost1.81-dev;" \
       "remove it (apt-get remove libboost1.74-dev libboost-dev) and run again" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all dependencies are installed"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "setup: installing ${missing[*]}"
"${sudo[@]}" apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "${missing[@]}" </dev/null
