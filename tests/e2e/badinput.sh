#!/usr/bin/env bash
# The bad-input corpus: each folder of tests/badinput is one case, run through
# the real binary. A case holds the files that replace the base dataset
# (tests/badinput/base), "<file>.absent" to delete one, and `expect`:
#   ARGS       extra options of `bbreport run`
#   EXIT       the exit code
#   MESSAGE    text the console output must contain (file, line, column)
#   QFILE      the quarantine file that must exist (optional)
#   QLINE      text that file must contain (optional)
# Usage: badinput.sh BBREPORT [CASE...]
set -u
bin=$1; shift
root=$(cd "$(dirname "$0")/../badinput" && pwd)
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=($(cd "$root" && ls -d */ | tr -d / | grep -v '^base$'))
work=$(mktemp -d /tmp/bb_badinput.XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0

for c in "${cases[@]}"; do
  ARGS=""; EXIT=""; MESSAGE=""; QFILE=""; QLINE=""
  # shellcheck disable=SC1090
  . "$root/$c/expect"
  data="$work/$c/data"; out="$work/$c/out"
  mkdir -p "$data"
  cp "$root/base/"*.csv "$data/"
  for f in "$root/$c"/*; do
    name=$(basename "$f")
    case "$name" in
      expect) ;;
      *.absent) rm -f "$data/${name%.absent}" ;;
      *) cp "$f" "$data/$name" ;;
    esac
  done
  # shellcheck disable=SC2086
  "$bin" run --data "$data" --out "$out" $ARGS >"$work/$c/console" 2>&1
  code=$?
  problem=""
  [ "$code" = "$EXIT" ] || problem="exit code $code, expected $EXIT"
  if [ -z "$problem" ] && ! grep -qF -- "$MESSAGE" "$work/$c/console"; then
    problem="no message: $MESSAGE"
  fi
  if [ -z "$problem" ] && [ -n "$QFILE" ]; then
    q=$(ls "$out"/latest/quarantine/"$QFILE" "$out"/failed/*/quarantine/"$QFILE" 2>/dev/null | head -1)
    if [ -z "$q" ]; then
      problem="no quarantine file $QFILE"
    elif [ -n "$QLINE" ] && ! grep -qF -- "$QLINE" "$q"; then
      problem="quarantine $q lacks: $QLINE"
    fi
  fi
  if [ -z "$problem" ] && [ "$EXIT" != 0 ] && [ -e "$out/latest" ]; then
    problem="a failed run left out/latest"
  fi
  if [ -z "$problem" ] && [ "$EXIT" = 0 ] && [ ! -f "$out/latest/report.pdf" ]; then
    problem="no out/latest/report.pdf"
  fi
  if [ -n "$problem" ]; then
    echo "FAIL $c: $problem"
    sed 's/^/    | /' "$work/$c/console" | tail -20
    failures=$((failures + 1))
  else
    echo "ok   $c (exit $code)"
  fi
done
echo "${#cases[@]} cases, $failures failed"
[ "$failures" -eq 0 ]
