/* Tests of the segmentation: features on a hand-made dataset, k-means++
 * seeding, Lloyd on known blobs, empty-cluster repair, the quality scores
 * against hand-computed values, PCA against a known matrix, naming rules,
 * identical results with 1 and 2 threads, and whole runs on data/sample and
 * (shared) the seed data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bb_test.h"
#include "ingest/ingest.h"
#include "segment/kmeans.h"
#include "segment/pca.h"
#include "segment/quality.h"
#include "segment/segment.h"
#include "util/fs.h"
#include "util/rng.h"

/* ---- test data --------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct tmpdata {
    char dir[64];
} tmpdata;

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(bb_fs_write_file(path, text, strlen(text)), BB_OK);
}

static bb_dataset *load_dir(const char *dir, const char *as_of)
{
    bb_ingest_opts o;
    bb_ingest_defaults(&o);
    o.data_dir = dir;
    o.quarantine_dir = NULL;
    if (as_of)
        assert_true(bb_date_parse_iso(as_of, &o.as_of));
    bb_dataset *ds = NULL;
    assert_int_equal(bb_ingest_load(&o, NULL, &ds, NULL), BB_OK);
    return ds;
}

static bb_dataset *load_sample(void)
{
    const char *src = getenv("BB_SOURCE_DIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/data/sample", src ? src : ".");
    return load_dir(dir, NULL);
}

/* n points around each of the given centres (f dims), sd apart. */
static double *blobs(const double *centres, int k, size_t per, size_t f, double sd, uint64_t seed, int32_t *truth)
{
    double *x = malloc((size_t)k * per * f * sizeof *x);
    bb_rng r;
    bb_rng_seed(&r, seed, 0);
    for (int j = 0; j < k; j++)
        for (size_t i = 0; i < per; i++) {
            size_t row = (size_t)j * per + i;
            for (size_t d = 0; d < f; d++)
                x[row * f + d] = centres[(size_t)j * f + d] + sd * bb_rng_normal(&r);
            if (truth)
                truth[row] = j;
        }
    return x;
}

/* ---- features ---------------------------------------------------------- */

static void test_features_by_hand(void **state)
{
    (void)state;
    char dir[] = "/tmp/bb_seg_XXXXXX";
    assert_non_null(mkdtemp(dir));
    write_file(dir, "customers.csv",
               "CustomerID,Age,Gender,RegistrationDate,ZipCode,EmailSubscription,SMSSubscription\n"
               "C1,30,F,2023-01-01,1,True,False\n"
               "C2,70,M,2023-03-01,2,False,True\n"
               "C3,,,2023-02-01,,,\n");
    write_file(dir, "items.csv",
               "ItemID,ItemName,ItemCategory,ItemSubcategory,UnitPrice\n"
               "S,Cut,Service,Hair,30.00\n"
               "P,Gel,Product,Hair,10.00\n");
    /* C1: visits 2023-01-10 (two rows), 2023-02-15, 2023-03-20, 2023-06-01.
     * C2: one visit 2023-05-01. C3: none. As of 2023-06-30. */
    write_file(dir, "purchases.csv",
               "CustomerID,ItemID,Quantity,PurchaseDate,TotalPrice,EmployeeID\n"
               "C1,S,1,2023-01-10,30.00,\n"
               "C1,P,2,2023-01-10,20.00,\n"
               "C1,S,1,2023-02-15,30.00,\n"
               "C1,P,1,2023-03-20,10.00,\n"
               "C1,S,1,2023-06-01,30.00,\n"
               "C2,P,3,2023-05-01,30.00,\n");
    bb_dataset *ds = load_dir(dir, "2023-06-30");
    double *raw;
    uint32_t active;
    assert_int_equal(bb_features_compute(ds, &raw, &active), BB_OK);
    assert_int_equal(active, 2);
    const double *c1 = raw, *c2 = raw + BB_SEG_FEATURES, *c3 = raw + 2 * BB_SEG_FEATURES;
    assert_float_equal(c1[BB_SEG_RECENCY], 29, 1e-12);
    assert_float_equal(c1[BB_SEG_FREQUENCY], 4, 1e-12);
    assert_float_equal(c1[BB_SEG_MONETARY], 120, 1e-9);
    assert_float_equal(c1[BB_SEG_AVG_VISIT_VALUE], 30, 1e-9);
    /* 2023-01-10 to 2023-06-01 is 142 days over 3 gaps. */
    assert_float_equal(c1[BB_SEG_MEAN_GAP], 142.0 / 3.0, 1e-9);
    assert_float_equal(c1[BB_SEG_LONGEST_STREAK], 3, 1e-12); /* Jan, Feb, Mar */
    assert_float_equal(c1[BB_SEG_SERVICE_SHARE], 90.0 / 120.0, 1e-12);
    assert_float_equal(c1[BB_SEG_TENURE], 180, 1e-12); /* registered 2023-01-01 */
    assert_float_equal(c1[BB_SEG_UNITS_PER_VISIT], 6.0 / 4.0, 1e-12);
    /* One visit: the gap is the time since it; tenure from the visit, which
     * came after registration (2023-03-01). */
    assert_float_equal(c2[BB_SEG_MEAN_GAP], 60, 1e-12);
    assert_float_equal(c2[BB_SEG_RECENCY], 60, 1e-12);
    assert_float_equal(c2[BB_SEG_LONGEST_STREAK], 1, 1e-12);
    assert_float_equal(c2[BB_SEG_SERVICE_SHARE], 0, 1e-12);
    assert_float_equal(c2[BB_SEG_TENURE], 121, 1e-12);
    /* No purchases: frequency and spend 0, tenure from registration, the rest undefined. */
    assert_float_equal(c3[BB_SEG_FREQUENCY], 0, 0);
    assert_float_equal(c3[BB_SEG_TENURE], 149, 1e-12);
    assert_true(isnan(c3[BB_SEG_RECENCY]));
    assert_true(isnan(c3[BB_SEG_MEAN_GAP]));

    /* Scaling: log1p then z-scores with the population sd over C1 and C2. */
    bb_seg_scale sc[BB_SEG_FEATURES];
    int dims[BB_SEG_FEATURES], nd;
    double *z;
    uint32_t *rows;
    size_t nrows;
    unsigned sel = (1u << BB_SEG_FREQUENCY) | (1u << BB_SEG_TENURE);
    assert_int_equal(bb_features_standardize(raw, ds->customers.n, sel, 1u << BB_SEG_FREQUENCY, sc, dims, &nd, &z,
                                             &rows, &nrows),
                     BB_OK);
    assert_int_equal(nrows, 2);
    assert_int_equal(rows[0], 0);
    assert_int_equal(rows[1], 1);
    assert_int_equal(nd, 2);
    assert_int_equal(dims[0], BB_SEG_FREQUENCY);
    assert_true(sc[BB_SEG_FREQUENCY].log1p);
    assert_float_equal(sc[BB_SEG_FREQUENCY].mean, (log(5.0) + log(2.0)) / 2, 1e-12);
    assert_float_equal(sc[BB_SEG_FREQUENCY].sd, (log(5.0) - log(2.0)) / 2, 1e-12);
    assert_float_equal(z[0], 1.0, 1e-12);
    assert_float_equal(z[2], -1.0, 1e-12);
    assert_false(sc[BB_SEG_RECENCY].selected);
    free(z);
    free(rows);
    /* A constant feature is left out of the space. */
    sel = (1u << BB_SEG_FREQUENCY) | (1u << BB_SEG_LONGEST_STREAK) | (1u << BB_SEG_AVG_VISIT_VALUE);
    assert_int_equal(bb_features_standardize(raw, ds->customers.n, sel, 0, sc, dims, &nd, &z, &rows, &nrows), BB_OK);
    assert_int_equal(nd, 2); /* avg visit value is 30 for both */
    assert_false(sc[BB_SEG_AVG_VISIT_VALUE].used);
    assert_true(sc[BB_SEG_AVG_VISIT_VALUE].selected);
    free(z);
    free(rows);
    free(raw);
    bb_dataset_free(ds);
    bb_fs_rmtree(dir);
}

