#!/usr/bin/env bash
# End-to-end tests of the bbreport binary: real runs, outputs read back with
# independent tools (tests/e2e/check_run.py). Exit 77 = skipped (../shared
# absent).  Usage: e2e.sh CASE BBREPORT
set -u
case_name=$1
bin=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
shared=${BB_SHARED_DIR:-$src/../shared}
check="/usr/bin/python3 $src/tests/e2e/check_run.py"
tmp=$(mktemp -d /tmp/bb_e2e.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

need_shared() {
  if [ ! -d "$shared/data" ]; then
    echo "../shared not found: skipped"
    exit 77
  fi
}

fail() {
  echo "FAIL: $*"
  [ -f "$tmp/console" ] && sed 's/^/    | /' "$tmp/console" | tail -30
  exit 1
}

# run OUT ARGS...: bbreport run, console kept in $tmp/console; prints the exit code.
# Customer sheets are left out (--sheets none) unless the case asks for them.
run() {
  local out=$1; shift
  local sheets=(--sheets none)
  case " $* " in *" --sheets "*) sheets=() ;; esac
  "$bin" run --out "$out" "${sheets[@]}" "$@" >"$tmp/console" 2>&1
  echo $?
}

# wait_stopped PID: until the process has stopped itself (BB_DEBUG_STOP_AT), 20 s at most.
wait_stopped() {
  for _ in $(seq 400); do
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ "$state" = T ] && return 0
    sleep 0.05
  done
  return 1
}

case "$case_name" in
sample)
  [ "$(run "$tmp/out" --data "$src/data/sample" --sheets all)" = 0 ] || fail "run on data/sample"
  [ -L "$tmp/out/latest" ] || fail "out/latest is not a link"
  dir=$(realpath "$tmp/out/latest")
  grep -q "report  *$tmp/out/runs/" "$tmp/console" || fail "the run does not print where its outputs are"
  $check "$dir" --rejected 0 || exit 1
  /usr/bin/python3 "$src/tests/e2e/check_sales.py" "$dir" "$src/data/sample" || exit 1
  /usr/bin/python3 "$src/tests/e2e/check_segments.py" "$dir" --k 5 || exit 1
  /usr/bin/python3 "$src/tests/e2e/check_recs.py" "$dir" --sheets all || exit 1
  ;;
recs)
  # Data with preferences: the served model beats popularity on the hold-out.
  "$bin" gen --customers 3000 --items 120 --purchases 60000 --seed 3 --out "$tmp/data" >/dev/null 2>&1 || fail "gen"
  [ "$(run "$tmp/out" --data "$tmp/data" --sheets ids:"$tmp/ids")" != 0 ] || fail "a missing ids file was accepted"
  printf 'Cust0001\nCust0002\n' > "$tmp/ids"
  [ "$(run "$tmp/out" --data "$tmp/data" --sheets ids:"$tmp/ids")" = 0 ] || fail "run on generated data"
  dir=$(realpath "$tmp/out/latest")
  /usr/bin/python3 "$src/tests/e2e/check_recs.py" "$dir" --expect beats --sheets some || exit 1
  # bbreport recommend serves the saved model without retraining: the run's lines for that customer.
  "$bin" recommend --model "$dir/model.bbrec" --data "$tmp/data" --customer Cust0001 >"$tmp/one.csv" 2>"$tmp/console" \
    || fail "bbreport recommend"
  { head -1 "$dir/recommendations.csv"; grep '^Cust0001,' "$dir/recommendations.csv"; } > "$tmp/want.csv"
  cmp -s "$tmp/one.csv" "$tmp/want.csv" || fail "recommend printed other lines than the run: $(diff "$tmp/one.csv" "$tmp/want.csv" | head -5)"
  # A damaged model file is refused.
  cp "$dir/model.bbrec" "$tmp/bad.bbrec"
  printf '\xff' | dd of="$tmp/bad.bbrec" bs=1 seek=200 conv=notrunc 2>/dev/null
  "$bin" recommend --model "$tmp/bad.bbrec" --data "$tmp/data" --customer Cust0001 >/dev/null 2>"$tmp/console"
  [ $? = 65 ] || fail "a damaged model file did not exit 65"
  ;;
seed)
  need_shared
  [ "$(run "$tmp/out" --data "$shared/data/seed" --sheets none)" = 0 ] || fail "run on the seed data"
  $check "$(realpath "$tmp/out/latest")" --rejected 0 --purchases 5000 --customers 500 --revenue 384476.14 || exit 1
  /usr/bin/python3 "$src/tests/e2e/check_sales.py" "$(realpath "$tmp/out/latest")" "$shared/data/seed" \
    --revenue 384476.14 --top-item "Hair Coloring (Roots)=26218.80" \
    --category-units Service=3521 --category-units Product=2909 || exit 1
  /usr/bin/python3 "$src/tests/e2e/check_segments.py" "$(realpath "$tmp/out/latest")" --k 5 || exit 1
  /usr/bin/python3 "$src/tests/e2e/check_recs.py" "$(realpath "$tmp/out/latest")" --expect no-beat --sheets none || exit 1
  ;;
