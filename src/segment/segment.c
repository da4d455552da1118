/*
 * segment.c - the segmentation stage: features, the k scan, the chosen
 * k's segments named and profiled, PCA, and the files the run keeps.
 *
 * Working data of bb_segment_run(): z (n_rows x n_dims) holds the
 * standardized features of the customers with purchases, rows[r] the
 * customer id of row r (ascending). The k-means results come back per k
 * with labels over rows; the configured k's clusters are then renumbered
 * into value order (segment/naming.h), and everything per customer is
 * indexed by customer id from there on.
 */
#include "segment/segment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest/csv.h"
#include "segment/kmeans.h"
#include "segment/pca.h"
#include "segment/quality.h"
#include "util/buf.h"
#include "util/csvw.h"
#include "util/fs.h"

/* bb_rng streams of the seed for the samples (k-means restarts use
 * streams k << 32 | restart, which never collide with these). */
#define STREAM_SILHOUETTE 0x5115u
#define STREAM_PCA 0x9ca0u
#define STREAM_SCAN 0x5ca7u

void bb_segment_defaults(bb_segment_opts *o)
{
    *o = (bb_segment_opts){
        .k = 5,
        .k_min = 2,
        .k_max = 10,
        .n_init = 10,
        .max_iter = 300,
        .tol = 1e-4,
        .seed = 42,
        .threads = 0,
        .silhouette_sample = 10000,
        .scan_sample = 10000,
        .features = NULL,
        .log_features = NULL,
    };
}

static void profile_free(bb_seg_profile *p)
{
    free(p->gender);
    p->gender = NULL;
}

void bb_segmentation_free(bb_segmentation *s)
{
    if (!s)
        return;
    for (int j = 0; s->segments && j < s->k; j++)
        profile_free(&s->segments[j]);
    profile_free(&s->none);
    free(s->segments);
    free(s->features);
    free(s->segment);
    free(s->distance);
    free(s->centroids);
    free(s->scan);
    free(s->point_x);
    free(s->point_y);
    free(s->point_segment);
    free(s->point_customer);
    free(s->centroid_x);
    free(s->centroid_y);
    if (s->migrations)
        free(s->migrations->counts);
    free(s->migrations);
    free(s);
}

const char *bb_segment_name(const bb_segmentation *s, int32_t seg)
{
    if (seg >= 0 && seg < s->k)
        return s->segments[seg].name;
    return BB_NAMING_NONE;
}

static bb_err check_opts(const bb_segment_opts *o, bb_log *log)
{
    const char *bad = NULL;
    if (o->k < 1 || o->k > BB_SEG_MAX_K)
        bad = "k must be between 1 and 20";
    else if (o->k_min < 2 || o->k_max < o->k_min || o->k_max > BB_SEG_MAX_K)
        bad = "the k scan must satisfy 2 <= k_min <= k_max <= 20";
    else if (o->n_init < 1 || o->n_init > 1000)
        bad = "n_init must be between 1 and 1000";
    else if (o->max_iter < 1 || o->max_iter > 100000)
        bad = "max_iter must be between 1 and 100,000";
    else if (!(o->tol >= 0.0) || !isfinite(o->tol))
        bad = "tol must be a number >= 0";
    else if (o->silhouette_sample == 1)
        bad = "silhouette_sample must be 0 (no silhouette) or at least 2";
    if (bad)
        bb_error(log, "segments: %s", bad);
    return bad ? BB_ERR_CONFIG : BB_OK;
}

/* ---- medians ---------------------------------------------------------- */

static void swap_d(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

/* Hoare's selection: afterwards a[kth] holds the kth smallest, with
 * nothing larger before it. Median-of-three pivots keep sorted input fast. */
static void select_kth(double *a, size_t n, size_t kth)
{
    size_t lo = 0, hi = n - 1;
    while (hi > lo) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < a[lo])
            swap_d(&a[mid], &a[lo]);
        if (a[hi] < a[lo])
            swap_d(&a[hi], &a[lo]);
        if (a[hi] < a[mid])
            swap_d(&a[hi], &a[mid]);
        double pivot = a[mid];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                swap_d(&a[i], &a[j]);
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (kth <= j)
            hi = j;
        else if (kth >= i)
            lo = i;
        else
            return;
    }
}

/* The median as numpy computes it (mean of the two middle values for an
 * even count); a is reordered. NaN for n == 0. */
static double median_of(double *a, size_t n)
{
    if (n == 0)
        return NAN;
    size_t h = n / 2;
    select_kth(a, n, h);
    double upper = a[h];
    if (n % 2)
        return upper;
    double lower = a[0];
    for (size_t i = 1; i < h; i++)
        if (a[i] > lower)
            lower = a[i];
    return 0.5 * (lower + upper);
}

/* ---- profiles ---------------------------------------------------------- */

static int age_band(int age)
{
    if (age < 0)
        return BB_SEG_AGE_BANDS - 1;
    if (age < 25)
        return 0;
    if (age >= 65)
        return 5;
    return 1 + (age - 25) / 10;
}