static void test_feature_lists(void **state)
{
    (void)state;
    unsigned m;
    char err[256];
    assert_int_equal(bb_features_parse(NULL, 7, &m, err, sizeof err), BB_OK);
    assert_int_equal(m, 7);
    assert_int_equal(bb_features_parse(" recency , Monetary,", 0, &m, err, sizeof err), BB_OK);
    assert_int_equal(m, (1u << BB_SEG_RECENCY) | (1u << BB_SEG_MONETARY));
    assert_int_equal(bb_features_parse("none", 5, &m, err, sizeof err), BB_OK);
    assert_int_equal(m, 0);
    assert_int_equal(bb_features_parse("", 5, &m, err, sizeof err), BB_OK);
    assert_int_equal(m, 0);
    assert_int_equal(bb_features_parse("all", 0, &m, err, sizeof err), BB_OK);
    assert_int_equal(m, BB_SEG_ALL_FEATURES);
    assert_int_equal(bb_features_parse("recency,gender", 0, &m, err, sizeof err), BB_ERR_CONFIG);
    assert_non_null(strstr(err, "\"gender\""));
    assert_non_null(strstr(err, "units_per_visit"));
    for (int f = 0; f < BB_SEG_FEATURES; f++) {
        assert_int_equal(bb_features_parse(bb_features_key((bb_seg_feature)f), 0, &m, err, sizeof err), BB_OK);
        assert_int_equal(m, 1u << f);
    }
}

/* ---- k-means ----------------------------------------------------------- */

static void test_seeding(void **state)
{
    (void)state;
    /* Three tight blobs far apart: greedy k-means++ puts one seed in each. */
    const double c[] = {0, 0, 100, 0, 0, 100};
    int32_t truth[300];
    double *x = blobs(c, 3, 100, 2, 1.0, 3, truth);
    for (uint64_t seed = 0; seed < 20; seed++) {
        bb_rng r;
        bb_rng_seed(&r, seed, 1);
        double centres[6];
        assert_int_equal(bb_kmeans_seed(x, 300, 2, 3, &r, centres), BB_OK);
        int hit[3] = {0, 0, 0};
        for (int j = 0; j < 3; j++) {
            bool is_row = false;
            for (size_t i = 0; i < 300; i++)
                if (x[i * 2] == centres[j * 2] && x[i * 2 + 1] == centres[j * 2 + 1]) {
                    is_row = true;
                    hit[truth[i]]++;
                }
            assert_true(is_row); /* seeds are data points */
        }
        assert_int_equal(hit[0], 1);
        assert_int_equal(hit[1], 1);
        assert_int_equal(hit[2], 1);
        /* The same stream gives the same seeds. */
        bb_rng_seed(&r, seed, 1);
        double again[6];
        assert_int_equal(bb_kmeans_seed(x, 300, 2, 3, &r, again), BB_OK);
        assert_memory_equal(centres, again, sizeof again);
    }
    bb_rng r;
    bb_rng_seed(&r, 1, 1);
    double centres[8];
    assert_int_equal(bb_kmeans_seed(x, 300, 2, 0, &r, centres), BB_ERR_CONFIG);
    free(x);
}

static void test_lloyd_blobs(void **state)
{
    (void)state;
    const double c[] = {0, 0, 0, 8, 0, 0, 0, 8, 0, -8, -8, 8};
    enum { K = 4, PER = 500, F = 3 };
    int32_t truth[K * PER];
    double *x = blobs(c, K, PER, F, 1.0, 11, truth);
    bb_kmeans_opts o;
    bb_kmeans_defaults(&o);
    o.threads = 1;
    bb_kmeans_result r;
    assert_int_equal(bb_kmeans_run(x, K * PER, F, K, &o, &r), BB_OK);
    assert_true(r.converged);
    assert_true(r.n_iter >= 1 && r.n_iter < 50);
    /* Every blob maps to one cluster, and each centre is near its blob's. */
    for (int j = 0; j < K; j++) {
        int32_t lab = r.labels[j * PER];
        for (int i = 0; i < PER; i++)
            assert_int_equal(r.labels[j * PER + i], lab);
        double d2 = bb_kmeans_dist_sq(r.centers + (size_t)lab * F, c + (size_t)j * F, F);
        assert_true(d2 < 0.05);
    }
    /* The inertia is the cost of those labels and centres. */
    double cost = 0;
    for (size_t i = 0; i < K * PER; i++)
        cost += bb_kmeans_dist_sq(x + i * F, r.centers + (size_t)r.labels[i] * F, F);
    assert_float_equal(r.inertia, cost, 1e-9 * cost);
    /* Centres are the means of their points. */
    for (int j = 0; j < K; j++) {
        double m[F] = {0};
        int n = 0;
        for (size_t i = 0; i < K * PER; i++)
            if (r.labels[i] == j) {
                for (int d = 0; d < F; d++)
                    m[d] += x[i * F + d];
                n++;
            }
        for (int d = 0; d < F; d++)
            assert_float_equal(r.centers[j * F + d], m[d] / n, 1e-9);
    }
    bb_kmeans_result_free(&r);

    /* Plain Lloyd by hand (exact differences) from the same start agrees with
     * the dgemm-based one. */
    double start[K * F];
    bb_rng rng;
    bb_rng_seed(&rng, 5, 5);
    assert_int_equal(bb_kmeans_seed(x, K * PER, F, K, &rng, start), BB_OK);
    double cen[K * F];
    memcpy(cen, start, sizeof cen);
    int32_t *lab = malloc(K * PER * sizeof *lab);
    double inertia;
    int it;
    bool conv;
    assert_int_equal(bb_kmeans_lloyd(x, K * PER, F, K, cen, 300, 0.0, lab, &inertia, &it, &conv), BB_OK);
    double ref[K * F];
    memcpy(ref, start, sizeof ref);
    int32_t *rl = malloc(K * PER * sizeof *rl);
    for (int step = 0; step < 300; step++) {
        double sum[K * F] = {0};
        int cnt[K] = {0};
        int changed = 0;
        for (size_t i = 0; i < K * PER; i++) {
            int best = 0;
            double bd = INFINITY;
            for (int j = 0; j < K; j++) {
                double d = bb_kmeans_dist_sq(x + i * F, ref + j * F, F);
                if (d < bd) {
                    bd = d;
                    best = j;
                }
            }
            changed += step == 0 || rl[i] != best;
            rl[i] = best;
            for (int d = 0; d < F; d++)
                sum[best * F + d] += x[i * F + d];
            cnt[best]++;
        }
        for (int j = 0; j < K; j++)
            for (int d = 0; d < F; d++)
                ref[j * F + d] = sum[j * F + d] / cnt[j];
        if (!changed)
            break;
    }
    assert_memory_equal(lab, rl, K * PER * sizeof *lab);
    for (int i = 0; i < K * F; i++)
        assert_float_equal(cen[i], ref[i], 1e-12);
    free(lab);
    free(rl);
    free(x);
}

