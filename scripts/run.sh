#!/usr/bin/env bash
# Fresh Debian 12 machine → wsd running on its default config (echo plugin on
# 127.0.0.1:9501). Extra arguments go to wsd (e.g. --set port=9600).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/daemon/wsd --config config/server.yaml "$@"
