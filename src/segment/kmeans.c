/*
 * kmeans.c - seeding, Lloyd with chunked OpenBLAS distances, Hartigan's
 * refinement, restarts over threads.
 *
 * Per worker thread the scratch is a `km_work`: the seeding's nearest-centre
 * distances (n doubles, and as many again per candidate of a step: 3 for
 * k = 5, 4 up to k = 20), the labels (n int32), Hartigan's watch list (n
 * bytes), one chunk's dgemm output (KM_CHUNK x max(k, trials)) and k x f
 * sums and centres. |x_i|^2 is computed once per run and shared by all
 * restarts. Per k, a `km_best` keeps the winning restart: a finished restart
 * that beats it swaps its label buffer in (no copy), under a mutex.
 * Comparing by (inertia, restart number) is a total order, so the winner
 * does not depend on the order in which restarts finish.
 */
#include "segment/kmeans.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "segment/parallel.h"

#define KM_MAX_K 4096
/* Hartigan's refinement after Lloyd: passes at most (full and watch-list
 * passes together), and how close a move must come to paying off (its cost
 * over the cost of staying) for a row to be looked at again. Measured on
 * data/sample, the seed data and bench matrices: more passes or a wider
 * watch change the inertia by under 0.01 % and cost up to a third more. */
#define KM_HARTIGAN_PASSES 20
#define KM_WATCH 1.1
/* Rows per dgemm: a chunk of x (KM_CHUNK x f) and its distances stay in L2. */
#define KM_CHUNK 1024
/* Candidates per k-means++ step: 2 + floor(ln k) is 10 at k = 4096. */
#define KM_MAX_TRIALS 16
/* Candidate rows are copied to the stack for the dgemm: f at most this. */
#define KM_MAX_FEATURES_STACK 256

typedef struct km_work {
    size_t n;
    double *closest;   /* seeding: squared distance to the nearest centre so far */
    double *trial[KM_MAX_TRIALS]; /* seeding: the same once each candidate of a step is added */
    int32_t *labels;
    uint8_t *watch;    /* Hartigan: rows to look at again */
    double *dist;      /* KM_CHUNK x max(k, trials): one chunk's dgemm output */
    /* k x f and k sized, for the largest k of the run */
    double *sums, *next, *norms;
    int64_t *counts;
    double *centers;
} km_work;

static void work_free(km_work *w)
{
    if (!w)
        return;
    free(w->closest);
    for (int t = 0; t < KM_MAX_TRIALS; t++)
        free(w->trial[t]);
    free(w->labels);
    free(w->watch);
    free(w->dist);
    free(w->sums);
    free(w->next);
    free(w->norms);
    free(w->counts);
    free(w->centers);
    memset(w, 0, sizeof *w);
}

static int trials_for(int k)
{
    int t = 2 + (int)floor(log((double)k));
    return t > KM_MAX_TRIALS ? KM_MAX_TRIALS : t;
}

static bb_err work_init(km_work *w, size_t n, size_t f, int kmax)
{
    memset(w, 0, sizeof *w);
    size_t nn = n ? n : 1, kf = (size_t)kmax * (f ? f : 1);
    size_t cols = (size_t)(kmax > trials_for(kmax) ? kmax : trials_for(kmax));
    w->n = n;
    w->closest = malloc(nn * sizeof *w->closest);
    bool trials_ok = true;
    for (int t = 0; t < trials_for(kmax); t++) {
        w->trial[t] = malloc(nn * sizeof *w->trial[t]);
        trials_ok = trials_ok && w->trial[t];
    }
    w->labels = malloc(nn * sizeof *w->labels);
    w->watch = malloc(nn * sizeof *w->watch);
    w->dist = aligned_alloc(64, (KM_CHUNK * cols * sizeof *w->dist + 63) / 64 * 64);
    w->sums = malloc(kf * sizeof *w->sums);
    w->next = malloc(kf * sizeof *w->next);
    w->centers = malloc(kf * sizeof *w->centers);
    w->norms = malloc((size_t)kmax * sizeof *w->norms);
    w->counts = malloc((size_t)kmax * sizeof *w->counts);
    if (!w->closest || !trials_ok || !w->labels || !w->watch || !w->dist || !w->sums || !w->next || !w->centers || !w->norms ||
        !w->counts) {
        work_free(w);
        return BB_ERR_NOMEM;
    }
    return BB_OK;
}