static void test_empty_cluster(void **state)
{
    (void)state;
    /* Points at 0..9 and 100..109 on a line; a third centre far away gets
     * no point and must be re-seeded at the point farthest from its centre. */
    double x[20];
    for (int i = 0; i < 10; i++) {
        x[i] = i;
        x[10 + i] = 100 + i;
    }
    double c[3] = {4.5, 104.5, 1e6};
    int32_t lab[20];
    double inertia;
    int it;
    bool conv;
    assert_int_equal(bb_kmeans_lloyd(x, 20, 1, 3, c, 100, 0.0, lab, &inertia, &it, &conv), BB_OK);
    int cnt[3] = {0, 0, 0};
    for (int i = 0; i < 20; i++)
        cnt[lab[i]]++;
    assert_true(cnt[0] > 0 && cnt[1] > 0 && cnt[2] > 0);
    assert_true(c[2] < 200); /* moved onto the data */
    double cost = 0;
    for (int i = 0; i < 20; i++)
        cost += (x[i] - c[lab[i]]) * (x[i] - c[lab[i]]);
    assert_float_equal(inertia, cost, 1e-9);
    /* Fewer distinct points than clusters: no crash, every point labelled. */
    double same[6] = {1, 1, 1, 1, 1, 1};
    double c2[3] = {1, 1, 1};
    int32_t l2[6];
    assert_int_equal(bb_kmeans_lloyd(same, 6, 1, 3, c2, 10, 0.0, l2, &inertia, &it, &conv), BB_OK);
    assert_float_equal(inertia, 0, 0);
    /* Bad input is refused. */
    bb_kmeans_opts o;
    bb_kmeans_defaults(&o);
    bb_kmeans_result r;
    x[3] = NAN;
    assert_int_equal(bb_kmeans_run(x, 20, 1, 2, &o, &r), BB_ERR_DATA);
    assert_null(r.labels);
    x[3] = 3;
    assert_int_equal(bb_kmeans_run(x, 20, 1, 21, &o, &r), BB_ERR_CONFIG);
    o.n_init = 0;
    assert_int_equal(bb_kmeans_run(x, 20, 1, 2, &o, &r), BB_ERR_CONFIG);
}

static void test_hartigan(void **state)
{
    (void)state;
    /* {0, 2} and ten points at 3.4: Lloyd keeps 2 with 0 (|2 - 1| < |2 - 3.4|),
     * yet moving it lowers the inertia from 2 to 4 + 115.6 - 36^2 / 11:
     * (10 / 11) * 1.4^2 < (2 / 1) * 1^2. */
    double x[12] = {0, 2};
    for (int i = 2; i < 12; i++)
        x[i] = 3.4;
    double c[2] = {1, 3.4};
    int32_t lab[12];
    double inertia;
    int it;
    bool conv;
    assert_int_equal(bb_kmeans_lloyd(x, 12, 1, 2, c, 100, 0.0, lab, &inertia, &it, &conv), BB_OK);
    assert_int_equal(lab[1], 0);
    assert_float_equal(inertia, 2.0, 1e-12);
    assert_int_equal(bb_kmeans_refine(x, 12, 1, 2, c, lab, 100, &inertia), BB_OK);
    assert_int_equal(lab[0], 0);
    assert_int_equal(lab[1], 1);
    double want = 4 + 10 * 3.4 * 3.4 - 36.0 * 36.0 / 11;
    assert_float_equal(inertia, want, 1e-9);
    assert_float_equal(c[0], 0, 1e-12);
    assert_float_equal(c[1], 36.0 / 11, 1e-12);
    /* The whole run refines every restart. */
    bb_kmeans_opts o;
    bb_kmeans_defaults(&o);
    bb_kmeans_result r;
    assert_int_equal(bb_kmeans_run(x, 12, 1, 2, &o, &r), BB_OK);
    assert_true(r.inertia <= want + 1e-9);
    bb_kmeans_result_free(&r);
}

static void test_tolerance(void **state)
{
    (void)state;
    /* Column variances 1.25 and 5 (population): mean 3.125. */
    const double x[] = {1, 2, 2, 4, 3, 6, 4, 8};
    assert_float_equal(bb_kmeans_tolerance(x, 4, 2, 1e-4), 3.125e-4, 1e-15);
}

/* ---- quality ----------------------------------------------------------- */