/* Fills p from its members (customer ids, ascending). tmp holds n doubles. */
static bb_err profile_fill(bb_segmentation *s, const bb_dataset *ds, bb_seg_profile *p, const uint32_t *members,
                           size_t n, double *tmp)
{
    p->gender = calloc((size_t)s->n_genders + 1, sizeof *p->gender);
    if (!p->gender)
        return BB_ERR_NOMEM;
    p->customers = (uint32_t)n;
    p->customer_share = s->n_customers ? (double)n / (double)s->n_customers : NAN;
    uint32_t age_hist[121] = {0};
    uint32_t ages = 0;
    double dist_sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = members[i];
        const double *row = s->features + (size_t)c * BB_SEG_FEATURES;
        p->revenue_cents += llround(row[BB_SEG_MONETARY] * 100.0);
        p->visits += (int64_t)row[BB_SEG_FREQUENCY];
        dist_sum += s->distance[c];
        int age = ds->customers.age ? ds->customers.age[c] : -1;
        p->age_band[age_band(age)]++;
        if (age >= 0 && age <= 120) {
            age_hist[age]++;
            ages++;
        }
        uint32_t g = ds->customers.gender ? ds->customers.gender[c] : BB_UNKNOWN;
        p->gender[g < s->n_genders ? g : s->n_genders]++;
        int8_t em = ds->customers.email ? ds->customers.email[c] : -1;
        int8_t sm = ds->customers.sms ? ds->customers.sms[c] : -1;
        if (em >= 0) {
            p->email_known++;
            p->email_yes += em > 0;
        }
        if (sm >= 0) {
            p->sms_known++;
            p->sms_yes += sm > 0;
        }
    }
    p->revenue_share = s->has_revenue && s->revenue_cents > 0 ? (double)p->revenue_cents / (double)s->revenue_cents
                                                              : NAN;
    p->mean_distance = n ? dist_sum / (double)n : NAN;
    /* Median age from the histogram: the middle one or two known ages. */
    p->median_age = NAN;
    if (ages > 0) {
        uint32_t lo_rank = (ages - 1) / 2, hi_rank = ages / 2, seen = 0;
        int lo = -1, hi = -1;
        for (int a = 0; a <= 120 && hi < 0; a++) {
            if (lo < 0 && seen + age_hist[a] > lo_rank)
                lo = a;
            if (seen + age_hist[a] > hi_rank)
                hi = a;
            seen += age_hist[a];
        }
        p->median_age = 0.5 * (lo + hi);
    }
    for (int f = 0; f < BB_SEG_FEATURES; f++) {
        size_t m = 0;
        double sum = 0.0;
        for (size_t i = 0; i < n; i++) {
            double v = s->features[(size_t)members[i] * BB_SEG_FEATURES + f];
            if (isfinite(v)) {
                tmp[m++] = v;
                sum += v;
            }
        }
        p->mean[f] = m ? sum / (double)m : NAN;
        p->median[f] = median_of(tmp, m);
    }
    return BB_OK;
}

/* ---- the k scan -------------------------------------------------------- */

/* The k each score favours, and the one most of them agree on. */
static void favoured(bb_segmentation *s)
{
    int ks = 0, kd = 0, kc = 0;
    double bs = -INFINITY, bd = INFINITY, bc = -INFINITY;
    for (size_t i = 0; i < s->n_scan; i++) {
        const bb_seg_kscore *r = &s->scan[i];
        if (isfinite(r->silhouette) && r->silhouette > bs) {
            bs = r->silhouette;
            ks = r->k;
        }
        if (isfinite(r->davies_bouldin) && r->davies_bouldin < bd) {
            bd = r->davies_bouldin;
            kd = r->k;
        }
        if (isfinite(r->calinski_harabasz) && r->calinski_harabasz > bc) {
            bc = r->calinski_harabasz;
            kc = r->k;
        }
    }
    s->k_by_silhouette = ks;
    s->k_by_davies_bouldin = kd;
    s->k_by_calinski_harabasz = kc;
    if (kd && kd == kc)
        s->k_favoured = kd;
    else
        s->k_favoured = ks ? ks : kd ? kd : kc;
}

/* Scores every k of the scan: Davies-Bouldin and Calinski-Harabasz on all
 * rows, the silhouette on all rows or a fixed-seed sample, sharing its
 * distances between the k. */
static bb_err score_scan(bb_segmentation *s, const bb_segment_opts *o, const double *z, size_t n_rows,
                         const bb_kmeans_result *res, size_t n_scan)
{
    bb_err e = BB_OK;
    size_t f = (size_t)s->n_dims;
    for (size_t i = 0; i < n_scan && e == BB_OK; i++) {
        bb_seg_kscore *r = &s->scan[i];
        r->k = res[i].k;
        r->inertia = res[i].inertia;
        r->n_iter = res[i].n_iter;
        r->silhouette = NAN;
        e = bb_quality_scores(z, n_rows, f, res[i].labels, res[i].k, &r->davies_bouldin, &r->calinski_harabasz);
    }
    if (e != BB_OK || o->silhouette_sample < 2 || n_scan == 0)
        return e;

    size_t m = n_rows < o->silhouette_sample ? n_rows : o->silhouette_sample;
    uint32_t *idx = NULL;
    double *xs = malloc(m * f * sizeof *xs);
    int32_t *lab = malloc(m * n_scan * sizeof *lab);
    const int32_t **labp = malloc(n_scan * sizeof *labp);
    int *ks = malloc(n_scan * sizeof *ks);
    double *sil = malloc(n_scan * sizeof *sil);
    e = xs && lab && labp && ks && sil ? bb_quality_sample(n_rows, m, s->seed, STREAM_SILHOUETTE, &idx)
                                       : BB_ERR_NOMEM;
    if (e == BB_OK) {
        for (size_t i = 0; i < m; i++)
            memcpy(xs + i * f, z + (size_t)idx[i] * f, f * sizeof *xs);
        for (size_t l = 0; l < n_scan; l++) {
            for (size_t i = 0; i < m; i++)
                lab[l * m + i] = res[l].labels[idx[i]];
            labp[l] = lab + l * m;
            ks[l] = res[l].k;
        }
        e = bb_quality_silhouette(xs, m, f, labp, ks, n_scan, o->threads, sil);
    }
    if (e == BB_OK) {
        for (size_t l = 0; l < n_scan; l++)
            s->scan[l].silhouette = sil[l];
        s->silhouette_n = m;
        s->silhouette_sampled = m < s->n_clustered;
    }
    free(idx);
    free(xs);
    free(lab);
    free(labp);
    free(ks);
    free(sil);
    return e;
}

