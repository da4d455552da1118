#!/usr/bin/env bash
# Installs the Debian packages bbreport needs, and nothing when all are there.
#   scripts/deps.sh build   the packages to build and run bbreport
#   scripts/deps.sh test    those plus the tools the tests read outputs with
set -euo pipefail

BUILD_PKGS=(
  build-essential cmake pkg-config
  libcsv-dev libopenblas-dev liblapacke-dev libplplot-dev plplot-driver-cairo
  libhpdf-dev libxlsxwriter-dev fonts-dejavu-core libcjson-dev libinih-dev
  libcurl4-openssl-dev libssl-dev
)
TEST_PKGS=(
  libcmocka-dev poppler-utils qpdf python3 python3-openpyxl python3-pil python3-aiosmtpd python3-pandas
  chromium python3-websocket python3-sklearn
)

want=("${BUILD_PKGS[@]}")
if [ "${1:-build}" = "test" ]; then
  want+=("${TEST_PKGS[@]}")
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing missing packages: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "error: not root and no sudo; install as root:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