static void test_scores_by_hand(void **state)
{
    (void)state;
    const double x[] = {0, 1, 10, 11};
    const int32_t lab[] = {0, 0, 1, 1};
    double db, ch, sil;
    assert_int_equal(bb_quality_scores(x, 4, 1, lab, 2, &db, &ch), BB_OK);
    /* Centroids 0.5 and 10.5: between 2*25 + 2*25 = 100, within 4 * 0.25 = 1. */
    assert_float_equal(ch, 100.0 * 2 / 1, 1e-9);
    /* S = 0.5 for both, centroid distance 10. */
    assert_float_equal(db, 0.1, 1e-12);
    const int32_t *ls[] = {lab};
    int k = 2;
    assert_int_equal(bb_quality_silhouette(x, 4, 1, ls, &k, 1, 1, &sil), BB_OK);
    /* s(0) = (10.5 - 1) / 10.5, s(1) = (9.5 - 1) / 9.5, symmetric for 10, 11. */
    double want = ((9.5 / 10.5) + (8.5 / 9.5)) / 2;
    assert_float_equal(sil, want, 1e-12);

    /* A point alone in its cluster scores 0; one cluster is undefined. */
    const double y[] = {0, 1, 2, 50};
    const int32_t l2[] = {0, 0, 0, 1};
    const int32_t *ls2[] = {l2};
    assert_int_equal(bb_quality_silhouette(y, 4, 1, ls2, &k, 1, 1, &sil), BB_OK);
    /* a = 1.5, 1, 1.5 and b = 50, 49, 48 for the first three; s(3) = 0. */
    want = ((48.5 / 50.0) + (48.0 / 49.0) + (46.5 / 48.0)) / 4;
    assert_float_equal(sil, want, 1e-12);
    const int32_t l3[] = {0, 0, 0, 0};
    const int32_t *ls3[] = {l3};
    assert_int_equal(bb_quality_silhouette(y, 4, 1, ls3, &k, 1, 1, &sil), BB_OK);
    assert_true(isnan(sil));
    assert_int_equal(bb_quality_scores(y, 4, 1, l3, 2, &db, &ch), BB_OK);
    assert_true(isnan(db) && isnan(ch));

    /* Two dimensions: DB with three clusters, the worst ratio per cluster. */
    const double p[] = {0, 0, 0, 2, 10, 0, 10, 2, 0, 20, 2, 20};
    const int32_t lp[] = {0, 0, 1, 1, 2, 2};
    assert_int_equal(bb_quality_scores(p, 6, 2, lp, 3, &db, &ch), BB_OK);
    /* Centroids (0,1) (10,1) (1,20); S = 1, 1, 1. d01 = 10, d02 = sqrt(1+361), d12 = sqrt(81+361). */
    double d02 = sqrt(362.0), d12 = sqrt(442.0);
    double s0 = fmax(2 / 10.0, 2 / d02), s1 = fmax(2 / 10.0, 2 / d12), s2 = fmax(2 / d02, 2 / d12);
    assert_float_equal(db, (s0 + s1 + s2) / 3, 1e-12);
}

static void test_sample(void **state)
{
    (void)state;
    uint32_t *a, *b;
    assert_int_equal(bb_quality_sample(1000, 100, 7, 1, &a), BB_OK);
    assert_int_equal(bb_quality_sample(1000, 100, 7, 1, &b), BB_OK);
    assert_memory_equal(a, b, 100 * sizeof *a);
    for (int i = 1; i < 100; i++)
        assert_true(a[i] > a[i - 1]);
    assert_true(a[99] < 1000);
    free(b);
    assert_int_equal(bb_quality_sample(1000, 100, 8, 1, &b), BB_OK);
    assert_memory_not_equal(a, b, 100 * sizeof *a);
    free(a);
    free(b);
    assert_int_equal(bb_quality_sample(5, 10, 7, 1, &a), BB_OK);
    for (uint32_t i = 0; i < 5; i++)
        assert_int_equal(a[i], i);
    free(a);
}

/* ---- PCA --------------------------------------------------------------- */

static void test_pca_known(void **state)
{
    (void)state;
    /* (+-3, 0), (0, +-1) rotated by 30 degrees and shifted by (5, -2): the
     * covariance (n - 1 = 3) has eigenvalues 6 and 2/3 along the rotated axes. */
    double th = acos(-1.0) / 6, ct = cos(th), st = sin(th);
    const double base[4][2] = {{3, 0}, {-3, 0}, {0, 1}, {0, -1}};
    double x[8];
    for (int i = 0; i < 4; i++) {
        x[i * 2] = 5 + ct * base[i][0] - st * base[i][1];
        x[i * 2 + 1] = -2 + st * base[i][0] + ct * base[i][1];
    }
    double mean[2], axes[4], var[2], ratio[2];
    assert_int_equal(bb_pca_fit(x, 4, 2, 2, mean, axes, var, ratio), BB_OK);
    assert_float_equal(mean[0], 5, 1e-12);
    assert_float_equal(mean[1], -2, 1e-12);
    assert_float_equal(var[0], 6, 1e-12);
    assert_float_equal(var[1], 2.0 / 3.0, 1e-12);
    assert_float_equal(ratio[0], 0.9, 1e-12);
    assert_float_equal(ratio[1], 0.1, 1e-12);
    /* First axis (cos, sin) 30 degrees, sign: largest loading positive. */
    assert_float_equal(axes[0], ct, 1e-12);
    assert_float_equal(axes[1], st, 1e-12);
    assert_float_equal(fabs(axes[2]), st, 1e-12);
    assert_float_equal(fabs(axes[3]), ct, 1e-12);
    assert_true(axes[3] > 0); /* |cos| > |sin|: the y loading is the positive one */
    double xy[2];
    bb_pca_project(x, 1, 2, 2, mean, axes, xy);
    assert_float_equal(xy[0], 3, 1e-12);
    assert_float_equal(xy[1], 0, 1e-12);
    bb_pca_project(x + 4, 1, 2, 2, mean, axes, xy);
    assert_float_equal(xy[0], 0, 1e-12);
    assert_float_equal(fabs(xy[1]), 1, 1e-12);
    assert_int_equal(bb_pca_fit(x, 1, 2, 2, mean, axes, var, ratio), BB_ERR_CONFIG);
}

/* ---- naming ------------------------------------------------------------ */

static void set_z(double *c, int f, double v)
{
    c[f] = v;
}