/* ---- PCA --------------------------------------------------------------- */

static bb_err project(bb_segmentation *s, const double *z, const uint32_t *rows, size_t n_rows)
{
    size_t f = (size_t)s->n_dims;
    if (n_rows < 2 || f == 0)
        return BB_OK;
    int nc = f >= 2 ? 2 : 1;
    double mean[BB_SEG_FEATURES], axes[2 * BB_SEG_FEATURES], var[2];
    bb_err e = bb_pca_fit(z, n_rows, f, nc, mean, axes, var, s->pca_ratio);
    if (e != BB_OK)
        return e;
    s->pca_dims = nc;
    for (int c = 0; c < nc; c++)
        for (size_t d = 0; d < f; d++)
            s->pca_axes[c][s->dims[d]] = axes[(size_t)c * f + d];

    uint32_t *idx = NULL;
    e = bb_quality_sample(n_rows, BB_SEG_MAX_POINTS, s->seed, STREAM_PCA, &idx);
    if (e != BB_OK)
        return e;
    size_t m = n_rows < BB_SEG_MAX_POINTS ? n_rows : BB_SEG_MAX_POINTS;
    s->point_x = malloc(m * sizeof *s->point_x);
    s->point_y = malloc(m * sizeof *s->point_y);
    s->point_segment = malloc(m * sizeof *s->point_segment);
    s->point_customer = malloc(m * sizeof *s->point_customer);
    s->centroid_x = malloc((size_t)s->k * sizeof *s->centroid_x);
    s->centroid_y = malloc((size_t)s->k * sizeof *s->centroid_y);
    if (!s->point_x || !s->point_y || !s->point_segment || !s->point_customer || !s->centroid_x || !s->centroid_y) {
        free(idx);
        return BB_ERR_NOMEM;
    }
    for (size_t i = 0; i < m; i++) {
        double xy[2] = {0.0, 0.0};
        bb_pca_project(z + (size_t)idx[i] * f, 1, f, nc, mean, axes, xy);
        uint32_t c = rows[idx[i]];
        s->point_x[i] = xy[0];
        s->point_y[i] = xy[1];
        s->point_customer[i] = c;
        s->point_segment[i] = s->segment[c];
    }
    s->n_points = m;
    for (int j = 0; j < s->k; j++) {
        double xy[2] = {0.0, 0.0};
        bb_pca_project(s->centroids + (size_t)j * f, 1, f, nc, mean, axes, xy);
        s->centroid_x[j] = xy[0];
        s->centroid_y[j] = xy[1];
    }
    free(idx);
    return BB_OK;
}

/* ---- the stage --------------------------------------------------------- */

/* Seconds on the monotonic clock, for the run log's record of where the
 * stage spends its time (never in a report). */
static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Takes the chosen k's clustering: value order, names, per-customer segment
 * and distance, centroids in segment order. */
static bb_err adopt(bb_segmentation *s, const bb_kmeans_result *r, const double *z, const uint32_t *rows,
                    size_t n_rows)
{
    int k = r->k;
    if (k < 1 || k > BB_SEG_MAX_K)
        return BB_ERR_INTERNAL;
    size_t f = (size_t)s->n_dims;
    double zc[BB_SEG_MAX_K * BB_SEG_FEATURES];
    uint32_t first[BB_SEG_MAX_K];
    int order[BB_SEG_MAX_K], pos[BB_SEG_MAX_K];
    unsigned used = 0;
    for (size_t d = 0; d < f; d++)
        used |= 1u << s->dims[d];
    for (int j = 0; j < k; j++) {
        first[j] = UINT32_MAX;
        for (int g = 0; g < BB_SEG_FEATURES; g++)
            zc[j * BB_SEG_FEATURES + g] = NAN;
        for (size_t d = 0; d < f; d++)
            zc[j * BB_SEG_FEATURES + s->dims[d]] = r->centers[(size_t)j * f + d];
    }
    for (size_t i = n_rows; i-- > 0;)
        first[r->labels[i]] = rows[i];
    bb_naming_order(zc, k, used, first, order);
    for (int j = 0; j < k; j++)
        pos[order[j]] = j;

    s->k = k;
    s->segments = calloc((size_t)k, sizeof *s->segments);
    s->centroids = malloc((size_t)k * (f ? f : 1) * sizeof *s->centroids);
    if (!s->segments || !s->centroids)
        return BB_ERR_NOMEM;
    double zs[BB_SEG_MAX_K * BB_SEG_FEATURES];
    for (int j = 0; j < k; j++) {
        memcpy(zs + j * BB_SEG_FEATURES, zc + order[j] * BB_SEG_FEATURES, sizeof(double) * BB_SEG_FEATURES);
        memcpy(s->centroids + (size_t)j * f, r->centers + (size_t)order[j] * f, f * sizeof *s->centroids);
        memcpy(s->segments[j].centroid, zs + j * BB_SEG_FEATURES, sizeof s->segments[j].centroid);
    }
    char names[BB_SEG_MAX_K][BB_NAMING_SIZE];
    int rule[BB_SEG_MAX_K];
    bb_naming_assign(zs, k, used, names, NULL, rule);
    for (int j = 0; j < k; j++) {
        memcpy(s->segments[j].name, names[j], BB_NAMING_SIZE);
        s->segments[j].rule = rule[j];
    }
    for (size_t i = 0; i < n_rows; i++) {
        int j = pos[r->labels[i]];
        s->segment[rows[i]] = j;
        s->distance[rows[i]] = sqrt(bb_kmeans_dist_sq(z + i * f, s->centroids + (size_t)j * f, f));
    }
    return BB_OK;
}

