#!/usr/bin/python3
"""k-means speed: bbreport's k-means against scikit-learn's KMeans on one matrix.

  /usr/bin/python3 scripts/bench_kmeans.py --bench build-bench/bb_kmeans_bench
        [--rows 1000000] [--cols 10] [--k 5] [--n-init 10] [--threads 0]
        [--matrix bench/kmeans_1000000x10.f64]

The matrix imitates standardized customer features: a mixture of 8 Gaussian
groups of different sizes and spreads in `cols` dimensions (fixed seed), then
z-scored per column. It is written once as raw float64 (row-major) and both
sides cluster the same bytes with k clusters and n_init restarts, greedy
k-means++ seeding, max_iter 300, tol 1e-4, every core. Times cover the
clustering only (not reading the file or importing Python modules).

Needs Debian's python3-numpy and python3-sklearn (so /usr/bin/python3, not
pyenv's python3). Prints one line per side and the speed ratio; exits 1 when
bbreport is slower or reaches a higher inertia than scikit-learn by more
than 0.1 %.
"""
import argparse
import os
import subprocess
import sys
import time


def make_matrix(path, rows, cols):
    import numpy as np

    rng = np.random.default_rng(20240601)
    groups = 8
    weights = rng.dirichlet(np.full(groups, 2.0))
    sizes = np.floor(weights * rows).astype(np.int64)
    sizes[0] += rows - sizes.sum()
    centres = rng.normal(0.0, 2.0, size=(groups, cols))
    spreads = rng.uniform(0.6, 1.6, size=groups)
    x = np.empty((rows, cols))
    at = 0
    for g in range(groups):
        x[at:at + sizes[g]] = centres[g] + spreads[g] * rng.standard_normal((sizes[g], cols))
        at += sizes[g]
    x = x[rng.permutation(rows)]
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    np.ascontiguousarray(x, dtype="<f8").tofile(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", required=True, help="path of the bb_kmeans_bench binary")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--cols", type=int, default=10)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--n-init", type=int, default=10)
    ap.add_argument("--threads", type=int, default=0, help="0: every core (both sides)")
    ap.add_argument("--matrix", help="matrix file (made when missing)")
    a = ap.parse_args()

    path = a.matrix or f"bench/kmeans_{a.rows}x{a.cols}.f64"
    if not os.path.exists(path) or os.path.getsize(path) != a.rows * a.cols * 8:
        print(f"== making a {a.rows:,} x {a.cols} matrix in {path}")
        make_matrix(path, a.rows, a.cols)

    cmd = [a.bench, path, str(a.rows), str(a.cols), "--k", str(a.k), "--n-init", str(a.n_init),
           "--threads", str(a.threads), "--seed", "0"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    c = dict(kv.split("=", 1) for kv in out.split())
    c_s, c_inertia = float(c["seconds"]), float(c["inertia"])
    print(f"   bbreport      {c_s:8.2f} s   inertia {c_inertia:.6e}   {c['n_iter']} iterations "
          f"(restart {c['best_init']}), {c['threads']} threads")

    import numpy as np
    from sklearn.cluster import KMeans
    import sklearn

    x = np.fromfile(path, dtype="<f8").reshape(a.rows, a.cols)
    if a.threads > 0:
        from threadpoolctl import threadpool_limits
        limit = threadpool_limits(limits=a.threads)
    t0 = time.perf_counter()
    km = KMeans(n_clusters=a.k, n_init=a.n_init, random_state=0).fit(x)
    py_s = time.perf_counter() - t0
    if a.threads > 0:
        limit.unregister()
    print(f"   scikit-learn  {py_s:8.2f} s   inertia {km.inertia_:.6e}   {km.n_iter_} iterations "
          f"(sklearn {sklearn.__version__}, {os.cpu_count()} cores)")
    ratio = py_s / c_s if c_s > 0 else float("inf")
    print(f"   bbreport is {ratio:.1f}x {'faster' if ratio >= 1 else 'slower'}; "
          f"inertia ratio {c_inertia / km.inertia_:.6f}")
    ok = c_s < py_s and c_inertia <= km.inertia_ * 1.001
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