static void test_naming_rules(void **state)
{
    (void)state;
    enum { K = 6 };
    double z[K * BB_SEG_FEATURES];
    for (int i = 0; i < K * BB_SEG_FEATURES; i++)
        z[i] = 0;
    double *lapsed = z, *champ = z + BB_SEG_FEATURES, *risk = z + 2 * BB_SEG_FEATURES,
           *fresh = z + 3 * BB_SEG_FEATURES, *big = z + 4 * BB_SEG_FEATURES, *svc = z + 5 * BB_SEG_FEATURES;
    set_z(lapsed, BB_SEG_RECENCY, 1.5);
    set_z(lapsed, BB_SEG_FREQUENCY, -1.0);
    set_z(lapsed, BB_SEG_MONETARY, -1.0);
    set_z(champ, BB_SEG_RECENCY, -1.0);
    set_z(champ, BB_SEG_FREQUENCY, 1.5);
    set_z(champ, BB_SEG_MONETARY, 1.5);
    set_z(champ, BB_SEG_LONGEST_STREAK, 1.0);
    set_z(risk, BB_SEG_RECENCY, 1.2);
    set_z(risk, BB_SEG_FREQUENCY, 1.0);
    set_z(risk, BB_SEG_MONETARY, 1.2);
    set_z(fresh, BB_SEG_TENURE, -1.8);
    set_z(fresh, BB_SEG_RECENCY, -0.8);
    set_z(fresh, BB_SEG_FREQUENCY, -0.6);
    set_z(big, BB_SEG_AVG_VISIT_VALUE, 2.0);
    set_z(big, BB_SEG_FREQUENCY, -0.3);
    set_z(svc, BB_SEG_SERVICE_SHARE, 1.5);
    char names[K][BB_NAMING_SIZE];
    int rule[K];
    bb_naming_assign(z, K, BB_SEG_ALL_FEATURES, names, NULL, rule);
    assert_string_equal(names[0], "Lapsed");
    assert_string_equal(names[1], "Champions");
    assert_string_equal(names[2], "At risk");
    assert_string_equal(names[3], "New");
    assert_string_equal(names[4], "Big spenders");
    assert_string_equal(names[5], "Service regulars");
    for (int j = 0; j < K; j++)
        assert_true(rule[j] >= 0);

    /* Order by value: spend + visits - days since the last visit. */
    uint32_t first[K] = {0, 1, 2, 3, 4, 5};
    int order[K];
    bb_naming_order(z, K, BB_SEG_ALL_FEATURES, first, order);
    /* champions 4, at risk 1, new 0.2, service 0, big -0.3, lapsed -3.5 */
    const int want_order[K] = {1, 2, 3, 5, 4, 0};
    assert_memory_equal(order, want_order, sizeof order);
    /* Ties in value go to the cluster with the lower first customer. */
    double tie[2 * BB_SEG_FEATURES] = {0};
    tie[BB_SEG_MONETARY] = 1;
    tie[BB_SEG_FEATURES + BB_SEG_FREQUENCY] = 1;
    uint32_t tf[2] = {9, 8};
    bb_naming_order(tie, 2, BB_SEG_ALL_FEATURES, tf, order);
    assert_int_equal(order[0], 1);
    tf[1] = 10;
    bb_naming_order(tie, 2, BB_SEG_ALL_FEATURES, tf, order);
    assert_int_equal(order[0], 0);

    /* Without the service share, no service names; names stay unique and
     * fall back to features when the rules run out. */
    unsigned used = (1u << BB_SEG_RECENCY) | (1u << BB_SEG_FREQUENCY);
    bb_naming_assign(z, K, used, names, NULL, rule);
    for (int a = 0; a < K; a++) {
        assert_null(strstr(names[a], "Service"));
        assert_null(strstr(names[a], "Big spenders"));
        assert_null(strstr(names[a], "New"));
        for (int b = a + 1; b < K; b++)
            assert_string_not_equal(names[a], names[b]);
    }
    bb_naming_assign(z, 1, used, names, NULL, rule);
    assert_string_equal(names[0], BB_NAMING_SINGLE);

    /* Twelve clusters: ten rules, then names from features. */
    double many[12 * BB_SEG_FEATURES];
    bb_rng r;
    bb_rng_seed(&r, 1, 1);
    for (int i = 0; i < 12 * BB_SEG_FEATURES; i++)
        many[i] = bb_rng_normal(&r);
    char mn[12][BB_NAMING_SIZE];
    int mr[12];
    bb_naming_assign(many, 12, BB_SEG_ALL_FEATURES, mn, NULL, mr);
    int from_rules = 0;
    for (int a = 0; a < 12; a++) {
        from_rules += mr[a] >= 0;
        assert_true(strlen(mn[a]) > 0);
        for (int b = a + 1; b < 12; b++)
            assert_string_not_equal(mn[a], mn[b]);
    }
    assert_int_equal(from_rules, (int)bb_naming_rule_count());
}

/* ---- determinism ------------------------------------------------------- */

static void test_threads_identical(void **state)
{
    (void)state;
    /* Overlapping blobs in 6-D: many iterations, local minima differ by restart. */
    double c[5 * 6];
    bb_rng r;
    bb_rng_seed(&r, 99, 0);
    for (int i = 0; i < 30; i++)
        c[i] = 2.0 * bb_rng_normal(&r);
    enum { N = 5 * 3000 };
    double *x = blobs(c, 5, 3000, 6, 1.5, 4, NULL);
    const int ks[] = {2, 3, 4, 5, 6, 7};
    bb_kmeans_opts o;
    bb_kmeans_defaults(&o);
    o.n_init = 4;
    bb_kmeans_result a[6], b[6];
    o.threads = 1;
    assert_int_equal(bb_kmeans_run_many(x, N, 6, ks, 6, &o, a), BB_OK);
    o.threads = 2;
    assert_int_equal(bb_kmeans_run_many(x, N, 6, ks, 6, &o, b), BB_OK);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(a[i].k, ks[i]);
        assert_memory_equal(&a[i].inertia, &b[i].inertia, sizeof(double));
        assert_int_equal(a[i].best_init, b[i].best_init);
        assert_memory_equal(a[i].labels, b[i].labels, N * sizeof(int32_t));
        assert_memory_equal(a[i].centers, b[i].centers, (size_t)ks[i] * 6 * sizeof(double));
    }
    /* A k run alone equals the same k within a scan. */
    bb_kmeans_result one;
    o.threads = 2;
    assert_int_equal(bb_kmeans_run(x, N, 6, 5, &o, &one), BB_OK);
    assert_memory_equal(&one.inertia, &a[3].inertia, sizeof(double));
    assert_memory_equal(one.labels, a[3].labels, N * sizeof(int32_t));
    bb_kmeans_result_free(&one);
    /* The silhouette too, over blocks on different threads. */
    const int32_t *ls[] = {a[1].labels, a[3].labels};
    const int kk[] = {3, 5};
    double s1[2], s2[2];
    assert_int_equal(bb_quality_silhouette(x, 4000, 6, ls, kk, 2, 1, s1), BB_OK);
    assert_int_equal(bb_quality_silhouette(x, 4000, 6, ls, kk, 2, 2, s2), BB_OK);
    assert_memory_equal(s1, s2, sizeof s1);
    assert_true(s1[0] > -1 && s1[0] < 1);
    for (int i = 0; i < 6; i++) {
        bb_kmeans_result_free(&a[i]);
        bb_kmeans_result_free(&b[i]);
    }
    free(x);
}

