#!/bin/sh
# Installs an npm package into DIR, a folder of the build tree, for the tests
# that drive wsd from Node.js; nothing is done when a version starting with
# VERSION (a major, or major.minor) is there already.
#
#   sh tests/setup_npm.sh build/npm ws 8                       (interop_npm_setup)
#   sh tests/setup_npm.sh build/e2e/npm playwright-core 1.65   (e2e_npm_setup)
#
# Exits 77 (ctest: skipped) only when the npm registry cannot be reached.
# Each package has a folder of its own: npm install removes from a folder
# what its last install did not name.
set -eu
dir=$1
name=$2
version=$3
pkg="$dir/node_modules/$name/package.json"
if [ -f "$pkg" ] && grep -q "\"version\": \"$version\\." "$pkg"; then
  echo "$name $(sed -n 's/.*"version": "\([^"]*\)".*/\1/p' "$pkg") is in $dir"
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "npm is not installed: scripts/install-deps.sh installs nodejs and npm"
  exit 1
fi
mkdir -p "$dir"
if timeout 300 npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error "$name@$version"; then
  exit 0
fi
if ! timeout 60 npm ping >/dev/null 2>&1; then
  echo "SKIP: the npm registry cannot be reached (npm ping failed), so the tests that need $name are skipped"
  exit 77
fi
echo "npm install $name@$version failed although the npm registry answers"
exit 1
