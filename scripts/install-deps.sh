#!/usr/bin/env bash
# Installs the Debian 12 packages wsd needs to build, test and benchmark.
# Runs apt-get only when something is missing, so a warm machine skips it.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libevent-dev libssl-dev zlib1g-dev libyaml-cpp-dev libspdlog-dev
  nlohmann-json3-dev         # the chat plugin's JSON (header-only)
  doctest-dev libsystemd-dev libhttp-parser-dev libbenchmark-dev
  libhiredis-dev redis-server   # cluster/ (hiredis); the cluster tests start their own redis-server
  python3 python3-websockets openssl
  man-db groff-base          # the man_pages test (man --warnings, groff, lexgrog)
  dpkg-dev lintian           # the package_deb test (cpack's dpkg-shlibdeps, lintian)
  chromium                   # e2e_chat_chromium (driven by playwright-core, no chromedriver)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# The interop tests run node and npm (which installs the `ws` client into the
# build tree). Any node with npm does (NodeSource's nodejs ships npm itself and
# conflicts with Debian's npm package), so Debian's are installed only when
# either command is missing.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