static void check_run(const bb_dataset *ds, const bb_segmentation *s, int want_k)
{
    assert_int_equal(s->n_customers, ds->customers.n);
    assert_int_equal(s->k, want_k);
    uint32_t total = s->none.customers, with = 0;
    for (int j = 0; j < s->k; j++) {
        total += s->segments[j].customers;
        assert_true(s->segments[j].customers > 0);
        for (int i = j + 1; i < s->k; i++)
            assert_string_not_equal(s->segments[j].name, s->segments[i].name);
        assert_string_not_equal(s->segments[j].name, BB_NAMING_NONE);
    }
    assert_int_equal(total, s->n_customers);
    int64_t rev = s->none.revenue_cents;
    for (int j = 0; j < s->k; j++)
        rev += s->segments[j].revenue_cents;
    assert_int_equal(rev, s->revenue_cents);
    for (uint32_t c = 0; c < s->n_customers; c++) {
        double freq = s->features[(size_t)c * BB_SEG_FEATURES + BB_SEG_FREQUENCY];
        if (freq > 0) {
            with++;
            assert_true(s->segment[c] >= 0 && s->segment[c] < s->k);
            assert_true(s->distance[c] >= 0);
        } else {
            assert_int_equal(s->segment[c], BB_SEG_NONE);
            assert_true(isnan(s->distance[c]));
        }
    }
    assert_int_equal(with, s->n_clustered);
    /* Every customer is nearest to its own centroid. */
    size_t f = (size_t)s->n_dims;
    for (uint32_t c = 0; c < s->n_customers; c++) {
        if (s->segment[c] < 0)
            continue;
        double z[BB_SEG_FEATURES];
        for (size_t d = 0; d < f; d++)
            z[d] = bb_features_scaled(&s->scale[s->dims[d]], s->features[(size_t)c * BB_SEG_FEATURES + s->dims[d]]);
        double own = bb_kmeans_dist_sq(z, s->centroids + (size_t)s->segment[c] * f, f);
        assert_float_equal(sqrt(own), s->distance[c], 1e-9);
        for (int j = 0; j < s->k; j++)
            assert_true(own <= bb_kmeans_dist_sq(z, s->centroids + (size_t)j * f, f) + 1e-9);
    }
    /* Medians as numpy computes them (sorted, middle or mean of the two
     * middle values), means over customers. */
    double *vals = malloc(s->n_customers * sizeof *vals);
    for (int j = 0; j < s->k; j++) {
        const bb_seg_profile *p = &s->segments[j];
        for (int g = 0; g < BB_SEG_FEATURES; g++) {
            size_t m = 0;
            double sum = 0;
            for (uint32_t c = 0; c < s->n_customers; c++)
                if (s->segment[c] == j && isfinite(s->features[(size_t)c * BB_SEG_FEATURES + g])) {
                    vals[m] = s->features[(size_t)c * BB_SEG_FEATURES + g];
                    sum += vals[m++];
                }
            qsort(vals, m, sizeof *vals, cmp_double);
            double med = m % 2 ? vals[m / 2] : (vals[m / 2 - 1] + vals[m / 2]) / 2;
            assert_float_equal(p->median[g], med, 1e-12 * fmax(1, fabs(med)));
            assert_float_equal(p->mean[g], sum / (double)m, 1e-9 * fmax(1, fabs(sum / (double)m)));
        }
        uint32_t bands = 0;
        for (int b = 0; b < BB_SEG_AGE_BANDS; b++)
            bands += p->age_band[b];
        assert_int_equal(bands, p->customers);
        uint32_t genders = 0;
        for (uint32_t g = 0; g <= s->n_genders; g++)
            genders += p->gender[g];
        assert_int_equal(genders, p->customers);
    }
    free(vals);
    /* Value order: segment 0 spends more per customer than the last. */
    if (s->k > 1)
        assert_true(s->segments[0].mean[BB_SEG_MONETARY] > s->segments[s->k - 1].mean[BB_SEG_MONETARY]);
    assert_true(s->n_points > 0 && s->n_points <= BB_SEG_MAX_POINTS);
    assert_true(s->pca_ratio[0] >= s->pca_ratio[1] && s->pca_ratio[0] + s->pca_ratio[1] <= 1 + 1e-12);
    for (size_t i = 0; i < s->n_points; i++)
        assert_int_equal(s->point_segment[i], s->segment[s->point_customer[i]]);
}

static void compare_runs(const bb_segmentation *a, const bb_segmentation *b)
{
    assert_int_equal(a->k, b->k);
    assert_memory_equal(a->segment, b->segment, a->n_customers * sizeof *a->segment);
    assert_memory_equal(&a->inertia, &b->inertia, sizeof a->inertia);
    assert_int_equal(a->n_scan, b->n_scan);
    assert_memory_equal(a->scan, b->scan, a->n_scan * sizeof *a->scan);
    assert_memory_equal(a->point_x, b->point_x, a->n_points * sizeof *a->point_x);
    for (int j = 0; j < a->k; j++)
        assert_string_equal(a->segments[j].name, b->segments[j].name);
}

