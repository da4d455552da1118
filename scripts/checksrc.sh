#!/usr/bin/env bash
# Rejects C functions that cannot be used safely (unbounded writes, no error
# reporting): sprintf, vsprintf, strcpy, strcat, atoi, atol, atof, gets.
set -u
cd "$(dirname "$0")/.."
hits=$(grep -rnE '(^|[^A-Za-z0-9_])(sprintf|vsprintf|strcpy|strcat|atoi|atol|atof|gets)[[:space:]]*\(' \
       --include='*.c' --include='*.h' src tests || true)
if [ -n "$hits" ]; then
  echo "banned functions used (use snprintf, memcpy, strtol, fgets):"
  echo "$hits"
  exit 1
fi
echo "checksrc: no banned functions in src/ and tests/"