/* One segment of everyone with purchases: no feature varies, or one customer. */
static bb_err adopt_single(bb_segmentation *s, const double *z, const uint32_t *rows, size_t n_rows)
{
    size_t f = (size_t)s->n_dims;
    s->k = 1;
    s->segments = calloc(1, sizeof *s->segments);
    s->centroids = calloc(f ? f : 1, sizeof *s->centroids);
    if (!s->segments || !s->centroids)
        return BB_ERR_NOMEM;
    for (size_t i = 0; i < n_rows; i++)
        for (size_t d = 0; d < f; d++)
            s->centroids[d] += z[i * f + d];
    for (size_t d = 0; d < f; d++)
        s->centroids[d] /= (double)n_rows;
    bb_seg_profile *p = &s->segments[0];
    for (int g = 0; g < BB_SEG_FEATURES; g++)
        p->centroid[g] = NAN;
    for (size_t d = 0; d < f; d++)
        p->centroid[s->dims[d]] = s->centroids[d];
    snprintf(p->name, sizeof p->name, "%s", BB_NAMING_SINGLE);
    p->rule = -1;
    for (size_t i = 0; i < n_rows; i++) {
        s->segment[rows[i]] = 0;
        s->distance[rows[i]] = sqrt(bb_kmeans_dist_sq(z + i * f, s->centroids, f));
    }
    return BB_OK;
}

static bb_err profiles(bb_segmentation *s, const bb_dataset *ds)
{
    uint32_t n = s->n_customers;
    int groups = s->k + 1; /* the no-purchase group last */
    size_t *start = calloc((size_t)groups + 1, sizeof *start);
    uint32_t *members = malloc((size_t)(n ? n : 1) * sizeof *members);
    double *tmp = malloc((size_t)(n ? n : 1) * sizeof *tmp);
    bb_err e = start && members && tmp ? BB_OK : BB_ERR_NOMEM;
    if (e == BB_OK) {
        for (uint32_t c = 0; c < n; c++) {
            int g = s->segment[c] >= 0 ? s->segment[c] : s->k;
            start[g + 1]++;
        }
        for (int g = 0; g < groups; g++)
            start[g + 1] += start[g];
        size_t *fill = calloc((size_t)groups, sizeof *fill);
        if (!fill) {
            e = BB_ERR_NOMEM;
        } else {
            for (uint32_t c = 0; c < n; c++) {
                int g = s->segment[c] >= 0 ? s->segment[c] : s->k;
                members[start[g] + fill[g]++] = c;
            }
            free(fill);
        }
    }
    for (int g = 0; g < groups && e == BB_OK; g++) {
        bb_seg_profile *p = g < s->k ? &s->segments[g] : &s->none;
        e = profile_fill(s, ds, p, members + start[g], start[g + 1] - start[g], tmp);
    }
    if (e == BB_OK) {
        snprintf(s->none.name, sizeof s->none.name, "%s", BB_NAMING_NONE);
        s->none.rule = -1;
        s->none.mean_distance = NAN;
        for (int g = 0; g < BB_SEG_FEATURES; g++)
            s->none.centroid[g] = NAN;
    }
    free(start);
    free(members);
    free(tmp);
    return e;
}

/* The k scan and the clustering in use. The scan runs on all rows up to
 * o->scan_sample and on a fixed-seed sample above (its scores estimate the
 * whole); the configured k always runs on every row, and when it is part of
 * an unsampled scan the scan's result is taken as is. */