static void test_sample_run(void **state)
{
    (void)state;
    bb_dataset *ds = load_sample();
    bb_segment_opts o;
    bb_segment_defaults(&o);
    o.threads = 1;
    bb_segmentation *a, *b;
    assert_int_equal(bb_segment_run(ds, &o, NULL, &a), BB_OK);
    check_run(ds, a, 5);
    assert_int_equal(a->n_scan, 9);
    assert_int_equal(a->scan[0].k, 2);
    assert_false(a->silhouette_sampled);
    assert_int_equal(a->silhouette_n, a->n_clustered);
    for (size_t i = 1; i < a->n_scan; i++)
        assert_true(a->scan[i].inertia < a->scan[i - 1].inertia * 1.0001);
    assert_true(a->k_favoured >= 2 && a->k_favoured <= 10);
    o.threads = 2;
    assert_int_equal(bb_segment_run(ds, &o, NULL, &b), BB_OK);
    compare_runs(a, b);
    bb_segmentation_free(b);

    /* Texts: names get theirs, unknown names "_other"'s. */
    const char *json = "{\"Champions\": {\"description\": \"Best\", \"actions\": [\"a\", \"b\", \"c\", \"d\"]},"
                       " \"_other\": {\"description\": \"Other\", \"actions\": [\"x\"]}}";
    assert_int_equal(bb_segment_set_texts(a, json, strlen(json), NULL), BB_OK);
    for (int j = 0; j <= a->k; j++) {
        const bb_seg_profile *p = j < a->k ? &a->segments[j] : &a->none;
        if (strcmp(p->name, "Champions") == 0) {
            assert_string_equal(p->description, "Best");
            assert_int_equal(p->n_actions, 3);
        } else {
            assert_string_equal(p->description, "Other");
            assert_int_equal(p->n_actions, 1);
        }
    }
    assert_int_equal(bb_segment_set_texts(a, "[1]", 3, NULL), BB_ERR_CONFIG);

    /* The assignments file: every customer, names, distances. */
    char dir[] = "/tmp/bb_seg_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/segments.csv", dir);
    assert_int_equal(bb_segment_save_assignments(a, ds, path), BB_OK);
    char *text;
    size_t len;
    assert_int_equal(bb_fs_read_file(path, 1 << 24, &text, &len), BB_OK);
    assert_true(strncmp(text, "CustomerID,Segment,Distance\n", 28) == 0);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    assert_int_equal(lines, ds->customers.n + 1);
    char want[256];
    snprintf(want, sizeof want, "\n%s,%s,", bb_intern_str(ds->customers.ids, 0), bb_segment_name(a, a->segment[0]));
    assert_non_null(strstr(text, want));
    free(text);
    bb_fs_rmtree(dir);

    /* The manifest part. */
    cJSON *m = cJSON_CreateObject();
    assert_int_equal(bb_segment_manifest(a, m), BB_OK);
    cJSON *seg = cJSON_GetObjectItemCaseSensitive(m, "segmentation");
    assert_non_null(seg);
    cJSON *feats = cJSON_GetObjectItemCaseSensitive(seg, "features");
    assert_int_equal(cJSON_GetArraySize(feats), BB_SEG_FEATURES);
    cJSON *f0 = cJSON_GetArrayItem(feats, 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(f0, "name")->valuestring, "recency");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(f0, "transform")->valuestring, "log1p");
    assert_float_equal(cJSON_GetObjectItemCaseSensitive(f0, "mean")->valuedouble, a->scale[0].mean, 1e-12);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(seg, "scan")), 9);
    cJSON_Delete(m);
    bb_segmentation_free(a);

    /* A scan on a sample: estimates from 120 customers, the segments in use
     * from all of them, the same with 1 and 2 threads. */
    o.scan_sample = 120;
    o.silhouette_sample = 100;
    o.threads = 1;
    assert_int_equal(bb_segment_run(ds, &o, NULL, &a), BB_OK);
    check_run(ds, a, 5);
    assert_true(a->scan_sampled);
    assert_int_equal(a->scan_n, 120);
    assert_true(a->silhouette_sampled);
    assert_int_equal(a->silhouette_n, 100);
    assert_true(a->scan[3].inertia < a->inertia); /* k = 5 on 120 of 283 customers */
    o.threads = 2;
    assert_int_equal(bb_segment_run(ds, &o, NULL, &b), BB_OK);
    compare_runs(a, b);
    bb_segmentation_free(a);
    bb_segmentation_free(b);
    o.scan_sample = 10000;
    o.silhouette_sample = 10000;

    /* Options: the feature set and k are honoured, bad ones refused. */
    o.features = "recency,frequency,monetary";
    o.k = 3;
    o.k_max = 4;
    assert_int_equal(bb_segment_run(ds, &o, NULL, &a), BB_OK);
    assert_int_equal(a->n_dims, 3);
    assert_int_equal(a->k, 3);
    assert_int_equal(a->n_scan, 3);
    assert_false(a->scale[BB_SEG_TENURE].selected);
    bb_segmentation_free(a);
    o.features = "recency,colour";
    a = (bb_segmentation *)&o;
    assert_int_equal(bb_segment_run(ds, &o, NULL, &a), BB_ERR_CONFIG);
    assert_null(a);
    o.features = NULL;
    o.k = 0;
    assert_int_equal(bb_segment_run(ds, &o, NULL, &a), BB_ERR_CONFIG);
    o.k = 5;
    o.k_min = 1;
    assert_int_equal(bb_segment_run(ds, &o, NULL, &a), BB_ERR_CONFIG);
    bb_dataset_free(ds);
}

static void test_migrations(void **state)
{
    (void)state;
    bb_dataset *ds = load_sample();
    bb_segment_opts o;
    bb_segment_defaults(&o);
    bb_segmentation *a, *b;
    assert_int_equal(bb_segment_run(ds, &o, NULL, &a), BB_OK);
    o.k = 4;
    assert_int_equal(bb_segment_run(ds, &o, NULL, &b), BB_OK);
    char dir[] = "/tmp/bb_seg_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/segments.csv", dir);
    assert_int_equal(bb_segment_save_assignments(a, ds, path), BB_OK);

    /* Against itself: nobody moved. */
    assert_int_equal(bb_segment_migrations(a, ds, path, NULL), BB_OK);
    assert_non_null(a->migrations);
    assert_int_equal(a->migrations->matched, ds->customers.n);
    assert_int_equal(a->migrations->moved, 0);
    assert_int_equal(a->migrations->new_customers, 0);
    assert_int_equal(a->migrations->gone, 0);
    for (int j = 0; j <= a->k; j++)
        assert_string_equal(a->migrations->from[j], bb_segment_name(a, j < a->k ? j : BB_SEG_NONE));

    /* k = 4 tonight against k = 5 last night: counts add up, moves are the
     * customers whose segment name changed. */
    assert_int_equal(bb_segment_migrations(b, ds, path, NULL), BB_OK);
    const bb_seg_migrations *m = b->migrations;
    uint32_t total = 0, moved = 0;
    for (int i = 0; i < m->n_from; i++)
        for (int j = 0; j <= b->k; j++)
            total += m->counts[(size_t)i * (size_t)(b->k + 1) + (size_t)j];
    for (uint32_t c = 0; c < ds->customers.n; c++)
        moved += strcmp(bb_segment_name(a, a->segment[c]), bb_segment_name(b, b->segment[c])) != 0;
    assert_int_equal(total, ds->customers.n);
    assert_int_equal(m->moved, moved);
    assert_true(moved > 0);
    uint32_t stay_none = m->counts[(size_t)b->k * (size_t)(b->k + 1) + (size_t)b->k];
    assert_int_equal(stay_none, b->none.customers); /* the no-purchase group is the same */

    /* Customers unknown tonight are gone; tonight's unmatched ones are new. */
    const char *prev = "CustomerID,Segment,Distance\nNOBODY,Champions,1.0\nCust0001,Lapsed,0.5\n";
    assert_int_equal(bb_fs_write_file(path, prev, strlen(prev)), BB_OK);
    assert_int_equal(bb_segment_migrations(b, ds, path, NULL), BB_OK);
    assert_int_equal(b->migrations->matched, 1);
    assert_int_equal(b->migrations->gone, 1);
    assert_int_equal(b->migrations->new_customers, ds->customers.n - 1);
    /* Not such a file, or none at all: refused, the last result kept. */
    assert_int_equal(bb_fs_write_file(path, "a,b\n1,2\n", 8), BB_OK);
    assert_int_equal(bb_segment_migrations(b, ds, path, NULL), BB_ERR_DATA);
    assert_int_equal(b->migrations->matched, 1);
    snprintf(path, sizeof path, "%s/missing.csv", dir);
    assert_int_equal(bb_segment_migrations(b, ds, path, NULL), BB_ERR_NOINPUT);
    bb_fs_rmtree(dir);
    bb_segmentation_free(a);
    bb_segmentation_free(b);
    bb_dataset_free(ds);
}

