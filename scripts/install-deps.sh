#!/usr/bin/env bash
# Installs the Debian 12 packages wsd needs to build, test and benchmark.
# Runs apt-get only when something is missing, so a warm machine skips it.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libevent-dev libssl-dev zlib1g-dev libyaml-cpp-dev libspdlog-dev
  doctest-dev libsystemd-dev libhttp-parser-dev libbenchmark-dev
  python3 python3-websockets openssl
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