void bb_kmeans_defaults(bb_kmeans_opts *o)
{
    *o = (bb_kmeans_opts){.n_init = 10, .max_iter = 300, .tol = 1e-4, .seed = 42, .threads = 0};
}

double bb_kmeans_tolerance(const double *x, size_t n, size_t f, double tol)
{
    if (n == 0 || f == 0)
        return 0.0;
    /* Two passes (mean, then squared deviations), row by row: x is
     * row-major, and a column walk would read all of it f times. */
    double mean[KM_MAX_FEATURES_STACK] = {0}, var[KM_MAX_FEATURES_STACK] = {0};
    size_t fc = f < KM_MAX_FEATURES_STACK ? f : KM_MAX_FEATURES_STACK;
    for (size_t i = 0; i < n; i++)
        for (size_t d = 0; d < fc; d++)
            mean[d] += x[i * f + d];
    for (size_t d = 0; d < fc; d++)
        mean[d] /= (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t d = 0; d < fc; d++) {
            double t = x[i * f + d] - mean[d];
            var[d] += t * t;
        }
    double total = 0.0;
    for (size_t d = 0; d < fc; d++)
        total += var[d] / (double)n;
    return total / (double)fc * tol;
}

static void row_norms(const double *x, size_t n, size_t f, double *out)
{
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (size_t d = 0; d < f; d++)
            s += x[i * f + d] * x[i * f + d];
        out[i] = s;
    }
}

/* dist[r * cols + j] = -2 x_(i0+r) . c_j for a chunk of m rows (OpenBLAS). */
static void chunk_dots(const double *x, size_t i0, size_t m, size_t f, const double *c, int cols, double *dist)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)m, (blasint)cols, (blasint)f, -2.0,
                x + i0 * f, (blasint)f, c, (blasint)f, 0.0, dist, (blasint)cols);
}

/* ---- seeding ---------------------------------------------------------- */

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* Squared distances from every row to centre c (a row of f doubles), from
 * exact differences (one centre: a dgemm would spend its time packing x),
 * folded into closest by min; returns the new potential (sum of closest),
 * summed in row order. */
static double fold_centre(km_work *w, const double *x, size_t n, size_t f, const double *c)
{
    double pot = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = bb_kmeans_dist_sq(x + i * f, c, f);
        double *cl = &w->closest[i];
        if (d < *cl)
            *cl = d;
        pot += *cl;
    }
    return pot;
}

/* Greedy k-means++ (scikit-learn's _kmeans_plusplus). Candidates are found
 * as numpy.searchsorted(cumsum(closest), u * potential) would: the first
 * row whose running sum reaches the draw, clipped to n - 1; the draws of a
 * step are sorted so that one pass over the running sum serves them all.
 * The candidates' distances come from one dgemm per chunk for all of them,
 * each kept (folded with closest) in its own array; the winner's array
 * becomes closest, so a step reads x once. */