static bb_err scan_and_cluster(bb_segmentation *s, const bb_segment_opts *o, bb_log *log, const double *z,
                               const uint32_t *rows, size_t n_rows, int k)
{
    size_t f = (size_t)s->n_dims;
    size_t m = o->scan_sample > 0 && n_rows > o->scan_sample ? o->scan_sample : n_rows;
    int kmax = o->k_max < (int)m - 1 ? o->k_max : (int)m - 1;
    size_t n_scan = kmax >= o->k_min ? (size_t)(kmax - o->k_min + 1) : 0;
    bb_kmeans_opts ko = {.n_init = o->n_init, .max_iter = o->max_iter, .tol = o->tol, .seed = o->seed,
                         .threads = o->threads};
    int ks[BB_SEG_MAX_K + 1];
    bb_kmeans_result res[BB_SEG_MAX_K + 1], main_res;
    memset(res, 0, sizeof res);
    memset(&main_res, 0, sizeof main_res);
    uint32_t *idx = NULL;
    double *zs = NULL;
    int main_at = -1;
    size_t n_runs = n_scan;
    for (size_t i = 0; i < n_scan; i++) {
        ks[i] = o->k_min + (int)i;
        if (ks[i] == k && m == n_rows)
            main_at = (int)i;
    }
    if (m == n_rows && main_at < 0) {
        main_at = (int)n_runs;
        ks[n_runs++] = k;
    }
    bb_err e = BB_OK;
    const double *zscan = z;
    if (m < n_rows && n_scan > 0) {
        e = bb_quality_sample(n_rows, m, s->seed, STREAM_SCAN, &idx);
        zs = e == BB_OK ? malloc(m * f * sizeof *zs) : NULL;
        if (e == BB_OK && !zs)
            e = BB_ERR_NOMEM;
        for (size_t i = 0; e == BB_OK && i < m; i++)
            memcpy(zs + i * f, z + (size_t)idx[i] * f, f * sizeof *zs);
        zscan = zs;
    }
    if (e == BB_OK && n_runs > 0)
        e = bb_kmeans_run_many(zscan, m, f, ks, n_runs, &ko, res);
    if (e == BB_OK && main_at < 0)
        e = bb_kmeans_run(z, n_rows, f, k, &ko, &main_res);
    const bb_kmeans_result *chosen = main_at >= 0 ? &res[main_at] : &main_res;
    if (e == BB_OK && n_scan > 0) {
        s->scan = calloc(n_scan, sizeof *s->scan);
        s->n_scan = n_scan;
        s->scan_n = m;
        s->scan_sampled = m < n_rows;
        e = s->scan ? score_scan(s, o, zscan, m, res, n_scan) : BB_ERR_NOMEM;
        if (e == BB_OK)
            favoured(s);
    }
    if (e == BB_OK) {
        s->inertia = chosen->inertia;
        s->n_iter = chosen->n_iter;
        if (!chosen->converged)
            bb_warn(log, "segments: k-means did not converge in %d iterations (k = %d)", o->max_iter, k);
        e = adopt(s, chosen, z, rows, n_rows);
    }
    for (size_t i = 0; i < n_runs; i++)
        bb_kmeans_result_free(&res[i]);
    bb_kmeans_result_free(&main_res);
    free(idx);
    free(zs);
    return e;
}

bb_err bb_segment_run(const bb_dataset *ds, const bb_segment_opts *o, bb_log *log, bb_segmentation **out)
{
    *out = NULL;
    bb_err e = check_opts(o, log);
    if (e != BB_OK)
        return e;
    unsigned select = 0, logm = 0;
    char err[512];
    e = bb_features_parse(o->features, BB_SEG_ALL_FEATURES, &select, err, sizeof err);
    if (e == BB_OK)
        e = bb_features_parse(o->log_features, bb_features_default_log(), &logm, err, sizeof err);
    if (e != BB_OK) {
        bb_error(log, "segments: %s", err);
        return e;
    }
    if (select == 0) {
        bb_error(log, "segments: no features selected");
        return BB_ERR_CONFIG;
    }

    bb_segmentation *s = calloc(1, sizeof *s);
    double *z = NULL;
    uint32_t *rows = NULL;
    size_t n_rows = 0;
    if (!s)
        return BB_ERR_NOMEM;
    s->as_of = ds->as_of;
    s->n_customers = ds->customers.n;
    s->n_genders = bb_intern_count(ds->genders);
    s->has_revenue = ds->price_source != BB_PRICE_NONE;
    s->n_init = o->n_init;
    s->max_iter = o->max_iter;
    s->tol = o->tol;
    s->seed = o->seed;
    s->inertia = NAN;
    uint32_t n_active = 0;
    double t0 = seconds(), t_features = 0, t_kmeans = 0, t_profiles = 0;
    e = bb_features_compute(ds, &s->features, &n_active);
    if (e != BB_OK)
        goto fail;
    s->n_clustered = n_active;
    size_t nc = s->n_customers ? s->n_customers : 1;
    s->segment = malloc(nc * sizeof *s->segment);
    s->distance = malloc(nc * sizeof *s->distance);
    if (!s->segment || !s->distance) {
        e = BB_ERR_NOMEM;
        goto fail;
    }
    for (uint32_t c = 0; c < s->n_customers; c++) {
        s->segment[c] = BB_SEG_NONE;
        s->distance[c] = NAN;
        s->revenue_cents += llround(s->features[(size_t)c * BB_SEG_FEATURES + BB_SEG_MONETARY] * 100.0);
    }
    e = bb_features_standardize(s->features, s->n_customers, select, logm, s->scale, s->dims, &s->n_dims, &z,
                                &rows, &n_rows);
    if (e != BB_OK)
        goto fail;
    for (int f = 0; f < BB_SEG_FEATURES; f++)
        if (s->scale[f].selected && !s->scale[f].used && n_rows > 0)
            bb_info(log, "segments: %s is the same for every customer; left out of the clustering",
                    bb_features_key((bb_seg_feature)f));

    size_t f = (size_t)s->n_dims;
    if (n_rows == 0) {
        bb_warn(log, "segments: no customer has purchases; every customer is in \"%s\"", BB_NAMING_NONE);
    } else if (f == 0 || n_rows == 1) {
        bb_warn(log, "segments: %s; one segment",
                f == 0 ? "no feature varies between customers" : "one customer with purchases");
        e = adopt_single(s, z, rows, n_rows);
    } else {
        int k = o->k < (int)n_rows ? o->k : (int)n_rows;
        if (k < o->k)
            bb_warn(log, "segments: only %zu customers with purchases; k = %d instead of %d", n_rows, k, o->k);
        t_features = seconds();
        e = scan_and_cluster(s, o, log, z, rows, n_rows, k);
        t_kmeans = seconds();
    }
    if (t_kmeans == 0)
        t_features = t_kmeans = seconds();
    if (e == BB_OK)
        e = profiles(s, ds);
    t_profiles = seconds();
    if (e == BB_OK && s->k > 0)
        e = project(s, z, rows, n_rows);
    if (e != BB_OK)
        goto fail;
    if (s->k > 0)
        bb_info(log, "segments: %u customers with purchases in %d segments on %d features (inertia %.4g, "
                     "%d iterations); %u without purchases",
                s->n_clustered, s->k, s->n_dims, s->inertia, s->n_iter, s->none.customers);
    bb_debug(log, "segments: features %.2f s, k-means and scores %.2f s, profiles %.2f s, PCA %.2f s",
             t_features - t0, t_kmeans - t_features, t_profiles - t_kmeans, seconds() - t_profiles);
    if (s->n_scan > 0)
        bb_info(log, "segments: over k = %d..%d the silhouette favours k = %d, Davies-Bouldin k = %d, "
                     "Calinski-Harabasz k = %d",
                s->scan[0].k, s->scan[s->n_scan - 1].k, s->k_by_silhouette, s->k_by_davies_bouldin,
                s->k_by_calinski_harabasz);
    free(z);
    free(rows);
    *out = s;
    return BB_OK;
fail:
    if (e == BB_ERR_NOMEM)
        bb_error(log, "segments: out of memory");
    else if (e != BB_ERR_CONFIG)
        bb_error(log, "segments: %s", bb_strerror(e));
    free(z);
    free(rows);
    bb_segmentation_free(s);
    return e;
}

