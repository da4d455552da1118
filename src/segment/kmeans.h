/*
 * kmeans.h - k-means clustering of a dense row-major matrix, scikit-learn's
 * algorithm with its distances computed through OpenBLAS.
 *
 * Layout: x is n rows of f doubles (x[i * f + d]); centres are k rows of f
 * doubles; labels are n int32 in [0, k).
 *
 * One restart is:
 *   1. greedy k-means++ seeding (Arthur & Vassilvitskii 2007, with the
 *      greedy variant of scikit-learn's _kmeans_plusplus): the first centre
 *      is a uniform draw; each next one is the best of 2 + floor(ln k)
 *      candidates drawn with probability proportional to D(x)^2, "best"
 *      meaning the lowest potential (sum of squared distances to the nearest
 *      centre) once it is added;
 *   2. Lloyd iterations. The assignment step takes the rows in chunks of
 *      KM_CHUNK (kmeans.c); one cblas_dgemm per chunk gives -2 x.c for every
 *      row and centre, and the nearest centre minimises |c|^2 - 2 x.c (the
 *      expansion of |x - c|^2 without the row's own |x|^2), ties to the lower
 *      index as numpy's argmin. The seeding's candidates are measured the same
 *      way, all of a step's candidates in one dgemm per chunk;
 *   3. scikit-learn's stopping rule: stop when no label changed ("strict"
 *      convergence) or when the squared centre shift summed over clusters
 *      is at most tol * mean(per-feature variance of x); if the loop ended
 *      without strict convergence, labels are refreshed against the final
 *      centres. The inertia is then summed from exact differences.
 *   Clusters left empty by an assignment step are re-seeded at the points
 *   farthest from their own centres (farthest first, ties by lower index),
 *   as scikit-learn's _relocate_empty_clusters does;
 *   4. Hartigan's refinement (Hartigan & Wong 1979; Telgarsky & Vattani,
 *      AISTATS 2010): single points move to another cluster when that
 *      lowers the inertia once both means are updated, until no single move
 *      does (or 20 passes). Lloyd's fixed points often admit such moves, so
 *      a restart ends lower than scikit-learn's Lloyd from the same seeds;
 *      a partition no move improves is also a Lloyd fixed point. This is why
 *      the same 10 restarts reach or beat scikit-learn's inertia reliably
 *      (tests/test_segment_sklearn.c). Passes after a full one look only at
 *      points that came close to moving (kmeans.c), and the refinement ends
 *      with a full pass that finds nothing left to move.
 *
 * Sums are accumulated in double, row by row in index order, so one restart
 * is a deterministic function of (x, k, seed, restart number).
 *
 * Restarts: restart r of k draws from bb_rng stream (k << 32 | r) of the
 * seed; the restart with the lowest inertia wins, ties to the lower r.
 * Restarts (and the k of a scan) are the jobs spread over threads
 * (segment/parallel.h), each job on one thread with OpenBLAS set to one
 * thread meanwhile, so the result is the same at any thread count.
 *
 * Measured on this project's 2-core machine (scripts/bench_kmeans.py,
 * 1M x 10, k = 5, 10 restarts): 2.6-3.2 s on both cores against 4.4-4.7 s
 * for scikit-learn 1.2's KMeans on the same matrix, with an inertia a little
 * lower. On one core both take about 4.3 s: the gain comes from running
 * whole restarts in parallel (no per-iteration synchronisation), and pays
 * for the refinement.
 *
 *     bb_kmeans_opts o;
 *     bb_kmeans_defaults(&o);
 *     bb_kmeans_result r;
 *     if (bb_kmeans_run(x, n, f, 5, &o, &r) == BB_OK) {
 *         ... r.labels[i], r.centers[j * f + d], r.inertia ...
 *         bb_kmeans_result_free(&r);
 *     }
 *
 * Memory: n doubles of |x|^2 per run; per worker thread 3 + floor(ln k) n
 * doubles (5 for k = 5..20), n labels and n bytes of scratch; per k of a
 * run, n labels for its best restart. About 56 MB per thread for 1M rows.
 */
#ifndef BB_KMEANS_H
#define BB_KMEANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/rng.h"

typedef struct bb_kmeans_opts {
    int n_init;     /* restarts (10) */
    int max_iter;   /* Lloyd iterations per restart (300) */
    double tol;     /* relative tolerance (1e-4), scikit-learn's meaning */
    uint64_t seed;  /* (42) */
    int threads;    /* 0: all cores */
} bb_kmeans_opts;

typedef struct bb_kmeans_result {
    int k;
    size_t n, f;
    double *centers;  /* k x f */
    int32_t *labels;  /* n */
    double inertia;   /* sum over points of the squared distance to their centre */
    int n_iter;       /* Lloyd iterations of the winning restart */
    int best_init;    /* which restart won */
    bool converged;   /* the winning restart stopped before max_iter */
} bb_kmeans_result;

void bb_kmeans_defaults(bb_kmeans_opts *o);

/* Clusters x into k groups (1 <= k <= n, f <= 256). BB_ERR_DATA when x holds a NaN or
 * infinity, BB_ERR_CONFIG for bad options or k, BB_ERR_NOMEM. On failure
 * *out is zeroed (nothing to free). */
bb_err bb_kmeans_run(const double *x, size_t n, size_t f, int k, const bb_kmeans_opts *o,
                     bb_kmeans_result *out);

/* The same for several k at once (a scan), all restarts of all k sharing the
 * threads: out[i] is the result for ks[i], identical to what bb_kmeans_run
 * gives for that k alone. On failure every out[i] is zeroed. */
bb_err bb_kmeans_run_many(const double *x, size_t n, size_t f, const int *ks, size_t nk,
                          const bb_kmeans_opts *o, bb_kmeans_result *out);

void bb_kmeans_result_free(bb_kmeans_result *r);

/* Building blocks of one restart, single-threaded, exposed for tests. */

/* tol * mean over columns of the population variance: the absolute bound
 * on the summed squared centre shift. f <= 256 (the first 256 columns
 * otherwise). */
double bb_kmeans_tolerance(const double *x, size_t n, size_t f, double tol);
/* Greedy k-means++: writes k centres (rows of x) into centers. */
bb_err bb_kmeans_seed(const double *x, size_t n, size_t f, int k, bb_rng *rng, double *centers);
/* Lloyd from the given centres (updated in place) until convergence or
 * max_iter; labels receives the assignment, *inertia its cost. No
 * refinement (see bb_kmeans_refine). */
bb_err bb_kmeans_lloyd(const double *x, size_t n, size_t f, int k, double *centers, int max_iter,
                       double tol_abs, int32_t *labels, double *inertia, int *n_iter,
                       bool *converged);

/* Hartigan's refinement of a partition (labels in/out, centres out as the
 * means), at most max_pass passes; *inertia the refined cost. */
bb_err bb_kmeans_refine(const double *x, size_t n, size_t f, int k, double *centers, int32_t *labels,
                        int max_pass, double *inertia);

/* Squared Euclidean distance between two rows of f doubles. */
static inline double bb_kmeans_dist_sq(const double *a, const double *b, size_t f)
{
    /* Two accumulators halve the dependency chain of the adds; the order is
     * fixed, so results stay bit-identical from run to run. */
    double s0 = 0.0, s1 = 0.0;
    size_t d = 0;
    for (; d + 1 < f; d += 2) {
        double t0 = a[d] - b[d], t1 = a[d + 1] - b[d + 1];
        s0 += t0 * t0;
        s1 += t1 * t1;
    }
    if (d < f) {
        double t = a[d] - b[d];
        s0 += t * t;
    }
    return s0 + s1;
}

#endif