static void seed_pp(km_work *w, const double *x, const double *xnorm, size_t n, size_t f, int k, bb_rng *rng,
                    double *centers)
{
    int trials = trials_for(k);
    size_t first = (size_t)bb_rng_below(rng, n);
    memcpy(centers, x + first * f, f * sizeof *centers);
    for (size_t i = 0; i < n; i++)
        w->closest[i] = INFINITY;
    double pot = fold_centre(w, x, n, f, centers);
    for (int c = 1; c < k; c++) {
        double draw[KM_MAX_TRIALS], cand[KM_MAX_TRIALS * KM_MAX_FEATURES_STACK], cn[KM_MAX_TRIALS],
            cpot[KM_MAX_TRIALS];
        size_t cand_id[KM_MAX_TRIALS] = {0};
        for (int t = 0; t < trials; t++)
            draw[t] = bb_rng_uniform(rng) * pot;
        qsort(draw, (size_t)trials, sizeof draw[0], cmp_double);
        double run = 0.0;
        int t = 0;
        for (size_t i = 0; i < n && t < trials; i++) {
            run += w->closest[i];
            while (t < trials && run >= draw[t])
                cand_id[t++] = i;
        }
        for (; t < trials; t++)
            cand_id[t] = n - 1;
        for (t = 0; t < trials; t++) {
            memcpy(cand + (size_t)t * f, x + cand_id[t] * f, f * sizeof *cand);
            cn[t] = xnorm[cand_id[t]];
            cpot[t] = 0.0;
        }
        for (size_t i0 = 0; i0 < n; i0 += KM_CHUNK) {
            size_t m = n - i0 < KM_CHUNK ? n - i0 : KM_CHUNK;
            chunk_dots(x, i0, m, f, cand, trials, w->dist);
            for (size_t r = 0; r < m; r++) {
                const double *row = w->dist + r * (size_t)trials;
                double cl = w->closest[i0 + r], xn = xnorm[i0 + r];
                for (t = 0; t < trials; t++) {
                    double d = xn + cn[t] + row[t];
                    d = d > 0.0 ? d : 0.0;
                    d = d < cl ? d : cl;
                    w->trial[t][i0 + r] = d;
                    cpot[t] += d;
                }
            }
        }
        /* Ties in potential go to the first candidate in draw order. */
        int best = 0;
        for (t = 1; t < trials; t++)
            if (cpot[t] < cpot[best])
                best = t;
        memcpy(centers + (size_t)c * f, cand + (size_t)best * f, f * sizeof *centers);
        double *tmp = w->closest;
        w->closest = w->trial[best];
        w->trial[best] = tmp;
        pot = cpot[best];
    }
}

bb_err bb_kmeans_seed(const double *x, size_t n, size_t f, int k, bb_rng *rng, double *centers)
{
    if (k < 1 || (size_t)k > n || k > KM_MAX_K || f == 0 || f > KM_MAX_FEATURES_STACK)
        return BB_ERR_CONFIG;
    km_work w;
    bb_err e = work_init(&w, n, f, k);
    double *xnorm = malloc(n * sizeof *xnorm);
    if (e == BB_OK && !xnorm)
        e = BB_ERR_NOMEM;
    if (e == BB_OK) {
        row_norms(x, n, f, xnorm);
        seed_pp(&w, x, xnorm, n, f, k, rng, centers);
    }
    free(xnorm);
    work_free(&w);
    return e;
}

/* ---- Lloyd ------------------------------------------------------------- */

static inline void add_row(double *sum, const double *xi, size_t f)
{
    for (size_t d = 0; d < f; d++)
        sum[d] += xi[d];
}

/* One assignment step: each row to its nearest centre by |c|^2 - 2 x.c (|x|^2
 * is the same for every centre), ties to the lower index as numpy's argmin;
 * sums and counts get each row. Returns how many labels changed. */
static size_t assign_step(km_work *w, const double *x, size_t n, size_t f, int k, const double *centers,
                          bool first)
{
    double *sums = w->sums, *cn = w->norms;
    int64_t *counts = w->counts;
    int32_t *labels = w->labels;
    size_t changed = 0;
    memset(sums, 0, (size_t)k * f * sizeof *sums);
    memset(counts, 0, (size_t)k * sizeof *counts);
    for (int j = 0; j < k; j++) {
        double s = 0.0;
        for (size_t d = 0; d < f; d++)
            s += centers[(size_t)j * f + d] * centers[(size_t)j * f + d];
        cn[j] = s;
    }
    for (size_t i0 = 0; i0 < n; i0 += KM_CHUNK) {
        size_t m = n - i0 < KM_CHUNK ? n - i0 : KM_CHUNK;
        chunk_dots(x, i0, m, f, centers, k, w->dist);
        for (size_t r = 0; r < m; r++) {
            const double *row = w->dist + r * (size_t)k;
            int32_t best = 0;
            double bd = row[0] + cn[0];
            /* Written as selects, not branches: labels near a boundary
             * would make the branch unpredictable. */
            for (int j = 1; j < k; j++) {
                double d = row[j] + cn[j];
                bool lt = d < bd;
                bd = lt ? d : bd;
                best = lt ? j : best;
            }
            size_t i = i0 + r;
            if (first || labels[i] != best) {
                labels[i] = best;
                changed++;
            }
            add_row(sums + (size_t)best * f, x + i * f, f);
            counts[best]++;
        }
    }
    return changed;
}