/* ---- texts ------------------------------------------------------------- */

static void copy_text(char *dst, size_t size, const cJSON *v)
{
    dst[0] = '\0';
    if (cJSON_IsString(v) && v->valuestring)
        snprintf(dst, size, "%s", v->valuestring);
}

static bool apply_texts(bb_seg_profile *p, const cJSON *root)
{
    const cJSON *entry = cJSON_GetObjectItemCaseSensitive(root, p->name);
    if (!cJSON_IsObject(entry))
        entry = cJSON_GetObjectItemCaseSensitive(root, BB_NAMING_OTHER_KEY);
    if (!cJSON_IsObject(entry))
        return false;
    copy_text(p->description, sizeof p->description, cJSON_GetObjectItemCaseSensitive(entry, "description"));
    p->n_actions = 0;
    const cJSON *a, *actions = cJSON_GetObjectItemCaseSensitive(entry, "actions");
    cJSON_ArrayForEach(a, actions)
    {
        if (p->n_actions == BB_SEG_MAX_ACTIONS)
            break;
        if (!cJSON_IsString(a))
            continue;
        copy_text(p->actions[p->n_actions], sizeof p->actions[0], a);
        p->n_actions++;
    }
    return true;
}

bb_err bb_segment_set_texts(bb_segmentation *s, const char *json, size_t len, bb_log *log)
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(root)) {
        bb_error(log, "segments.json: not a JSON object of segment texts");
        cJSON_Delete(root);
        return BB_ERR_CONFIG;
    }
    for (int j = 0; j <= s->k; j++) {
        bb_seg_profile *p = j < s->k ? &s->segments[j] : &s->none;
        if (!apply_texts(p, root))
            bb_warn(log, "segments.json: no texts for \"%s\"", p->name);
    }
    cJSON_Delete(root);
    return BB_OK;
}

/* ---- files ------------------------------------------------------------- */

/* A non-negative number with 6 decimals, whatever the C locale says. */
static void fixed6(char out[40], double v)
{
    if (!isfinite(v) || v < 0 || v > 1e12) {
        out[0] = '\0';
        return;
    }
    unsigned long long micro = (unsigned long long)llround(v * 1e6);
    snprintf(out, 40, "%llu.%06llu", micro / 1000000ULL, micro % 1000000ULL);
}

bb_err bb_segment_save_assignments(const bb_segmentation *s, const bb_dataset *ds, const char *path)
{
    bb_buf b;
    bb_buf_init(&b, 0);
    bb_err e = bb_buf_puts(&b, "CustomerID,Segment,Distance\n");
    for (uint32_t c = 0; c < s->n_customers && e == BB_OK; c++) {
        const char *id = bb_intern_str(ds->customers.ids, c);
        const char *name = bb_segment_name(s, s->segment[c]);
        char dist[40];
        fixed6(dist, s->distance[c]);
        const char *fields[] = {id, name, dist};
        size_t lens[] = {bb_intern_len(ds->customers.ids, c), strlen(name), strlen(dist)};
        e = bb_csvw_row(&b, fields, lens, 3, BB_CSVW_FORMULA_SAFE);
    }
    if (e == BB_OK)
        e = bb_fs_write_file(path, b.data, b.len);
    bb_buf_free(&b);
    return e;
}

/* ---- migrations -------------------------------------------------------- */

typedef struct mig_read {
    bb_segmentation *s;
    const bb_dataset *ds;
    bb_seg_migrations *m;
    uint8_t *seen;              /* per customer id */
    bool header_ok;
} mig_read;

/* The row of a previous segment name, added when new ("Other" once full). */
static int mig_from(bb_seg_migrations *m, const char *name, size_t len)
{
    for (int i = 0; i < m->n_from; i++)
        if (strlen(m->from[i]) == len && memcmp(m->from[i], name, len) == 0)
            return i;
    if (m->n_from == BB_SEG_MAX_PREV)
        return BB_SEG_MAX_PREV - 1;
    int i = m->n_from++;
    snprintf(m->from[i], BB_NAMING_SIZE, "%.*s", (int)(len < BB_NAMING_SIZE ? len : BB_NAMING_SIZE - 1), name);
    if (m->n_from == BB_SEG_MAX_PREV)
        snprintf(m->from[i], BB_NAMING_SIZE, "Other");
    return i;
}

