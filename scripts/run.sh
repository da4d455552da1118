#!/usr/bin/env bash
# Installs what is missing, builds bbreport, and runs it on data/sample into out/.
# Extra arguments go to `bbreport run` (e.g. --data DIR --out DIR --config FILE).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build -j"$(nproc)" --target bbreport
exec build/bbreport run --data data/sample --out out "$@"