/* scikit-learn's _relocate_empty_clusters_dense: each empty cluster takes
 * one of the points farthest from their current centre (farthest first,
 * ties to the lower index), which leaves its old cluster's sums. Labels are
 * not changed here: the next assignment step moves the point. */
static void relocate_empty(km_work *w, const double *x, size_t n, size_t f, int k, const double *centers)
{
    double *sums = w->sums;
    int64_t *counts = w->counts;
    int empty[KM_MAX_K];
    int n_empty = 0;
    for (int j = 0; j < k; j++)
        if (counts[j] == 0)
            empty[n_empty++] = j;
    if (n_empty == 0)
        return;
    /* The n_empty largest distances, kept sorted (distance desc, index asc). */
    size_t far[KM_MAX_K];
    double far_d[KM_MAX_K];
    int kept = 0;
    for (size_t i = 0; i < n; i++) {
        double d = bb_kmeans_dist_sq(x + i * f, centers + (size_t)w->labels[i] * f, f);
        if (kept == n_empty && !(d > far_d[kept - 1]))
            continue;
        int pos = kept < n_empty ? kept++ : n_empty - 1;
        while (pos > 0 && d > far_d[pos - 1]) {
            far_d[pos] = far_d[pos - 1];
            far[pos] = far[pos - 1];
            pos--;
        }
        far_d[pos] = d;
        far[pos] = i;
    }
    for (int e = 0; e < kept; e++) {
        int j = empty[e];
        const double *xi = x + far[e] * f;
        int32_t old = w->labels[far[e]];
        for (size_t d = 0; d < f; d++) {
            sums[(size_t)old * f + d] -= xi[d];
            sums[(size_t)j * f + d] = xi[d];
        }
        counts[old]--;
        counts[j] = 1;
    }
}

/* Sums, counts and centres (the means) from the labels, in row order. */
static void means_from_labels(km_work *w, const double *x, size_t n, size_t f, int k, double *centers)
{
    memset(w->sums, 0, (size_t)k * f * sizeof *w->sums);
    memset(w->counts, 0, (size_t)k * sizeof *w->counts);
    for (size_t i = 0; i < n; i++) {
        add_row(w->sums + (size_t)w->labels[i] * f, x + i * f, f);
        w->counts[w->labels[i]]++;
    }
    for (int j = 0; j < k; j++)
        if (w->counts[j] > 0)
            for (size_t d = 0; d < f; d++)
                centers[(size_t)j * f + d] = w->sums[(size_t)j * f + d] / (double)w->counts[j];
}

/* Moves row i from its cluster to a better one if that lowers the inertia;
 * leave and join are the candidates' costs from (maybe approximate)
 * distances. Confirmed with exact differences first, and with a relative
 * margin so that rounding cannot move a point back and forth. */
static bool hartigan_move(km_work *w, const double *xi, size_t i, size_t f, int32_t best, double *centers)
{
    int32_t a = w->labels[i];
    int64_t na = w->counts[a], nb = w->counts[best];
    double leave = bb_kmeans_dist_sq(xi, centers + (size_t)a * f, f) * (double)na / (double)(na - 1);
    double join = bb_kmeans_dist_sq(xi, centers + (size_t)best * f, f) * (double)nb / (double)(nb + 1);
    if (!(join < leave * (1.0 - 1e-12)))
        return false;
    double *sa = w->sums + (size_t)a * f, *sb = w->sums + (size_t)best * f;
    double *ca = centers + (size_t)a * f, *cb = centers + (size_t)best * f;
    w->counts[a]--;
    w->counts[best]++;
    for (size_t d = 0; d < f; d++) {
        sa[d] -= xi[d];
        sb[d] += xi[d];
        ca[d] = sa[d] / (double)w->counts[a];
        cb[d] = sb[d] / (double)w->counts[best];
    }
    w->labels[i] = best;
    return true;
}