static bb_err mig_row(void *user, const bb_csv_row *row)
{
    mig_read *r = user;
    if (row->index == 0) {
        r->header_ok = row->nfields >= 2 && strcmp(row->field[0], "CustomerID") == 0 &&
                       strcmp(row->field[1], "Segment") == 0;
        return r->header_ok ? BB_OK : BB_ERR_DATA;
    }
    if (row->nfields < 2)
        return BB_OK;
    const char *id = row->field[0];
    size_t len = row->len[0];
    uint32_t c;
    bool found = bb_intern_get(r->ds->customers.ids, id, len, &c);
    /* IDs that looked like formulas were written with a leading apostrophe. */
    if (!found && len > 1 && id[0] == '\'')
        found = bb_intern_get(r->ds->customers.ids, id + 1, len - 1, &c);
    if (!found || r->seen[c]) {
        r->m->gone += !found;
        return BB_OK;
    }
    r->seen[c] = 1;
    int from = mig_from(r->m, row->field[1], row->len[1]);
    int32_t to = r->s->segment[c] >= 0 ? r->s->segment[c] : r->s->k;
    r->m->counts[(size_t)from * (size_t)(r->s->k + 1) + (size_t)to]++;
    r->m->matched++;
    if (strcmp(bb_segment_name(r->s, r->s->segment[c]), r->m->from[from]) != 0)
        r->m->moved++;
    return BB_OK;
}

bb_err bb_segment_migrations(bb_segmentation *s, const bb_dataset *ds, const char *prev_path, bb_log *log)
{
    bb_seg_migrations *m = calloc(1, sizeof *m);
    uint8_t *seen = calloc(s->n_customers ? s->n_customers : 1, 1);
    bb_err e = m && seen ? BB_OK : BB_ERR_NOMEM;
    if (e == BB_OK) {
        m->counts = calloc((size_t)BB_SEG_MAX_PREV * (size_t)(s->k + 1), sizeof *m->counts);
        if (!m->counts)
            e = BB_ERR_NOMEM;
    }
    /* This run's names come first, so a table reads the same both ways. */
    for (int j = 0; e == BB_OK && j <= s->k; j++) {
        const char *name = bb_segment_name(s, j < s->k ? j : BB_SEG_NONE);
        mig_from(m, name, strlen(name));
    }
    mig_read r = {.s = s, .ds = ds, .m = m, .seen = seen};
    if (e == BB_OK) {
        bb_csv_opts o = {.delimiter = ',', .max_record_bytes = 1 << 16};
        bb_csv_stats st;
        e = bb_csv_read_file(prev_path, &o, mig_row, NULL, &r, &st);
        if (e == BB_OK && !r.header_ok)
            e = BB_ERR_DATA;
        if (e == BB_ERR_NOINPUT)
            bb_warn(log, "segments: cannot read the previous assignments %s", prev_path);
        else if (e == BB_ERR_DATA)
            bb_warn(log, "segments: %s is not a CustomerID,Segment,Distance file", prev_path);
    }
    if (e == BB_OK) {
        for (uint32_t c = 0; c < s->n_customers; c++)
            m->new_customers += !seen[c];
        if (s->migrations)
            free(s->migrations->counts);
        free(s->migrations);
        s->migrations = m;
        m = NULL;
    }
    if (m)
        free(m->counts);
    free(m);
    free(seen);
    return e;
}

bb_err bb_segment_keep_names(bb_segmentation *s, const bb_dataset *ds, const char *prev_path,
                             bb_log *log, int *renamed)
{
    if (renamed)
        *renamed = 0;
    if (s->k == 0)
        return BB_OK;
    bb_err e = bb_segment_migrations(s, ds, prev_path, log);
    if (e != BB_OK)
        return e == BB_ERR_NOMEM ? e : BB_OK;
    const bb_seg_migrations *m = s->migrations;
    int k = s->k, cols = k + 1;
    /* Customers of segment j that the previous run knew, under any name. */
    uint64_t matched[BB_SEG_MAX_K] = {0};
    for (int i = 0; i < m->n_from; i++)
        for (int j = 0; j < k; j++)
            matched[j] += m->counts[(size_t)i * (size_t)cols + (size_t)j];
    bool from_used[BB_SEG_MAX_PREV] = {false}, seg_done[BB_SEG_MAX_K] = {false};
    char chosen[BB_SEG_MAX_K][BB_NAMING_SIZE];
    for (int j = 0; j < k; j++)
        snprintf(chosen[j], BB_NAMING_SIZE, "%s", s->segments[j].name);
    /* Greedy over (previous name, segment) pairs, most shared customers first. */
    for (;;) {
        int bi = -1, bj = -1;
        uint32_t best = 0;
        for (int i = 0; i < m->n_from; i++) {
            if (from_used[i] || strcmp(m->from[i], bb_segment_name(s, BB_SEG_NONE)) == 0 ||
                strcmp(m->from[i], "Other") == 0)
                continue;
            for (int j = 0; j < k; j++) {
                uint32_t n = m->counts[(size_t)i * (size_t)cols + (size_t)j];
                if (!seg_done[j] && n > best && 2 * (uint64_t)n > matched[j])
                    best = n, bi = i, bj = j;
            }
        }
        if (bi < 0)
            break;
        from_used[bi] = seg_done[bj] = true;
        snprintf(chosen[bj], BB_NAMING_SIZE, "%s", m->from[bi]);
    }
    /* A segment left with its rule name must not clash with a kept one. */
    for (int j = 0; j < k; j++) {
        if (seg_done[j])
            continue;
        for (int o = 0; o < k; o++) {
            if (o != j && seg_done[o] && strcmp(chosen[o], chosen[j]) == 0) {
                char base[BB_NAMING_SIZE];
                snprintf(base, sizeof base, "%s", chosen[j]);
                snprintf(chosen[j], BB_NAMING_SIZE, "%.*s (new)", BB_NAMING_SIZE - 7, base);
                break;
            }
        }
    }
    for (int j = 0; j < k; j++) {
        if (strcmp(chosen[j], s->segments[j].name) != 0) {
            bb_info(log, "segments: \"%s\" keeps last run's name \"%s\" (most of its customers had it)",
                    s->segments[j].name, chosen[j]);
            memcpy(s->segments[j].name, chosen[j], BB_NAMING_SIZE);
            if (renamed)
                (*renamed)++;
        }
    }
    /* The moves, now between stable names. */
    return bb_segment_migrations(s, ds, prev_path, log);
}