groceries)
  need_shared
  [ "$(run "$tmp/out" --config "$src/config/groceries.ini" --data "$shared/data/groceries")" = 0 ] \
    || fail "run on the groceries export"
  $check "$(realpath "$tmp/out/latest")" --rejected 0 --purchases 38765 --customers 3898 || exit 1
  [ "$(run "$tmp/out2" --config "$src/config/groceries.ini" --data "$shared/data/groceries" \
        --purchases-file Groceries_dataset_dirty55blanks.csv)" = 0 ] || fail "run on the dirty twin"
  dir=$(realpath "$tmp/out2/latest")
  $check "$dir" --rejected 54 --purchases 38711 || exit 1
  q="$dir/quarantine/Groceries_dataset_dirty55blanks.csv.rejects.csv"
  [ "$(wc -l < "$q")" = 55 ] || fail "quarantine has $(wc -l < "$q") lines, expected 55"
  [ "$(grep -c ',missing_value,' "$q")" = 54 ] || fail "not every rejected row is a missing value"
  ;;
browser)
  # Headless Chromium: no console errors, no network requests, phone and desktop widths.
  [ "$(run "$tmp/out" --data "$src/data/sample")" = 0 ] || fail "run on data/sample"
  shots=${BB_ARTIFACTS:-$tmp/shots}
  /usr/bin/python3 "$src/tests/e2e/check_html_browser.py" "$tmp/out/latest/report.html" "$shots" || exit 1
  ;;
mail)
  # bbreport run --send against a real SMTP server on loopback.
  mkdir -p "$tmp/mail"
  /usr/bin/python3 "$src/tests/e2e/smtp_sink.py" --dir "$tmp/mail" &
  sink=$!
  trap 'kill $sink 2>/dev/null; rm -rf "$tmp"' EXIT
  for _ in $(seq 100); do [ -s "$tmp/mail/port" ] && break; sleep 0.1; done
  [ -s "$tmp/mail/port" ] || fail "the SMTP sink did not start"
  port=$(cat "$tmp/mail/port")
  mailopts=(--mail-smtp-url "smtp://127.0.0.1:$port" --mail-starttls false
            --mail-from "Reports <reports@example.com>" --mail-to "owner@example.com, analyst@example.com"
            --business-name "Salon Zoë")
  [ "$(run "$tmp/out" --data "$src/data/sample" --send "${mailopts[@]}")" = 0 ] || fail "run --send"
  m="$tmp/mail/msg-1"
  [ -d "$m" ] || fail "no message arrived"
  cmp -s "$m/attachments/report.pdf" "$tmp/out/latest/report.pdf" || fail "the attached PDF differs from the run's"
  /usr/bin/python3 - "$m/message.json" "$(basename "$(realpath "$tmp/out/latest")")" <<'PY' || fail "message headers"
import json, sys
m = json.load(open(sys.argv[1]))
as_of = sys.argv[2].split("_")[0]
assert sorted(m["rcpt_tos"]) == ["analyst@example.com", "owner@example.com"], m["rcpt_tos"]
assert "Salon Zoë" in m["subject"] and as_of in m["subject"], m["subject"]
PY
  grep -q "$(basename "$(realpath "$tmp/out/latest")" | cut -d_ -f2)" "$m/body.txt" || fail "the body does not name the run"
  # bbreport send mails an existing run again.
  "$bin" send --run "$tmp/out/latest" "${mailopts[@]}" >"$tmp/console" 2>&1 || fail "bbreport send"
  [ -d "$tmp/mail/msg-2" ] || fail "send delivered nothing"
  # A failed run sends a notice to the operators instead of silence.
  mkdir -p "$tmp/bad" && printf 'CustomerID,ItemID\n' > "$tmp/bad/purchases.csv"
  [ "$(run "$tmp/out" --data "$tmp/bad" --send "${mailopts[@]}" --mail-operators ops@example.com)" = 66 ] \
    || fail "a bad run did not exit 66"
  grep -q '"ops@example.com"' "$tmp/mail/msg-3/message.json" || fail "no failure notice to the operators"
  # No server: the report is written, the exit code says the mail did not go.
  kill $sink; wait $sink 2>/dev/null
  [ "$(run "$tmp/out2" --data "$src/data/sample" --send "${mailopts[@]}" --mail-retries 1 --mail-retry-delay-ms 10)" = 75 ] \
    || fail "an unreachable mail server did not give 75"
  [ -f "$tmp/out2/latest/report.pdf" ] || fail "the report was not kept when mail failed"
  ;;