/* Hartigan's refinement (Hartigan & Wong 1979; Telgarsky & Vattani,
 * "Hartigan's method: k-means clustering without Voronoi", AISTATS 2010):
 * a point leaves cluster a for b when that lowers the inertia, i.e. when
 * n_b / (n_b + 1) |x - c_b|^2 < n_a / (n_a - 1) |x - c_a|^2, and both means
 * move at once. Lloyd stops at partitions where every point is nearest its
 * own mean; many of them still admit such moves, so this finds lower
 * inertia from the same seeds. A partition no move improves is also one
 * Lloyd would keep.
 *
 * A full pass looks at every row, chunk by chunk, with one dgemm per chunk
 * against the centres as they were at the chunk's start (a centre that a
 * move has changed since is measured directly). Rows whose best move came
 * within KM_WATCH of paying off go on a watch list, and the passes after it
 * look at those rows only, with direct distances, until one makes no move.
 * Then a full pass again: the refinement ends when a full pass makes no
 * move, so the result is stable under every single move, or after max_pass
 * passes of either kind, with every move made so far still a gain. The means move little once Lloyd has converged,
 * so most passes are cheap watch-list passes. The means are recomputed from
 * the labels at the end so that rounding in the running sums cannot build
 * up. */
static size_t hartigan_full_pass(km_work *w, const double *x, const double *xnorm, size_t n, size_t f, int k,
                                 double *centers, size_t *watched)
{
    bool dirty[KM_MAX_K];
    double *cn = w->norms;
    size_t moves = 0;
    *watched = 0;
    for (size_t i0 = 0; i0 < n; i0 += KM_CHUNK) {
        size_t m = n - i0 < KM_CHUNK ? n - i0 : KM_CHUNK;
        for (int j = 0; j < k; j++) {
            double s = 0.0;
            for (size_t d = 0; d < f; d++)
                s += centers[(size_t)j * f + d] * centers[(size_t)j * f + d];
            cn[j] = s;
            dirty[j] = false;
        }
        chunk_dots(x, i0, m, f, centers, k, w->dist);
        for (size_t r = 0; r < m; r++) {
            size_t i = i0 + r;
            const double *xi = x + i * f, *row = w->dist + r * (size_t)k;
            int32_t a = w->labels[i];
            int64_t na = w->counts[a];
            w->watch[i] = 0;
            if (na <= 1)
                continue;
            double leave = dirty[a] ? bb_kmeans_dist_sq(xi, centers + (size_t)a * f, f)
                                    : xnorm[i] + cn[a] + row[a];
            leave *= (double)na / (double)(na - 1);
            double best_cost = INFINITY;
            int32_t best = -1;
            for (int32_t b = 0; b < k; b++) {
                if (b == a)
                    continue;
                double d = dirty[b] ? bb_kmeans_dist_sq(xi, centers + (size_t)b * f, f)
                                    : xnorm[i] + cn[b] + row[b];
                int64_t nb = w->counts[b];
                double join = (d > 0.0 ? d : 0.0) * (double)nb / (double)(nb + 1);
                if (join < best_cost) {
                    best_cost = join;
                    best = b;
                }
            }
            if (best < 0 || best_cost >= leave * KM_WATCH)
                continue;
            w->watch[i] = 1;
            (*watched)++;
            if (best_cost < leave && hartigan_move(w, xi, i, f, best, centers)) {
                dirty[a] = dirty[best] = true;
                moves++;
            }
        }
    }
    return moves;
}