static void add_num(cJSON *o, const char *key, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

bb_err bb_segment_manifest(const bb_segmentation *s, cJSON *obj)
{
    cJSON *m = cJSON_CreateObject();
    if (!m)
        return BB_ERR_NOMEM;
    cJSON_AddNumberToObject(m, "k", s->k);
    cJSON_AddNumberToObject(m, "customers_clustered", s->n_clustered);
    cJSON_AddNumberToObject(m, "customers_without_purchases", s->none.customers);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)s->seed);
    cJSON_AddStringToObject(m, "seed", seed);
    cJSON_AddNumberToObject(m, "n_init", s->n_init);
    cJSON_AddNumberToObject(m, "max_iter", s->max_iter);
    add_num(m, "tol", s->tol);
    add_num(m, "inertia", s->inertia);
    cJSON_AddNumberToObject(m, "iterations", s->n_iter);
    cJSON *feats = cJSON_AddArrayToObject(m, "features");
    for (int f = 0; f < BB_SEG_FEATURES; f++) {
        const bb_seg_scale *sc = &s->scale[f];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", bb_features_key((bb_seg_feature)f));
        cJSON_AddBoolToObject(o, "selected", sc->selected);
        cJSON_AddBoolToObject(o, "used", sc->used);
        cJSON_AddStringToObject(o, "transform", sc->log1p ? "log1p" : "none");
        if (sc->selected) {
            add_num(o, "mean", sc->mean);
            add_num(o, "sd", sc->sd);
        }
        cJSON_AddItemToArray(feats, o);
    }
    cJSON *scan = cJSON_AddArrayToObject(m, "scan");
    for (size_t i = 0; i < s->n_scan; i++) {
        const bb_seg_kscore *r = &s->scan[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "k", r->k);
        add_num(o, "inertia", r->inertia);
        add_num(o, "silhouette", r->silhouette);
        add_num(o, "davies_bouldin", r->davies_bouldin);
        add_num(o, "calinski_harabasz", r->calinski_harabasz);
        cJSON_AddItemToArray(scan, o);
    }
    cJSON *fav = cJSON_AddObjectToObject(m, "k_favoured");
    cJSON_AddNumberToObject(fav, "silhouette", s->k_by_silhouette);
    cJSON_AddNumberToObject(fav, "davies_bouldin", s->k_by_davies_bouldin);
    cJSON_AddNumberToObject(fav, "calinski_harabasz", s->k_by_calinski_harabasz);
    cJSON_AddNumberToObject(fav, "overall", s->k_favoured);
    cJSON_AddNumberToObject(m, "silhouette_customers", (double)s->silhouette_n);
    cJSON_AddBoolToObject(m, "silhouette_sampled", s->silhouette_sampled);
    cJSON_AddNumberToObject(m, "scan_customers", (double)s->scan_n);
    cJSON_AddBoolToObject(m, "scan_sampled", s->scan_sampled);
    cJSON *pca = cJSON_AddArrayToObject(m, "pca_explained_variance_ratio");
    for (int c = 0; c < s->pca_dims; c++)
        cJSON_AddItemToArray(pca, cJSON_CreateNumber(s->pca_ratio[c]));
    if (s->migrations) {
        cJSON *mg = cJSON_AddObjectToObject(m, "migrations");
        cJSON_AddNumberToObject(mg, "matched", s->migrations->matched);
        cJSON_AddNumberToObject(mg, "moved", s->migrations->moved);
        cJSON_AddNumberToObject(mg, "new_customers", s->migrations->new_customers);
        cJSON_AddNumberToObject(mg, "gone", s->migrations->gone);
    }
    cJSON *segs = cJSON_AddArrayToObject(m, "segments");
    for (int j = 0; j <= s->k; j++) {
        const bb_seg_profile *p = j < s->k ? &s->segments[j] : &s->none;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", p->name);
        cJSON_AddNumberToObject(o, "customers", p->customers);
        cJSON_AddItemToArray(segs, o);
    }
    if (!cJSON_AddItemToObject(obj, "segmentation", m)) {
        cJSON_Delete(m);
        return BB_ERR_NOMEM;
    }
    return BB_OK;
}

uint64_t bb_segment_sheet_cells(const bb_segmentation *s)
{
    return (uint64_t)s->n_customers * (3 + BB_SEG_FEATURES);
}
