#!/usr/bin/env bash
# Benchmark: generates datasets at fixed scales, runs bbreport on each and
# prints per-stage wall time, purchase rows per second and peak memory, read
# from the run's manifest and from /usr/bin/time.
#
#   scripts/bench.sh            scales S and M
#   scripts/bench.sh --large    S, M and L (1M customers, 20M purchases)
#   scripts/bench.sh S          one scale
#
# Scales (customers / items / purchases):
#   S 10,000 / 500 / 200,000     M 100,000 / 2,000 / 2,000,000     L 1,000,000 / 5,000 / 20,000,000
# Targets: the Python stack bbreport replaces needs 8.5 s and 680 MB at S and
# 416 s and 7 GB at M on a 2-core machine; bbreport is to be at least 20x
# faster, and under 5 minutes and 3 GB at L. Datasets are kept in
# bench/data/<scale> (ignored by git) and reused.
set -euo pipefail
cd "$(dirname "$0")/.."

scales=()
for a in "$@"; do
  case "$a" in
    --large) scales=(S M L) ;;
    S|M|L) scales+=("$a") ;;
    *) echo "usage: $0 [--large] [S|M|L ...]" >&2; exit 64 ;;
  esac
done
[ ${#scales[@]} -gt 0 ] || scales=(S M)

scripts/deps.sh build
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build-bench -j"$(nproc)" --target bbreport bb_kmeans_bench bb_ae_bench >/dev/null
bin=build-bench/bbreport

declare -A C=([S]=10000 [M]=100000 [L]=1000000)
declare -A I=([S]=500 [M]=2000 [L]=5000)
declare -A P=([S]=200000 [M]=2000000 [L]=20000000)
declare -A PY_S=([S]=8.5 [M]=416)
declare -A PY_MB=([S]=680 [M]=7000)

for s in "${scales[@]}"; do
  data=bench/data/$s
  if [ ! -f "$data/purchases.csv" ]; then
    echo "== generating scale $s (${C[$s]} customers, ${I[$s]} items, ${P[$s]} purchases)"
    /usr/bin/time -f "   gen: %e s, %M KiB peak" "$bin" gen --customers "${C[$s]}" --items "${I[$s]}" \
      --purchases "${P[$s]}" --seed 1 --out "$data" >/dev/null
  fi
  out=bench/out/$s
  rm -rf "$out"
  echo "== scale $s: $(du -sh "$data" | cut -f1) of input"
  # Customer sheets are timed on their own below (the targets leave them aside).
  /usr/bin/time -f "%e %M" -o bench/time.txt "$bin" run --data "$data" --out "$out" --quiet --sheets none >/dev/null
  read -r wall rss_kb < bench/time.txt
  /usr/bin/python3 - "$out/latest/manifest.json" "$wall" "$rss_kb" "${PY_S[$s]:-}" "${PY_MB[$s]:-}" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
wall, rss_kb = float(sys.argv[2]), int(sys.argv[3])
rows = m["counts"]["purchases"]
print(f"   {'stage':<12}{'wall s':>9}{'rows/s':>15}{'peak RSS MiB':>15}")
for st in m["stages"]:
    sec = st["wall_ms"] / 1000
    rate = f"{rows / sec:,.0f}" if sec > 0 else "-"
    print(f"   {st['name']:<12}{sec:>9.3f}{rate:>15}{st['peak_rss_kb'] / 1024:>15.1f}")
print(f"   {'total':<12}{wall:>9.2f}{rows / wall:>15,.0f}{rss_kb / 1024:>15.1f}")
for st in m["stages"]:
    if st["name"] == "analytics" and rows:
        sec = st["wall_ms"] / 1000
        print(f"   analytics: {sec / (rows / 1e6) * 1000:.0f} ms per million purchase rows "
              f"({sec / wall:.1%} of the run)")
if sys.argv[4]:
    py_s, py_mb = float(sys.argv[4]), float(sys.argv[5])
    print(f"   the stages above vs. the Python stack's full analysis ({py_s:g} s, {py_mb:g} MB, no report): "
          f"{py_s / wall:.1f}x faster, {py_mb / (rss_kb / 1024):.1f}x less memory; target: 20x faster")
PY
done

# The benchmark programs get the BLAS kernels bbreport itself chooses (it
# restarts with OPENBLAS_CORETYPE=SkylakeX on AVX-512 CPUs OpenBLAS misdetects).
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -q ' avx512f ' /proc/cpuinfo && grep -q ' avx512bw ' /proc/cpuinfo \
   && grep -q ' avx512dq ' /proc/cpuinfo && grep -q ' avx512vl ' /proc/cpuinfo; then
  export OPENBLAS_CORETYPE=SkylakeX
fi

# The recommender's training at scale M against this machine's sgemm peak, and
# customer sheets per second.
if [ -f bench/data/M/purchases.csv ]; then
  echo "== autoencoder training at scale M (time per epoch, GFLOP/s, sgemm peak)"
  build-bench/bb_ae_bench --data bench/data/M --epochs 3 --sheets 200
fi

# k-means: 1M customers x 10 features, k = 5, n_init = 10, beside scikit-learn.
if /usr/bin/python3 -c "import sklearn" 2>/dev/null; then
  echo "== k-means 1M x 10, k = 5, n_init = 10: bbreport and scikit-learn on the same matrix"
  /usr/bin/python3 scripts/bench_kmeans.py --bench build-bench/bb_kmeans_bench --matrix bench/kmeans_1000000x10.f64
else
  echo "== k-means comparison skipped: /usr/bin/python3 has no scikit-learn (apt-get install python3-sklearn)"
fi