static size_t hartigan_watch_pass(km_work *w, const double *x, size_t n, size_t f, int k, double *centers)
{
    size_t moves = 0;
    for (size_t i = 0; i < n; i++) {
        if (!w->watch[i])
            continue;
        const double *xi = x + i * f;
        int32_t a = w->labels[i];
        int64_t na = w->counts[a];
        if (na <= 1)
            continue;
        double leave = bb_kmeans_dist_sq(xi, centers + (size_t)a * f, f) * (double)na / (double)(na - 1);
        double best_cost = leave;
        int32_t best = -1;
        for (int32_t b = 0; b < k; b++) {
            if (b == a)
                continue;
            int64_t nb = w->counts[b];
            double join = bb_kmeans_dist_sq(xi, centers + (size_t)b * f, f) * (double)nb / (double)(nb + 1);
            if (join < best_cost) {
                best_cost = join;
                best = b;
            }
        }
        if (best >= 0 && hartigan_move(w, xi, i, f, best, centers))
            moves++;
    }
    return moves;
}

static void hartigan(km_work *w, const double *x, const double *xnorm, size_t n, size_t f, int k,
                     double *centers, int max_pass)
{
    means_from_labels(w, x, n, f, k, centers);
    if (k < 2)
        return;
    int pass = 0;
    while (pass < max_pass) {
        size_t watched;
        pass++;
        if (hartigan_full_pass(w, x, xnorm, n, f, k, centers, &watched) == 0)
            break;
        while (pass < max_pass && watched > 0) {
            pass++;
            if (hartigan_watch_pass(w, x, n, f, k, centers) == 0)
                break;
        }
    }
    means_from_labels(w, x, n, f, k, centers);
}

/* Sum of squared distances of every row to its centre, from exact
 * differences, in row order. */
static double exact_inertia(const km_work *w, const double *x, size_t n, size_t f, const double *centers)
{
    double cost = 0.0;
    for (size_t i = 0; i < n; i++)
        cost += bb_kmeans_dist_sq(x + i * f, centers + (size_t)w->labels[i] * f, f);
    return cost;
}

/* Lloyd iterations from centers (in/out), labels into w->labels. */
static void lloyd(km_work *w, const double *x, const double *xnorm, size_t n, size_t f, int k, double *centers,
                  int max_iter, bool refine, double tol_abs, double *inertia, int *n_iter, bool *converged)
{
    bool strict = false, stopped = false;
    int it;
    for (it = 0; it < max_iter; it++) {
        size_t changed = assign_step(w, x, n, f, k, centers, it == 0);
        relocate_empty(w, x, n, f, k, centers);
        double shift = 0.0;
        for (int j = 0; j < k; j++) {
            double *c = w->next + (size_t)j * f;
            const double *old = centers + (size_t)j * f;
            if (w->counts[j] > 0) {
                double inv = 1.0 / (double)w->counts[j];
                for (size_t d = 0; d < f; d++)
                    c[d] = w->sums[(size_t)j * f + d] * inv;
            } else {
                memcpy(c, old, f * sizeof *c);
            }
            shift += bb_kmeans_dist_sq(c, old, f);
        }
        memcpy(centers, w->next, (size_t)k * f * sizeof *centers);
        if (it > 0 && changed == 0) {
            strict = true;
            stopped = true;
            break;
        }
        if (shift <= tol_abs) {
            stopped = true;
            break;
        }
    }
    *n_iter = it < max_iter ? it + 1 : max_iter;
    *converged = stopped;
    /* Labels that match the final centres. */
    if (!strict)
        assign_step(w, x, n, f, k, centers, false);
    if (refine)
        hartigan(w, x, xnorm, n, f, k, centers, KM_HARTIGAN_PASSES);
    *inertia = exact_inertia(w, x, n, f, centers);
}