nights)
  # Two nights a week apart: the second report shows the changes and the migrations.
  "$bin" gen --customers 600 --items 60 --purchases 12000 --seed 5 --out "$tmp/d2" >/dev/null 2>&1 || fail "gen"
  mkdir -p "$tmp/d1" && cp "$tmp/d2/customers.csv" "$tmp/d2/items.csv" "$tmp/d1/"
  last=$(tail -1 "$tmp/d2/purchases.csv" | cut -d, -f4)
  cut_day=$(date -d "$last - 7 days" +%F)
  awk -F, -v d="$cut_day" 'NR == 1 || $4 <= d' "$tmp/d2/purchases.csv" > "$tmp/d1/purchases.csv"
  [ "$(run "$tmp/out" --data "$tmp/d1" --sales-period week)" = 0 ] || fail "night 1"
  [ "$(run "$tmp/out" --data "$tmp/d2" --sales-period week)" = 0 ] || fail "night 2"
  dir=$(realpath "$tmp/out/latest")
  grep -q "comparing with the previous run .*/${cut_day}_" "$dir/run.log" || fail "night 2 did not compare with night 1"
  pdftotext -q "$dir/report.pdf" - > "$tmp/report.txt"
  grep -q "Since the previous run" "$tmp/report.txt" || fail "the PDF has no changes since the previous run"
  grep -q "changed segment" "$tmp/report.txt" || fail "the PDF has no segment migrations"
  grep -q 'id="changes"' "$dir/report.html" || fail "the HTML has no changes"
  /usr/bin/python3 - "$dir/workbook.xlsx" <<'PY' || fail "the Changes sheet"
import sys, openpyxl
ws = openpyxl.load_workbook(sys.argv[1])["Changes"]
rows = [r for r in ws.iter_rows(values_only=True)]
text = [str(c) for r in rows for c in r if c is not None]
assert any(t.startswith("Segment migrations") for t in text), "no migration part"
revenue = [r for r in rows if r[0] == "Revenue"]
assert revenue and isinstance(revenue[0][1], (int, float)) and isinstance(revenue[0][2], (int, float)), revenue
assert revenue[0][1] != revenue[0][2], "the week's revenue did not change"
PY
  ;;
determinism)
  # Same input and settings: same run id, byte-identical report files.
  [ "$(run "$tmp/a" --data "$src/data/sample" --sheets all)" = 0 ] || fail "first run"
  [ "$(run "$tmp/b" --data "$src/data/sample" --sheets all --threads 1)" = 0 ] || fail "second run"
  a=$(realpath "$tmp/a/latest"); b=$(realpath "$tmp/b/latest")
  [ "$(basename "$a")" = "$(basename "$b")" ] || fail "run ids differ: $(basename "$a") $(basename "$b")"
  for f in report.pdf workbook.xlsx report.html recommendations.csv segments.csv model.bbrec; do
    cmp -s "$a/$f" "$b/$f" || fail "$f differs between identical runs (2 threads and 1)"
  done
  diff -r "$a/customers" "$b/customers" >/dev/null || fail "customer sheets differ between identical runs"
  # A rerun into the same output replaces its own run directory.
  [ "$(run "$tmp/a" --data "$src/data/sample" --sheets all)" = 0 ] || fail "rerun"
  [ "$(ls "$tmp/a/runs" | wc -l)" = 1 ] || fail "rerun left $(ls "$tmp/a/runs")"
  cmp -s "$a/report.pdf" "$b/report.pdf" || fail "rerun changed report.pdf"
  # Another seed is another run.
  [ "$(run "$tmp/a" --data "$src/data/sample" --seed 7)" = 0 ] || fail "run with --seed 7"
  [ "$(ls "$tmp/a/runs" | wc -l)" = 2 ] || fail "a different seed did not make a new run"
  ;;
check)
  "$bin" check --data "$src/data/sample" >"$tmp/console" 2>&1 || fail "check on data/sample"
  grep -q "usable" "$tmp/console" || fail "check does not say the data is usable"
  [ ! -e "$src/data/sample/quarantine" ] || fail "check wrote into the data directory"
  ;;
cli)
  "$bin" --version | grep -q '^bbreport [0-9]' || fail "--version"
  "$bin" --help | grep -q -- '--as-of' || fail "--help lists --as-of"
  "$bin" --help | grep -q 'default: 0.01' || fail "--help shows defaults"
  "$bin" run --print-config --seed 5 | grep -q '^seed = 5$' || fail "--print-config"
  "$bin" frobnicate >/dev/null 2>&1; [ $? = 64 ] || fail "unknown command exits 64"
  "$bin" >/dev/null 2>&1; [ $? = 64 ] || fail "no command exits 64"
  ;;