static void test_small_runs(void **state)
{
    (void)state;
    char dir[] = "/tmp/bb_seg_XXXXXX";
    assert_non_null(mkdtemp(dir));
    write_file(dir, "customers.csv",
               "CustomerID,Age,Gender,RegistrationDate,ZipCode,EmailSubscription,SMSSubscription\n"
               "A,30,F,2023-01-01,1,True,False\nB,40,M,2023-01-01,1,True,False\n"
               "C,50,F,2023-01-01,1,True,False\nD,,,,,,\n");
    write_file(dir, "items.csv", "ItemID,ItemName,ItemCategory,ItemSubcategory,UnitPrice\nI,Cut,Service,Hair,30.00\n");
    /* One buyer: one segment, the rest "No purchases yet". */
    write_file(dir, "purchases.csv", "CustomerID,ItemID,Quantity,PurchaseDate,TotalPrice,EmployeeID\n"
                                     "A,I,1,2023-02-01,30.00,\n");
    bb_dataset *ds = load_dir(dir, NULL);
    bb_segment_opts o;
    bb_segment_defaults(&o);
    bb_segmentation *s;
    assert_int_equal(bb_segment_run(ds, &o, NULL, &s), BB_OK);
    assert_int_equal(s->k, 1);
    assert_string_equal(s->segments[0].name, BB_NAMING_SINGLE);
    assert_int_equal(s->none.customers, 3);
    assert_string_equal(bb_segment_name(s, BB_SEG_NONE), BB_NAMING_NONE);
    assert_int_equal(s->n_scan, 0);
    bb_segmentation_free(s);
    bb_dataset_free(ds);
    /* Three buyers: k shrinks to 3, the scan to k = 2. */
    write_file(dir, "purchases.csv", "CustomerID,ItemID,Quantity,PurchaseDate,TotalPrice,EmployeeID\n"
                                     "A,I,1,2023-02-01,30.00,\nB,I,2,2023-03-01,60.00,\n"
                                     "B,I,1,2023-04-01,30.00,\nC,I,1,2023-05-01,30.00,\n");
    ds = load_dir(dir, NULL);
    assert_int_equal(bb_segment_run(ds, &o, NULL, &s), BB_OK);
    check_run(ds, s, 3);
    assert_int_equal(s->n_scan, 1);
    assert_int_equal(s->scan[0].k, 2);
    assert_int_equal(s->none.customers, 1);
    assert_true(isnan(s->none.median[BB_SEG_RECENCY]));
    assert_float_equal(s->none.median[BB_SEG_FREQUENCY], 0, 0);
    bb_segmentation_free(s);
    bb_dataset_free(ds);
    bb_fs_rmtree(dir);
}

/* ---- shared ------------------------------------------------------------ */

static void test_seed_run(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/data/seed", bb_test_shared_dir());
    bb_dataset *ds = load_dir(dir, NULL);
    bb_segment_opts o;
    bb_segment_defaults(&o);
    o.threads = 1;
    bb_segmentation *a, *b;
    assert_int_equal(bb_segment_run(ds, &o, NULL, &a), BB_OK);
    check_run(ds, a, 5);
    o.threads = 2;
    assert_int_equal(bb_segment_run(ds, &o, NULL, &b), BB_OK);
    compare_runs(a, b);
    bb_segmentation_free(a);
    bb_segmentation_free(b);
    bb_dataset_free(ds);
}

static void test_groceries_run(void **state)
{
    (void)state;
    /* Another system's export: no prices, no categories, no customers file. */
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/data/groceries", bb_test_shared_dir());
    bb_ingest_opts io;
    bb_ingest_defaults(&io);
    io.data_dir = dir;
    io.file[BB_FILE_PURCHASES].file = "Groceries_dataset.csv";
    io.file[BB_FILE_PURCHASES].date_format = "DD-MM-YYYY";
    io.file[BB_FILE_PURCHASES].column[BB_COL_PUR_CUSTOMER] = "Member_number";
    io.file[BB_FILE_PURCHASES].column[BB_COL_PUR_ITEM] = "itemDescription";
    io.file[BB_FILE_PURCHASES].column[BB_COL_PUR_DATE] = "Date";
    io.file[BB_FILE_PURCHASES].column[BB_COL_PUR_QUANTITY] = "";
    io.file[BB_FILE_PURCHASES].column[BB_COL_PUR_TOTAL] = "";
    io.file[BB_FILE_PURCHASES].column[BB_COL_PUR_EMPLOYEE] = "";
    bb_dataset *ds = NULL;
    assert_int_equal(bb_ingest_load(&io, NULL, &ds, NULL), BB_OK);
    bb_segment_opts o;
    bb_segment_defaults(&o);
    bb_segmentation *s;
    assert_int_equal(bb_segment_run(ds, &o, NULL, &s), BB_OK);
    assert_int_equal(s->k, 5);
    assert_false(s->has_revenue);
    assert_false(s->scale[BB_SEG_MONETARY].used);
    assert_false(s->scale[BB_SEG_SERVICE_SHARE].used);
    assert_true(s->scale[BB_SEG_FREQUENCY].used);
    for (int j = 0; j < s->k; j++) {
        assert_null(strstr(s->segments[j].name, "Big spenders"));
        assert_true(isnan(s->segments[j].revenue_share));
    }
    bb_segmentation_free(s);
    bb_dataset_free(ds);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_features_by_hand), cmocka_unit_test(test_feature_lists),
        cmocka_unit_test(test_seeding),          cmocka_unit_test(test_lloyd_blobs),
        cmocka_unit_test(test_empty_cluster),    cmocka_unit_test(test_tolerance),
        cmocka_unit_test(test_hartigan),
        cmocka_unit_test(test_scores_by_hand),   cmocka_unit_test(test_sample),
        cmocka_unit_test(test_pca_known),        cmocka_unit_test(test_naming_rules),
        cmocka_unit_test(test_threads_identical), cmocka_unit_test(test_sample_run),
        cmocka_unit_test(test_small_runs),       cmocka_unit_test(test_migrations),
    };
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(test_seed_run),
        cmocka_unit_test(test_groceries_run),
    };
    return BB_TEST_RUN(argc, argv, unit, shared);
}