bb_err bb_kmeans_lloyd(const double *x, size_t n, size_t f, int k, double *centers, int max_iter,
                       double tol_abs, int32_t *labels, double *inertia, int *n_iter, bool *converged)
{
    if (k < 1 || (size_t)k > n || k > KM_MAX_K || f == 0 || f > KM_MAX_FEATURES_STACK || max_iter < 1)
        return BB_ERR_CONFIG;
    km_work w;
    bb_err e = work_init(&w, n, f, k);
    double *xnorm = malloc(n * sizeof *xnorm);
    if (e == BB_OK && !xnorm)
        e = BB_ERR_NOMEM;
    if (e == BB_OK) {
        row_norms(x, n, f, xnorm);
        lloyd(&w, x, xnorm, n, f, k, centers, max_iter, false, tol_abs, inertia, n_iter, converged);
        memcpy(labels, w.labels, n * sizeof *labels);
    }
    free(xnorm);
    work_free(&w);
    return e;
}

bb_err bb_kmeans_refine(const double *x, size_t n, size_t f, int k, double *centers, int32_t *labels,
                        int max_pass, double *inertia)
{
    if (k < 1 || (size_t)k > n || k > KM_MAX_K || f == 0 || f > KM_MAX_FEATURES_STACK || max_pass < 1)
        return BB_ERR_CONFIG;
    km_work w;
    bb_err e = work_init(&w, n, f, k);
    double *xnorm = malloc(n * sizeof *xnorm);
    if (e == BB_OK && !xnorm)
        e = BB_ERR_NOMEM;
    if (e == BB_OK) {
        row_norms(x, n, f, xnorm);
        memcpy(w.labels, labels, n * sizeof *labels);
        hartigan(&w, x, xnorm, n, f, k, centers, max_pass);
        memcpy(labels, w.labels, n * sizeof *labels);
        *inertia = exact_inertia(&w, x, n, f, centers);
    }
    free(xnorm);
    work_free(&w);
    return e;
}

/* ---- restarts over threads -------------------------------------------- */

typedef struct km_best {
    int k;
    double inertia;
    int init;
    int n_iter;
    bool converged;
    int32_t *labels;
    double *centers;
} km_best;

typedef struct km_run {
    const double *x;
    size_t n, f;
    const bb_kmeans_opts *o;
    double tol_abs;
    const double *xnorm; /* |x_i|^2, shared by every restart's seeding */
    km_best *best;     /* per k */
    size_t *job_k;     /* job -> index into best */
    int *job_init;     /* job -> restart number */
    km_work *work;     /* per worker */
    pthread_mutex_t lock;
} km_run;

static void restart_job(void *ctx, size_t job, int worker)
{
    km_run *run = ctx;
    km_work *w = &run->work[worker];
    km_best *b = &run->best[run->job_k[job]];
    int init = run->job_init[job];
    bb_rng rng;
    bb_rng_seed(&rng, run->o->seed, ((uint64_t)(uint32_t)b->k << 32) | (uint32_t)init);
    seed_pp(w, run->x, run->xnorm, run->n, run->f, b->k, &rng, w->centers);
    double inertia;
    int n_iter;
    bool converged;
    lloyd(w, run->x, run->xnorm, run->n, run->f, b->k, w->centers, run->o->max_iter, true, run->tol_abs, &inertia,
          &n_iter, &converged);
    pthread_mutex_lock(&run->lock);
    if (b->init < 0 || inertia < b->inertia || (inertia == b->inertia && init < b->init)) {
        int32_t *tmp = b->labels;
        b->labels = w->labels;
        w->labels = tmp;
        memcpy(b->centers, w->centers, (size_t)b->k * run->f * sizeof *b->centers);
        b->inertia = inertia;
        b->init = init;
        b->n_iter = n_iter;
        b->converged = converged;
    }
    pthread_mutex_unlock(&run->lock);
}