gen)
  "$bin" gen --customers 400 --items 60 --purchases 6000 --seed 11 --out "$tmp/data" >"$tmp/console" 2>&1 \
    || fail "gen"
  [ "$(run "$tmp/out" --data "$tmp/data")" = 0 ] || fail "run on generated data"
  $check "$(realpath "$tmp/out/latest")" --rejected 0 --purchases 6000 --customers 400 || exit 1
  ;;
lock)
  # A run holding the lock (stopped in its first stage): a second run exits at once with 75.
  BB_DEBUG_STOP_AT=ingest "$bin" run --data "$src/data/sample" --out "$tmp/out" >"$tmp/first" 2>&1 &
  first=$!
  wait_stopped "$first" || fail "the first run did not reach its first stage"
  start=$(date +%s%N)
  "$bin" run --data "$src/data/sample" --out "$tmp/out" >"$tmp/console" 2>&1
  code=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  kill -9 "$first"; wait "$first" 2>/dev/null
  [ "$code" = 75 ] || fail "the second run exited $code, expected 75"
  grep -q "another bbreport run" "$tmp/console" || fail "no message about the lock"
  echo "second run refused after $ms ms"
  # The lock dies with its holder: the next run goes through and clears the leftovers.
  [ "$(run "$tmp/out" --data "$src/data/sample")" = 0 ] || fail "run after the holder was killed"
  [ -z "$(ls -A "$tmp/out/runs" | grep '^\.')" ] || fail "leftover temporary directories: $(ls -A "$tmp/out/runs")"
  ;;
crash)
  # SIGKILL while the report is being written: latest still shows the previous complete run.
  [ "$(run "$tmp/out" --data "$src/data/sample")" = 0 ] || fail "first run"
  good=$(realpath "$tmp/out/latest")
  sums=$(cd "$good" && sha256sum report.pdf workbook.xlsx report.html manifest.json)
  for stage in charts pdf workbook html; do
    BB_DEBUG_STOP_AT=$stage "$bin" run --data "$src/data/sample" --out "$tmp/out" --seed 9 >"$tmp/console" 2>&1 &
    pid=$!
    wait_stopped "$pid" || fail "the run did not reach stage $stage"
    kill -9 "$pid"; wait "$pid" 2>/dev/null
    [ "$(realpath "$tmp/out/latest")" = "$good" ] || fail "latest moved after a kill in $stage"
    [ "$(cd "$good" && sha256sum report.pdf workbook.xlsx report.html manifest.json)" = "$sums" ] \
      || fail "the complete run changed after a kill in $stage"
    [ "$(ls "$tmp/out/runs" | wc -l)" = 1 ] || fail "a killed run was published: $(ls "$tmp/out/runs")"
  done
  $check "$good" --rejected 0 || exit 1
  [ "$(run "$tmp/out" --data "$src/data/sample" --seed 9)" = 0 ] || fail "run after the kills"
  [ "$(ls -A "$tmp/out/runs" | wc -l)" = 2 ] || fail "runs after recovery: $(ls -A "$tmp/out/runs")"
  ;;
retention)
  for seed in 1 2 3; do
    [ "$(run "$tmp/out" --data "$src/data/sample" --seed $seed --keep-runs 2)" = 0 ] || fail "run $seed"
    sleep 0.05
  done
  [ "$(ls "$tmp/out/runs" | wc -l)" = 2 ] || fail "kept $(ls "$tmp/out/runs" | wc -l) runs, expected 2"
  [ -f "$tmp/out/latest/report.pdf" ] || fail "latest was pruned"
  # A failed run goes to failed/ and leaves latest alone.
  latest=$(realpath "$tmp/out/latest")
  printf 'CustomerID,ItemID\n' > "$tmp/bad.csv"
  mkdir -p "$tmp/bad" && cp "$tmp/bad.csv" "$tmp/bad/purchases.csv"
  [ "$(run "$tmp/out" --data "$tmp/bad")" = 66 ] || fail "bad data did not fail with 66"
  [ "$(realpath "$tmp/out/latest")" = "$latest" ] || fail "a failed run moved latest"
  ls "$tmp/out/failed"/*/run.log >/dev/null 2>&1 || fail "the failed run kept no log"
  grep -q '"status":[[:space:]]*"failed"' "$tmp/out/failed"/*/manifest.json || fail "no failure manifest"
  ;;
*)
  echo "unknown case $case_name"; exit 2 ;;
esac
echo "ok: $case_name"
