#!/bin/sh
# Installs the Node.js `ws` client (8.x) into DIR, a folder of the build tree,
# for the interop_node_ws tests; nothing is done when it is there already.
# Exits 77 (ctest: skipped) only when the npm registry cannot be reached.
set -eu
dir=$1
pkg="$dir/node_modules/ws/package.json"
if [ -f "$pkg" ] && grep -q '"version": "8\.' "$pkg"; then
  echo "ws $(sed -n 's/.*"version": "\([^"]*\)".*/\1/p' "$pkg") is in $dir"
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "npm is not installed: scripts/install-deps.sh installs nodejs and npm"
  exit 1
fi
mkdir -p "$dir"
if timeout 300 npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error ws@8; then
  exit 0
fi
if ! timeout 60 npm ping >/dev/null 2>&1; then
  echo "SKIP: the npm registry cannot be reached (npm ping failed), so the Node.js ws interop tests are skipped"
  exit 77
fi
echo "npm install ws@8 failed although the npm registry answers"
exit 1