bb_err bb_kmeans_run_many(const double *x, size_t n, size_t f, const int *ks, size_t nk,
                          const bb_kmeans_opts *o, bb_kmeans_result *out)
{
    memset(out, 0, nk * sizeof *out);
    if (nk == 0)
        return BB_OK;
    if (!o || o->n_init < 1 || o->max_iter < 1 || !(o->tol >= 0.0) || f == 0 || n == 0 ||
        f > KM_MAX_FEATURES_STACK)
        return BB_ERR_CONFIG;
    int kmax = 0;
    for (size_t i = 0; i < nk; i++) {
        if (ks[i] < 1 || (size_t)ks[i] > n || ks[i] > KM_MAX_K)
            return BB_ERR_CONFIG;
        if (ks[i] > kmax)
            kmax = ks[i];
    }
    for (size_t i = 0; i < n * f; i++)
        if (!isfinite(x[i]))
            return BB_ERR_DATA;

    size_t njobs = nk * (size_t)o->n_init;
    int threads = bb_par_threads(o->threads, njobs);
    km_run run = {.x = x, .n = n, .f = f, .o = o, .tol_abs = bb_kmeans_tolerance(x, n, f, o->tol)};
    run.best = calloc(nk, sizeof *run.best);
    run.job_k = malloc(njobs * sizeof *run.job_k);
    run.job_init = malloc(njobs * sizeof *run.job_init);
    run.work = calloc((size_t)threads, sizeof *run.work);
    double *xnorm = malloc(n * sizeof *xnorm);
    bb_err e = run.best && run.job_k && run.job_init && run.work && xnorm ? BB_OK : BB_ERR_NOMEM;
    if (e == BB_OK)
        row_norms(x, n, f, xnorm);
    run.xnorm = xnorm;
    for (size_t i = 0; i < nk && e == BB_OK; i++) {
        km_best *b = &run.best[i];
        b->k = ks[i];
        b->inertia = INFINITY;
        b->init = -1;
        b->labels = malloc(n * sizeof *b->labels);
        b->centers = malloc((size_t)ks[i] * f * sizeof *b->centers);
        if (!b->labels || !b->centers)
            e = BB_ERR_NOMEM;
    }
    for (int t = 0; t < threads && e == BB_OK; t++)
        e = work_init(&run.work[t], n, f, kmax);
    if (e != BB_OK)
        goto done;
    /* Larger k first: they take longest, and the pool balances better. */
    size_t *order = malloc(nk * sizeof *order);
    if (!order) {
        e = BB_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < nk; i++)
        order[i] = i;
    for (size_t i = 1; i < nk; i++)
        for (size_t j = i; j > 0 && ks[order[j]] > ks[order[j - 1]]; j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    size_t job = 0;
    for (size_t i = 0; i < nk; i++)
        for (int r = 0; r < o->n_init; r++, job++) {
            run.job_k[job] = order[i];
            run.job_init[job] = r;
        }
    free(order);
    pthread_mutex_init(&run.lock, NULL);
    /* Each restart runs on one thread; OpenBLAS must not add its own. */
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    e = bb_par_for(threads, njobs, restart_job, &run);
    openblas_set_num_threads(blas_threads);
    pthread_mutex_destroy(&run.lock);
    if (e != BB_OK)
        goto done;
    for (size_t i = 0; i < nk; i++) {
        km_best *b = &run.best[i];
        out[i] = (bb_kmeans_result){.k = b->k, .n = n, .f = f, .centers = b->centers,
                                    .labels = b->labels, .inertia = b->inertia, .n_iter = b->n_iter,
                                    .best_init = b->init, .converged = b->converged};
        b->labels = NULL;
        b->centers = NULL;
    }
done:
    for (size_t i = 0; run.best && i < nk; i++) {
        free(run.best[i].labels);
        free(run.best[i].centers);
    }
    for (int t = 0; run.work && t < threads; t++)
        work_free(&run.work[t]);
    free(run.best);
    free(run.job_k);
    free(run.job_init);
    free(run.work);
    free(xnorm);
    if (e != BB_OK)
        memset(out, 0, nk * sizeof *out);
    return e;
}

bb_err bb_kmeans_run(const double *x, size_t n, size_t f, int k, const bb_kmeans_opts *o,
                     bb_kmeans_result *out)
{
    return bb_kmeans_run_many(x, n, f, &k, 1, o, out);
}

void bb_kmeans_result_free(bb_kmeans_result *r)
{
    if (!r)
        return;
    free(r->centers);
    free(r->labels);
    memset(r, 0, sizeof *r);
}
