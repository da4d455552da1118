/* Tests of the recommendation stage: the CSR matrix and the time split (no
 * purchase of a later period in a view), metrics on hand-made rankings,
 * EASE against a direct solve, item-kNN and popularity, reasons, the model
 * file (round trip, a corrupt byte, another version, mismatched items), the
 * CSV, determinism (seed; 1 against 2 threads), the command, and the "done
 * when" checks: on generated data the served model beats popularity; on
 * ../shared/data/seed (items drawn at random) no model does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cblas.h>
#include <cmocka.h>

#include "bb_test.h"
#include "gen/gen.h"
#include "ingest/ingest.h"
#include "recommend/baselines.h"
#include "recommend/evaluate.h"
#include "recommend/interactions.h"
#include "recommend/model_file.h"
#include "recommend/reasons.h"
#include "pipeline/pipeline.h"
#include "recommend/recommend.h"
#include "util/date.h"
#include "util/fs.h"
#include "util/rng.h"
#include "util/sha256.h"

/* ---- fixtures ----------------------------------------------------------- */

static bb_log *quiet_log(void)
{
    bb_log *log = NULL;
    assert_int_equal(bb_log_new(&log, NULL, BB_LOG_ERROR), BB_OK);
    return log;
}

static char *temp_dir(void)
{
    char *d = malloc(64);
    snprintf(d, 64, "/tmp/bb_recs_XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(bb_fs_write_file(path, text, strlen(text)), BB_OK);
}

static bb_dataset *load(const char *dir, bb_log *log)
{
    bb_ingest_opts o;
    bb_ingest_defaults(&o);
    o.data_dir = dir;
    bb_dataset *ds = NULL;
    assert_int_equal(bb_ingest_load(&o, log, &ds, NULL), BB_OK);
    return ds;
}

/* Generated data with preferences (bbreport gen), cached per process. */
static char *gen_dir(uint64_t customers, uint64_t items, uint64_t purchases, uint64_t seed)
{
    char *d = temp_dir();
    bb_gen_opts o;
    bb_gen_defaults(&o);
    o.customers = customers;
    o.items = items;
    o.purchases = purchases;
    o.seed = seed;
    o.out_dir = d;
    assert_int_equal(bb_gen_write(&o, NULL), BB_OK);
    return d;
}

static void small_opts(bb_rec_opts *o, int threads)
{
    bb_rec_defaults(o);
    o->max_epochs = 12;
    o->threads = threads;
    o->seed = 11;
}

/* A tiny shop: C1..C4, I1..I4 (I1 a Haircut: repeatable), as of 2024-03-31
 * with a 10-day hold-out: test from 03-22, validation from 03-12. */
static const char *ITEMS =
    "ItemID,ItemName,ItemCategory,ItemSubcategory,UnitPrice\n"
    "I1,Cut,Service,Haircut,30\n"
    "I2,Colour,Service,Coloring,80\n"
    "I3,Shampoo,Product,Shampoo,12\n"
    "I4,Mask,Product,Treatment Products,20\n";
static const char *CUSTOMERS =
    "CustomerID,Age,Gender,RegistrationDate,ZipCode,EmailSubscription,SMSSubscription\n"
    "C1,30,F,2023-01-01,1000,True,True\n"
    "C2,40,M,2023-01-01,1000,True,True\n"
    "C3,50,F,2023-01-01,1000,True,True\n"
    "C4,60,F,2023-01-01,1000,True,True\n";
static const char *PURCHASES =
    "CustomerID,ItemID,Quantity,PurchaseDate,TotalPrice,EmployeeID\n"
    "C1,I1,1,2024-01-05,30,E1\n"
    "C1,I3,1,2024-03-15,12,\n"     /* validation */
    "C1,I1,1,2024-03-25,30,E1\n"   /* test, repeatable: a target */
    "C1,I2,1,2024-03-30,80,E1\n"   /* test, new: a target */
    "C2,I2,1,2024-02-01,80,E1\n"
    "C2,I2,1,2024-03-28,80,E1\n"   /* test, bought before, not repeatable: no target */
    "C2,I4,1,2024-03-31,20,\n"     /* test, on the as-of date */
    "C3,I3,2,2024-03-20,24,\n"     /* validation only */
    "C4,I4,1,2024-03-22,20,\n";    /* test only: a cold customer */

static bb_dataset *tiny(bb_log *log, char **dir)
{
    *dir = temp_dir();
    write_text(*dir, "items.csv", ITEMS);
    write_text(*dir, "customers.csv", CUSTOMERS);
    write_text(*dir, "purchases.csv", PURCHASES);
    return load(*dir, log);
}

static uint32_t id_of(bb_intern *t, const char *s)
{
    uint32_t id;
    assert_true(bb_intern_get(t, s, strlen(s), &id));
    return id;
}

/* ---- interactions ------------------------------------------------------- */

static void test_csr_and_split(void **state)
{
    (void)state;
    bb_log *log = quiet_log();
    char *dir;
    bb_dataset *ds = tiny(log, &dir);
    bb_inter x;
    assert_int_equal(bb_inter_build(ds, 10, &x), BB_OK);
    assert_int_equal(x.as_of, bb_date_from_ymd(2024, 3, 31));
    assert_int_equal(x.test_start, bb_date_from_ymd(2024, 3, 22));
    assert_int_equal(x.val_start, bb_date_from_ymd(2024, 3, 12));
    uint32_t c1 = id_of(ds->customers.ids, "C1"), c2 = id_of(ds->customers.ids, "C2");
    uint32_t c4 = id_of(ds->customers.ids, "C4");
    uint32_t i1 = id_of(ds->items.ids, "I1"), i2 = id_of(ds->items.ids, "I2"), i3 = id_of(ds->items.ids, "I3");
    uint32_t i4 = id_of(ds->items.ids, "I4");
    /* C1: I1 (train + test, twice), I2 (test), I3 (validation); items ascending. */
    assert_int_equal(x.ptr[c1 + 1] - x.ptr[c1], 3);
    for (size_t k = x.ptr[c1]; k + 1 < x.ptr[c1 + 1]; k++)
        assert_true(x.item[k] < x.item[k + 1]);
    for (size_t k = x.ptr[c1]; k < x.ptr[c1 + 1]; k++) {
        if (x.item[k] == i1) {
            assert_int_equal(x.periods[k], BB_PERIOD_TRAIN | BB_PERIOD_TEST);
            assert_int_equal(x.count[k], 2);
            assert_int_equal(x.last_day[k], bb_date_from_ymd(2024, 3, 25));
        } else if (x.item[k] == i2) {
            assert_int_equal(x.periods[k], BB_PERIOD_TEST);
        } else {
            assert_int_equal(x.item[k], i3);
            assert_int_equal(x.periods[k], BB_PERIOD_VAL);
        }
    }

    bb_csr train, pre, all, val_t, test_t;
    uint8_t rep[4] = {0};
    rep[i1] = 1;
    assert_int_equal(bb_inter_view(&x, BB_PERIOD_TRAIN, &train), BB_OK);
    assert_int_equal(bb_inter_view(&x, BB_PERIOD_TRAIN | BB_PERIOD_VAL, &pre), BB_OK);
    assert_int_equal(bb_inter_view(&x, BB_PERIOD_ALL, &all), BB_OK);
    assert_int_equal(bb_inter_targets(&x, BB_PERIOD_TRAIN, BB_PERIOD_VAL, rep, &val_t), BB_OK);
    assert_int_equal(bb_inter_targets(&x, BB_PERIOD_TRAIN | BB_PERIOD_VAL, BB_PERIOD_TEST, rep, &test_t), BB_OK);
    assert_int_equal(bb_csr_row_len(&train, c1), 1);
    assert_true(bb_csr_has(&train, c1, i1));
    assert_int_equal(bb_csr_row_len(&pre, c1), 2);
    assert_true(bb_csr_has(&pre, c1, i3));
    assert_false(bb_csr_has(&pre, c1, i2));
    assert_int_equal(bb_csr_row_len(&all, c1), 3);
    /* Targets: C1 may get I1 again (repeatable) and I2 (new); C2's I2 was bought before. */
    assert_true(bb_csr_has(&test_t, c1, i1));
    assert_true(bb_csr_has(&test_t, c1, i2));
    assert_false(bb_csr_has(&test_t, c2, i2));
    assert_true(bb_csr_has(&test_t, c2, i4));
    assert_true(bb_csr_has(&test_t, c4, i4));
    assert_int_equal(bb_csr_row_len(&pre, c4), 0);
    assert_true(bb_csr_has(&val_t, c1, i3));
    bb_csr_free(&train);
    bb_csr_free(&pre);
    bb_csr_free(&all);
    bb_csr_free(&val_t);
    bb_csr_free(&test_t);
    bb_inter_free(&x);
    bb_inter_free(NULL);
    bb_dataset_free(ds);
    bb_fs_rmtree(dir);
    free(dir);
    bb_log_free(log);
}

/* On generated data: every pair in a view was bought in one of its periods,
 * and every purchase before a period boundary is in the view. */
static void test_no_leak(void **state)
{
    (void)state;
    bb_log *log = quiet_log();
    char *dir = gen_dir(300, 40, 6000, 5);
    bb_dataset *ds = load(dir, log);
    bb_inter x;
    assert_int_equal(bb_inter_build(ds, 60, &x), BB_OK);
    bb_csr train, pre;
    assert_int_equal(bb_inter_view(&x, BB_PERIOD_TRAIN, &train), BB_OK);
    assert_int_equal(bb_inter_view(&x, BB_PERIOD_TRAIN | BB_PERIOD_VAL, &pre), BB_OK);
    /* first day each pair was bought, by brute force */
    uint32_t nc = ds->customers.n, ni = ds->items.n;
    int32_t *first = malloc((size_t)nc * ni * sizeof *first);
    for (size_t i = 0; i < (size_t)nc * ni; i++)
        first[i] = INT32_MAX;
    for (size_t p = 0; p < ds->purchases.n; p++) {
        size_t at = (size_t)ds->purchases.customer[p] * ni + ds->purchases.item[p];
        if (ds->purchases.day[p] < first[at])
            first[at] = ds->purchases.day[p];
    }
    size_t in_train = 0;
    for (uint32_t c = 0; c < nc; c++) {
        for (uint32_t j = 0; j < ni; j++) {
            int32_t f = first[(size_t)c * ni + j];
            assert_int_equal(bb_csr_has(&train, c, j), f < x.val_start);
            assert_int_equal(bb_csr_has(&pre, c, j), f < x.test_start);
            in_train += f < x.val_start;
        }
    }
    assert_true(in_train > 100);
    free(first);
    bb_csr_free(&train);
    bb_csr_free(&pre);
    bb_inter_free(&x);
    bb_dataset_free(ds);
    bb_fs_rmtree(dir);
    free(dir);
    bb_log_free(log);
}

/* ---- metrics ------------------------------------------------------------ */

static void test_metrics(void **state)
{
    (void)state;
    const uint32_t target[] = {2, 5, 9};
    const uint32_t top[] = {5, 1, 9, 7};
    /* hits at ranks 0 and 2: DCG = 1 + 1/log2(4) = 1.5; IDCG (3 targets, K 4) = 1 + 1/log2(3) + 1/2 */
    double idcg = 1 + 1 / log2(3.0) + 0.5;
    assert_float_equal(bb_eval_ndcg(top, 4, 4, target, 3), 1.5 / idcg, 1e-12);
    assert_float_equal(bb_eval_recall(top, 4, 4, target, 3), 2.0 / 3.0, 1e-12);
    assert_float_equal(bb_eval_hit(top, 4, 4, target, 3), 1.0, 0);
    /* K smaller than the list: only the first K count; recall over min(K, |T|) */
    assert_float_equal(bb_eval_recall(top, 4, 2, target, 3), 0.5, 1e-12);
    assert_float_equal(bb_eval_ndcg(top, 4, 1, target, 3), 1.0, 1e-12);
    const uint32_t miss[] = {0, 1};
    assert_float_equal(bb_eval_ndcg(miss, 2, 10, target, 3), 0.0, 0);
    assert_float_equal(bb_eval_hit(miss, 2, 10, target, 3), 0.0, 0);
    assert_float_equal(bb_eval_recall(top, 4, 4, target, 0), 0.0, 0);
    /* perfect ranking */
    const uint32_t perfect[] = {9, 2, 5};
    assert_float_equal(bb_eval_ndcg(perfect, 3, 10, target, 3), 1.0, 1e-12);
    assert_float_equal(bb_eval_recall(perfect, 3, 10, target, 3), 1.0, 1e-12);

    /* top-K: best first, ties by rank, -inf and NaN never chosen */
    float scores[6] = {0.5f, 0.9f, 0.5f, -INFINITY, NAN, 0.7f};
    uint32_t rank[6] = {5, 0, 1, 2, 3, 4}; /* item 2's ID sorts before item 0's */
    uint32_t items[6];
    float got[6];
    size_t n = bb_eval_topk(scores, 6, rank, 6, items, got);
    assert_int_equal(n, 4);
    assert_int_equal(items[0], 1);
    assert_int_equal(items[1], 5);
    assert_int_equal(items[2], 2);
    assert_int_equal(items[3], 0);
    n = bb_eval_topk(scores, 6, NULL, 2, items, got);
    assert_int_equal(n, 2);
    assert_int_equal(items[1], 5);

    double a[] = {1, 2, 3, 4}, b[] = {0, 1, 2, 3}, mean, lo, hi;
    bb_eval_paired(a, b, 4, 1.96, &mean, &lo, &hi);
    assert_float_equal(mean, 1.0, 1e-12);
    assert_float_equal(lo, 1.0, 1e-12); /* no spread: a certain difference */
    double c[] = {1, 0, 1, 0}, d[] = {0, 1, 0, 1};
    bb_eval_paired(c, d, 4, 1.96, &mean, &lo, &hi);
    assert_float_equal(mean, 0.0, 1e-12);
    assert_true(lo < 0 && hi > 0);
    /* mean 0.5, sample variance 1/3: se = sqrt(1/3 / 4) */
    double e1[] = {1, 1, 0, 0}, e0[] = {0, 0, 0, 0};
    bb_eval_paired(e1, e0, 4, 2.0, &mean, &lo, &hi);
    assert_float_equal(hi - mean, 2.0 * sqrt(1.0 / 3.0 / 4.0), 1e-12);
    assert_float_equal(bb_eval_z(1), 1.959964, 1e-5);
    assert_float_equal(bb_eval_z(3), 2.393980, 1e-5);
}

/* ---- baselines ---------------------------------------------------------- */

static bb_csr random_csr(uint32_t rows, uint32_t cols, double density, uint64_t seed)
{
    bb_csr m = {rows, cols, calloc((size_t)rows + 1, sizeof(size_t)), malloc((size_t)rows * cols * sizeof(uint32_t))};
    bb_rng r;
    bb_rng_seed(&r, seed, 0);
    size_t k = 0;
    for (uint32_t i = 0; i < rows; i++) {
        m.ptr[i] = k;
        for (uint32_t j = 0; j < cols; j++)
            if (bb_rng_uniform(&r) < density * (1.0 + (double)j / cols))
                m.col[k++] = j;
    }
    m.ptr[rows] = k;
    return m;
}

/* Gaussian elimination with partial pivoting, for the direct solve. */
static void solve(double *a, double *b, int n)
{
    for (int c = 0; c < n; c++) {
        int p = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(a[r * n + c]) > fabs(a[p * n + c]))
                p = r;
        for (int k = 0; k < n; k++) {
            double t = a[c * n + k];
            a[c * n + k] = a[p * n + k];
            a[p * n + k] = t;
        }
        double t = b[c];
        b[c] = b[p];
        b[p] = t;
        for (int r = c + 1; r < n; r++) {
            double f = a[r * n + c] / a[c * n + c];
            for (int k = c; k < n; k++)
                a[r * n + k] -= f * a[c * n + k];
            b[r] -= f * b[c];
        }
    }
    for (int c = n - 1; c >= 0; c--) {
        for (int k = c + 1; k < n; k++)
            b[c] -= a[c * n + k] * b[k];
        b[c] /= a[c * n + c];
    }
}

/* EASE's closed form against a direct solve of each column's ridge
 * regression: B[-j, j] = (G[-j,-j] + lambda I)^-1 G[-j, j], B[j, j] = 0. */
static void test_ease_direct(void **state)
{
    (void)state;
    const int n = 9;
    bb_csr x = random_csr(60, (uint32_t)n, 0.25, 3);
    float *g, *b;
    assert_int_equal(bb_gram(&x, 2, &g), BB_OK);
    /* G counts co-purchases */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            int both = 0;
            for (uint32_t r = 0; r < x.n_rows; r++)
                both += bb_csr_has(&x, r, (uint32_t)i) && bb_csr_has(&x, r, (uint32_t)j);
            assert_float_equal(g[i * n + j], both, 0);
        }
    const double lambda = 7.5;
    assert_int_equal(bb_ease_fit(g, (uint32_t)n, lambda, &b), BB_OK);
    for (int j = 0; j < n; j++) {
        double a[64], rhs[8];
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (i == j)
                continue;
            int mm = 0;
            for (int k = 0; k < n; k++) {
                if (k == j)
                    continue;
                a[m * (n - 1) + mm] = g[i * n + k] + (i == k ? lambda : 0);
                mm++;
            }
            rhs[m++] = g[i * n + j];
        }
        solve(a, rhs, n - 1);
        assert_float_equal(b[j * n + j], 0, 0);
        m = 0;
        for (int i = 0; i < n; i++) {
            if (i == j)
                continue;
            assert_float_equal(b[i * n + j], rhs[m], 1e-5 * (1 + fabs(rhs[m])));
            m++;
        }
    }
    /* Scores are sums of the history's rows of B. */
    float s[9];
    const uint32_t hist[] = {1, 4};
    bb_ease_score(b, (uint32_t)n, hist, 2, s);
    for (int j = 0; j < n; j++)
        assert_float_equal(s[j], b[1 * n + j] + b[4 * n + j], 1e-6);
    float *none = g;
    assert_int_equal(bb_ease_fit(g, (uint32_t)n, 0, &none), BB_ERR_INTERNAL);
    assert_null(none);
    free(b);
    free(g);
    bb_csr_free(&x);
}

static void test_knn_and_popularity(void **state)
{
    (void)state;
    const uint32_t n = 12;
    bb_csr x = random_csr(80, n, 0.2, 8);
    float *g, *pop;
    assert_int_equal(bb_gram(&x, 1, &g), BB_OK);
    assert_int_equal(bb_pop_fit(&x, &pop), BB_OK);
    uint32_t active = 0;
    for (uint32_t r = 0; r < x.n_rows; r++)
        active += bb_csr_row_len(&x, r) > 0;
    for (uint32_t j = 0; j < n; j++)
        assert_float_equal(pop[j], g[j * n + j] / active, 1e-6);
    bb_knn knn;
    assert_int_equal(bb_knn_fit(g, n, 4, 2, &knn), BB_OK);
    for (uint32_t i = 0; i < n; i++) {
        assert_true(knn.n_nbr[i] <= 4);
        for (uint32_t t = 0; t < knn.n_nbr[i]; t++) {
            uint32_t j = knn.nbr[i * 4 + t];
            assert_int_not_equal(i, j);
            double cosine = g[i * n + j] / sqrt((double)g[i * n + i] * g[j * n + j]);
            assert_float_equal(knn.sim[i * 4 + t], cosine, 1e-6);
            if (t > 0)
                assert_true(knn.sim[i * 4 + t] <= knn.sim[i * 4 + t - 1]);
        }
        /* No item left out was more similar than the last kept. */
        for (uint32_t j = 0; j < n && knn.n_nbr[i] == 4; j++) {
            bool kept = false;
            for (uint32_t t = 0; t < 4; t++)
                kept = kept || knn.nbr[i * 4 + t] == j;
            if (j == i || kept)
                continue;
            double cosine = g[i * n + j] / sqrt((double)g[i * n + i] * g[j * n + j]);
            assert_true(cosine <= knn.sim[i * 4 + 3] + 1e-6);
        }
    }
    float s[12];
    const uint32_t hist[] = {0, 3};
    bb_knn_score(&knn, 2, hist, 2, s);
    float want[12] = {0};
    for (int h = 0; h < 2; h++)
        for (uint32_t t = 0; t < 2 && t < knn.n_nbr[hist[h]]; t++)
            want[knn.nbr[hist[h] * 4 + t]] += knn.sim[hist[h] * 4 + t];
    assert_memory_equal(s, want, sizeof s);
    bb_knn_free(&knn);
    bb_knn_free(NULL);
    free(g);
    free(pop);
    bb_csr_free(&x);
}

/* ---- reasons ------------------------------------------------------------ */

static void test_reasons(void **state)
{
    (void)state;
    /* 8 items. Items 0 and 1 are bought together by most customers; items
     * 4..7 by segment 1 only; item 2 by everyone. */
    enum { N = 8, ROWS = 40 };
    bb_csr all = {ROWS, N, calloc(ROWS + 1, sizeof(size_t)), malloc(ROWS * N * sizeof(uint32_t))};
    int seg[ROWS];
    size_t k = 0;
    for (uint32_t r = 0; r < ROWS; r++) {
        all.ptr[r] = k;
        seg[r] = r < 20 ? 0 : 1;
        if (r % 4 == 0) {
            all.col[k++] = 0;
            all.col[k++] = 1;
        }
        all.col[k++] = 2;
        if (r >= 20)
            for (uint32_t j = 4; j < 4 + (r % 4); j++)
                all.col[k++] = j;
    }
    all.ptr[ROWS] = k;
    float *g;
    assert_int_equal(bb_gram(&all, 1, &g), BB_OK);
    uint32_t rank[N];
    for (uint32_t j = 0; j < N; j++)
        rank[j] = j;
    bb_reasons rs;
    assert_int_equal(bb_reasons_fit(g, &all, seg, 2, rank, &rs), BB_OK);
    assert_int_equal(rs.global_top[0], 2);
    assert_true(rs.assoc_n[1] >= 1);
    assert_int_equal(rs.assoc[1 * BB_REASON_ASSOC], 0);
    assert_true(bb_reasons_in_segment_top(&rs, 1, 4));
    assert_false(bb_reasons_in_segment_top(&rs, 0, 4));
    uint32_t subcat[N] = {10, 11, 12, 13, 14, 15, 16, 13};
    uint32_t arg;

    /* bought before (repeatable): AGAIN with the count */
    const uint32_t h_again[] = {3};
    const uint32_t c_again[] = {4};
    bb_reason_input in = {h_again, c_again, 1, 0, subcat};
    assert_int_equal(bb_reasons_pick(&rs, &in, 3, &arg), BB_REASON_AGAIN);
    assert_int_equal(arg, 4);
    /* an associate in the history */
    const uint32_t h_with[] = {0};
    in = (bb_reason_input){h_with, NULL, 1, 0, subcat};
    assert_int_equal(bb_reasons_pick(&rs, &in, 1, &arg), BB_REASON_WITH_ITEM);
    assert_int_equal(arg, 0);
    /* segment's favourite */
    const uint32_t h_seg[] = {2};
    in = (bb_reason_input){h_seg, NULL, 1, 1, subcat};
    assert_int_equal(bb_reasons_pick(&rs, &in, 5, &arg), BB_REASON_SEGMENT);
    assert_int_equal(arg, 1);
    /* same subcategory as a purchase (items 3 and 7 share 13), no segment */
    const uint32_t h_sub[] = {7};
    in = (bb_reason_input){h_sub, NULL, 1, -1, subcat};
    assert_int_equal(bb_reasons_pick(&rs, &in, 3, &arg), BB_REASON_SUBCATEGORY);
    assert_int_equal(arg, 13);
    /* the segment's favourite whose associate the customer has: the associate wins */
    const uint32_t h_assoc[] = {4};
    in = (bb_reason_input){h_assoc, NULL, 1, 1, subcat};
    assert_int_equal(bb_reasons_pick(&rs, &in, 5, &arg), BB_REASON_WITH_ITEM);
    assert_int_equal(arg, 4);
    /* popular with everyone */
    const uint32_t h_pop[] = {7};
    in = (bb_reason_input){h_pop, NULL, 1, -1, subcat};
    assert_int_equal(bb_reasons_pick(&rs, &in, 2, &arg), BB_REASON_POPULAR);
    /* none of these */
    uint32_t lonely[N] = {0, 1, 2, 3, 4, 5, 6, 7};
    in = (bb_reason_input){h_pop, NULL, 1, -1, lonely};
    assert_int_equal(bb_reasons_pick(&rs, &in, 3, &arg), BB_REASON_HISTORY);

    char buf[200];
    assert_string_equal(bb_rec_reason_words(BB_REASON_WITH_ITEM, 0, "Balayage", NULL, NULL, buf, sizeof buf),
                        "often bought with Balayage");
    assert_string_equal(bb_rec_reason_words(BB_REASON_SEGMENT, 1, NULL, "Champions", NULL, buf, sizeof buf),
                        "popular in segment Champions");
    assert_string_equal(bb_rec_reason_words(BB_REASON_AGAIN, 3, NULL, NULL, NULL, buf, sizeof buf),
                        "bought 3 times before");
    assert_string_equal(bb_rec_reason_words(BB_REASON_NEW_POPULAR, 0, NULL, NULL, NULL, buf, sizeof buf),
                        "no purchases yet: popular with all customers");
    bb_reasons_free(&rs);
    bb_reasons_free(NULL);
    free(g);
    bb_csr_free(&all);
}

/* ---- the stage on generated data ---------------------------------------- */

typedef struct gen_case {
    char *dir;
    bb_dataset *ds;
    bb_log *log;
    int *seg;
    const char *names[3];
    bb_recs *recs;   /* the run every test reads: 2 threads, seed 11 */
} gen_case;

static bb_recs *run_gen(gen_case *g, int threads, uint64_t seed);

/* The group's data and its run, made once: the tests only read them. */
static int gen_setup(void **state)
{
    gen_case *g = calloc(1, sizeof *g);
    g->log = quiet_log();
    /* 150 items: above 128, where OpenBLAS's LAPACK would split work by threads. */
    g->dir = gen_dir(2500, 150, 50000, 7);
    g->ds = load(g->dir, g->log);
    /* A stand-in segmentation: three groups by customer index, some without. */
    g->seg = malloc(g->ds->customers.n * sizeof *g->seg);
    for (uint32_t c = 0; c < g->ds->customers.n; c++)
        g->seg[c] = c % 10 == 9 ? -1 : (int)(c % 3);
    g->names[0] = "Champions";
    g->names[1] = "Loyal";
    g->names[2] = "At risk";
    g->recs = run_gen(g, 2, 11);
    *state = g;
    return 0;
}

static int gen_teardown(void **state)
{
    gen_case *g = *state;
    bb_recs_free(g->recs);
    bb_dataset_free(g->ds);
    bb_fs_rmtree(g->dir);
    free(g->dir);
    free(g->seg);
    bb_log_free(g->log);
    free(g);
    return 0;
}

static bb_recs *run_gen(gen_case *g, int threads, uint64_t seed)
{
    bb_rec_opts o;
    small_opts(&o, threads);
    o.seed = seed;
    bb_rec_segments seg = {g->seg, 3, g->names};
    bb_recs *r = NULL;
    assert_int_equal(bb_recommend_run(g->ds, &seg, &o, g->log, &r), BB_OK);
    return r;
}

/* Done when: on data with preferences the served model beats popularity on
 * Recall@10 and NDCG@10 on the hold-out, with EASE and item-kNN beside it. */
static void test_beats_popularity(void **state)
{
    gen_case *g = *state;
    const bb_recs *r = g->recs;
    const bb_rec_model_result *pop = &r->models[BB_REC_POPULARITY];
    for (int k = 0; k < BB_REC__KINDS; k++) {
        const bb_rec_model_result *m = &r->models[k];
        printf("  %-12s %-36s val NDCG %.4f  test Recall@10 %.4f NDCG@10 %.4f hit %.3f coverage %.3f%s\n",
               bb_rec_kind_name((bb_rec_kind)k), m->params, m->val.ndcg, m->test.recall, m->test.ndcg, m->test.hit,
               m->test.coverage, m->beats_popularity ? "  beats popularity" : "");
        assert_true(m->ran);
    }
    printf("  %s\n", r->served_why);
    assert_int_not_equal(r->served, BB_REC_POPULARITY);
    const bb_rec_model_result *s = &r->models[r->served];
    assert_true(s->beats_popularity);
    assert_true(s->test.recall > pop->test.recall);
    assert_true(s->test.ndcg > pop->test.ndcg);
    assert_true(s->diff_ndcg_lo > 0 && s->diff_recall_lo > 0);
    assert_true(r->any_beats_popularity);
    assert_true(r->test_customers > 300);
    /* Early stopping recorded a curve. */
    assert_true(r->n_epochs >= 1 && r->best_epoch >= 1 && r->best_epoch <= r->n_epochs);
    /* The manifest's record of it. */
    cJSON *j = bb_recs_manifest_json(r);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "served")->valuestring, bb_rec_kind_name(r->served));
    const cJSON *ease = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "models"), "ease");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(ease, "fitted")));
    assert_float_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(ease, "test"), "ndcg")->valuedouble,
                       r->models[BB_REC_EASE].test.ndcg, 1e-12);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "autoencoder_epochs")), r->n_epochs);
    cJSON_Delete(j);
    /* Breakdowns cover every measured customer. */
    uint32_t by_act = 0, by_seg = 0;
    for (int b = 0; b < 4; b++)
        by_act += r->by_activity[b].customers;
    for (size_t i = 0; i < r->n_by_segment; i++)
        by_seg += r->by_segment[i].customers;
    assert_int_equal(by_act, r->test_customers);
    assert_true(by_seg > 0 && by_seg < r->test_customers);

    /* Every customer has a full list: served, by segment or by popularity. */
    uint32_t uni = 0;
    for (uint32_t c = 0; c < r->n_customers; c++) {
        assert_int_equal(r->rec_count[c], r->top_n);
        const bb_rec_profile *p = &r->profile[c];
        if (p->rows == 0) {
            uni++;
            assert_int_equal(r->rec_source[c], g->seg[c] >= 0 ? BB_REC_SRC_SEGMENT : BB_REC_SRC_POPULAR);
        } else {
            assert_int_equal(r->rec_source[c], BB_REC_SRC_MODEL);
        }
        for (int i = 1; i < r->rec_count[c]; i++)
            assert_true(r->rec_score[(size_t)c * r->top_n + i] <= r->rec_score[(size_t)c * r->top_n + i - 1]);
    }
    assert_true(uni > 0);
    assert_int_equal(r->customers_model + r->customers_segment + r->customers_popular, r->n_customers);
}

/* Nothing already bought comes back unless it is repeatable (Haircut). */
static void test_exclusions(void **state)
{
    gen_case *g = *state;
    const bb_recs *r = g->recs;
    const bb_dataset *ds = g->ds;
    size_t again = 0;
    for (uint32_t c = 0; c < r->n_customers; c++) {
        for (int i = 0; i < r->rec_count[c]; i++) {
            uint32_t item = r->rec_item[(size_t)c * r->top_n + i];
            bool bought = false;
            for (size_t k = r->purchase_ptr[c]; k < r->purchase_ptr[c + 1]; k++)
                bought = bought || ds->purchases.item[r->purchase_rows[k]] == item;
            if (!bought)
                continue;
            again++;
            assert_string_equal(bb_dataset_subcategory_name(ds, ds->items.subcategory[item]), "Haircut");
            assert_int_equal(r->rec_reason[(size_t)c * r->top_n + i], BB_REASON_AGAIN);
        }
    }
    assert_true(again > 0);
    /* Purchase lists are newest first and complete. */
    for (uint32_t c = 0; c < r->n_customers; c++) {
        assert_int_equal(r->purchase_ptr[c + 1] - r->purchase_ptr[c], r->profile[c].rows);
        for (size_t k = r->purchase_ptr[c] + 1; k < r->purchase_ptr[c + 1]; k++)
            assert_true(ds->purchases.day[r->purchase_rows[k]] <= ds->purchases.day[r->purchase_rows[k - 1]]);
    }
}

static void test_determinism(void **state)
{
    gen_case *g = *state;
    const bb_recs *b = g->recs;
    bb_recs *a = run_gen(g, 1, 11), *c = run_gen(g, 2, 12);
    size_t cells = (size_t)a->n_customers * a->top_n;
    assert_int_equal(a->served, b->served);
    assert_memory_equal(a->rec_count, b->rec_count, a->n_customers);
    for (uint32_t cu = 0; cu < a->n_customers; cu++) {
        size_t at = (size_t)cu * a->top_n;
        assert_memory_equal(a->rec_item + at, b->rec_item + at, a->rec_count[cu] * sizeof *a->rec_item);
        assert_memory_equal(a->rec_score + at, b->rec_score + at, a->rec_count[cu] * sizeof *a->rec_score);
        assert_memory_equal(a->rec_reason + at, b->rec_reason + at, a->rec_count[cu]);
    }
    for (int k = 0; k < BB_REC__KINDS; k++) {
        assert_true(a->models[k].test.ndcg == b->models[k].test.ndcg);
        assert_true(a->models[k].val.ndcg == b->models[k].val.ndcg);
    }
    assert_int_equal(a->n_epochs, b->n_epochs);
    /* another seed: another autoencoder */
    assert_true(a->models[BB_REC_AUTOENCODER].val.ndcg != c->models[BB_REC_AUTOENCODER].val.ndcg ||
                memcmp(a->rec_score, c->rec_score, cells * sizeof *a->rec_score) != 0);
    bb_recs_free(a);
    bb_recs_free(c);
}

__attribute__((noinline)) static char *read_all(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    bb_err e = bb_fs_read_file(path, (size_t)1 << 30, &data, &len);
    assert_int_equal(e, BB_OK);
    return data;
}

/* recommendations.csv: exact header, ranks 1..N per customer, in score order. */
static void test_csv(void **state)
{
    gen_case *g = *state;
    const bb_recs *r = g->recs;
    char path[256];
    snprintf(path, sizeof path, "%s/recommendations.csv", g->dir);
    assert_int_equal(bb_recs_write_csv(r, g->ds, path), BB_OK);
    char *text = read_all(path);
    const char *header = "CustomerID,Rank,ItemID,ItemName,Score,Model,Reason\n";
    assert_memory_equal(text, header, strlen(header));
    size_t lines = 0;
    for (char *p = text; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1 + (size_t)r->n_customers * r->top_n);
    assert_non_null(strstr(text, "\nCust0001,1,"));
    assert_non_null(strstr(text, ",no purchases yet: popular in segment "));
    free(text);
    /* An unwritable place fails without leaving anything. */
    assert_int_not_equal(bb_recs_write_csv(r, g->ds, "/nonexistent/dir/recommendations.csv"), BB_OK);
}

static int run_command(const char *model, const char *data, const char *customer, const char *top_n, char **out,
                       bb_log *log)
{
    char *argv[10];
    int argc = 0;
    argv[argc++] = (char *)"--model";
    argv[argc++] = (char *)model;
    argv[argc++] = (char *)"--data";
    argv[argc++] = (char *)data;
    argv[argc++] = (char *)"--customer";
    argv[argc++] = (char *)customer;
    if (top_n) {
        argv[argc++] = (char *)"--top-n";
        argv[argc++] = (char *)top_n;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int e = (int)bb_recommend_command(argc, argv, f, log);
    fclose(f);
    *out = buf;
    return e;
}

/* The lines of one customer in the CSV, header first. */
static char *csv_lines_of(const char *csv, const char *customer)
{
    size_t cap = 4096, n = 0;
    char *out = malloc(cap);
    const char *header_end = strchr(csv, '\n') + 1;
    memcpy(out, csv, (size_t)(header_end - csv));
    n = (size_t)(header_end - csv);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s,", customer);
    for (const char *p = header_end; *p;) {
        const char *e = strchr(p, '\n') + 1;
        if (strncmp(p, prefix, strlen(prefix)) == 0) {
            memcpy(out + n, p, (size_t)(e - p));
            n += (size_t)(e - p);
        }
        p = e;
    }
    out[n] = '\0';
    return out;
}

/* The model file: the command prints the run's lines; a corrupt byte, another
 * version and another catalogue are refused with their own messages. */
static void test_model_file_and_command(void **state)
{
    gen_case *g = *state;
    const bb_recs *r = g->recs;
    char model[256], csv[256];
    snprintf(model, sizeof model, "%s/model.bbrec", g->dir);
    snprintf(csv, sizeof csv, "%s/recommendations.csv", g->dir);
    assert_int_equal(bb_recs_save_model(r, g->ds, model), BB_OK);
    assert_int_equal(bb_recs_write_csv(r, g->ds, csv), BB_OK);
    char *text = read_all(csv);

    /* Round trip of the file itself. */
    bb_model_file mf;
    char err[512];
    assert_int_equal(bb_model_file_load(model, &mf, err, sizeof err), BB_OK);
    assert_int_equal(mf.model.kind, r->served);
    assert_int_equal(mf.n_items, g->ds->items.n);
    assert_int_equal(mf.top_n, (uint32_t)r->top_n);
    assert_string_equal(mf.repeatable_text, "Haircut");
    if (r->served == BB_REC_AUTOENCODER) {
        size_t n1, n2;
        float *p1 = bb_ae_params(r->serving->model.ae, &n1), *p2 = bb_ae_params(mf.model.ae, &n2);
        assert_int_equal(n1, n2);
        assert_memory_equal(p1, p2, n1 * sizeof *p1);
    }
    assert_memory_equal(mf.model.pop, r->serving->model.pop, mf.n_items * sizeof(float));
    assert_int_equal(bb_model_file_segment(&mf, "Cust0001"), g->seg[id_of(g->ds->customers.ids, "Cust0001")]);
    assert_int_equal(bb_model_file_segment(&mf, "nobody"), -1);
    bb_model_file_free(&mf);

    /* The command prints exactly the run's lines, for customers of every kind. */
    const char *who[] = {"Cust0001", "Cust0002", "Cust0010", "Cust0777", "Cust2500"};
    for (size_t i = 0; i < sizeof who / sizeof who[0]; i++) {
        char *out = NULL;
        assert_int_equal(run_command(model, g->dir, who[i], NULL, &out, g->log), BB_OK);
        char *want = csv_lines_of(text, who[i]);
        assert_string_equal(out, want);
        free(out);
        free(want);
    }
    char *out = NULL;
    assert_int_equal(run_command(model, g->dir, "Cust0001", "2", &out, g->log), BB_OK);
    size_t lines = 0;
    for (char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 3);
    free(out);
    assert_int_equal(run_command(model, g->dir, "NoSuchCustomer", NULL, &out, g->log), BB_ERR_USAGE);
    free(out);

    /* A corrupt byte anywhere: damaged. */
    char *data;
    size_t len;
    assert_int_equal(bb_fs_read_file(model, (size_t)1 << 30, &data, &len), BB_OK);
    char bad[256];
    snprintf(bad, sizeof bad, "%s/bad.bbrec", g->dir);
    size_t spots[] = {12, len / 2, len - 40, len - 1};
    for (size_t i = 0; i < 4; i++) {
        data[spots[i]] ^= 0x20;
        assert_int_equal(bb_fs_write_file(bad, data, len), BB_OK);
        assert_int_equal(bb_model_file_load(bad, &mf, err, sizeof err), BB_ERR_DATA);
        assert_non_null(strstr(err, "damaged"));
        data[spots[i]] ^= 0x20;
    }
    assert_int_equal(bb_fs_write_file(bad, data, len), BB_OK);
    assert_int_equal(run_command(bad, g->dir, "Cust0001", NULL, &out, g->log), BB_OK);
    free(out);
    data[len / 3] ^= 1;
    assert_int_equal(bb_fs_write_file(bad, data, len), BB_OK);
    assert_int_equal(run_command(bad, g->dir, "Cust0001", NULL, &out, g->log), BB_ERR_DATA);
    free(out);
    data[len / 3] ^= 1;
    /* Truncated, and not a model file at all. */
    assert_int_equal(bb_fs_write_file(bad, data, len - 100), BB_OK);
    assert_int_equal(bb_model_file_load(bad, &mf, err, sizeof err), BB_ERR_DATA);
    assert_int_equal(bb_fs_write_file(bad, "hello", 5), BB_OK);
    assert_int_equal(bb_model_file_load(bad, &mf, err, sizeof err), BB_ERR_DATA);
    assert_non_null(strstr(err, "not a bbreport model file"));
    snprintf(bad, sizeof bad, "%s/missing.bbrec", g->dir);
    assert_int_equal(bb_model_file_load(bad, &mf, err, sizeof err), BB_ERR_NOINPUT);
    free(data);

    /* Another version, with a valid checksum: named as such. */
    bb_model_file m2;
    memset(&m2, 0, sizeof m2);
    assert_int_equal(bb_model_file_load(model, &m2, err, sizeof err), BB_OK);
    assert_int_equal(bb_fs_read_file(model, (size_t)1 << 30, &data, &len), BB_OK);
    data[8] = 2; /* the version field follows the 8-byte magic */
    char hex[65];
    assert_int_equal(bb_sha256_of(data, len - 32, hex), BB_OK);
    for (int i = 0; i < 32; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        data[len - 32 + (size_t)i] = (char)v;
    }
    snprintf(bad, sizeof bad, "%s/v2.bbrec", g->dir);
    assert_int_equal(bb_fs_write_file(bad, data, len), BB_OK);
    assert_int_equal(bb_model_file_load(bad, &mf, err, sizeof err), BB_ERR_DATA);
    assert_non_null(strstr(err, "version 2"));
    free(data);
    bb_model_file_free(&m2);

    /* Data with another catalogue: mismatched. */
    char *other = gen_dir(200, 60, 2000, 3);
    assert_int_equal(run_command(model, other, "Cust0001", NULL, &out, g->log), BB_ERR_DATA);
    free(out);
    bb_fs_rmtree(other);
    free(other);
    free(text);
}

/* Bad settings are configuration errors. */
static void test_options(void **state)
{
    gen_case *g = *state;
    bb_rec_opts o;
    bb_recs *r = (bb_recs *)g;
    bb_rec_defaults(&o);
    o.loss = "softmax";
    assert_int_equal(bb_recommend_run(g->ds, NULL, &o, g->log, &r), BB_ERR_CONFIG);
    assert_null(r);
    bb_rec_defaults(&o);
    o.serve = "magic";
    assert_int_equal(bb_recommend_run(g->ds, NULL, &o, g->log, &r), BB_ERR_CONFIG);
    bb_rec_defaults(&o);
    o.hidden = "128,,64";
    assert_int_equal(bb_recommend_run(g->ds, NULL, &o, g->log, &r), BB_ERR_CONFIG);
    bb_rec_defaults(&o);
    o.holdout_days = 0;
    assert_int_equal(bb_recommend_run(g->ds, NULL, &o, g->log, &r), BB_ERR_CONFIG);
    bb_rec_defaults(&o);
    o.dropout = 1.0;
    assert_int_equal(bb_recommend_run(g->ds, NULL, &o, g->log, &r), BB_ERR_CONFIG);
    bb_recs_free(NULL);
}

/* A model named in the configuration serves. */
static void test_serve_configured(void **state)
{
    gen_case *g = *state;
    bb_rec_opts o;
    small_opts(&o, 2);
    o.serve = "ease";
    o.max_epochs = 2;
    o.top_n = 3;
    bb_recs *r = NULL;
    assert_int_equal(bb_recommend_run(g->ds, NULL, &o, g->log, &r), BB_OK);
    assert_int_equal(r->served, BB_REC_EASE);
    assert_non_null(strstr(r->served_why, "configuration"));
    assert_int_equal(r->rec_count[0], 3);
    bb_recs_free(r);
}

/* ---- ../shared ----------------------------------------------------------- */

/* Done when: on the seed data, whose items were drawn at random, the result
 * says that no model beats popularity. */
static void test_seed_no_model_beats_popularity(void **state)
{
    (void)state;
    bb_log *log = quiet_log();
    char dir[512];
    snprintf(dir, sizeof dir, "%s/data/seed", bb_test_shared_dir());
    bb_dataset *ds = load(dir, log);
    bb_rec_opts o;
    bb_rec_defaults(&o);
    o.threads = 2;
    bb_recs *r = NULL;
    assert_int_equal(bb_recommend_run(ds, NULL, &o, log, &r), BB_OK);
    for (int k = 0; k < BB_REC__KINDS; k++) {
        const bb_rec_model_result *m = &r->models[k];
        printf("  %-12s val NDCG %.4f  test Recall@10 %.4f NDCG@10 %.4f  NDCG difference [%.4f, %.4f]\n",
               bb_rec_kind_name((bb_rec_kind)k), m->val.ndcg, m->test.recall, m->test.ndcg, m->diff_ndcg_lo,
               m->diff_ndcg_hi);
        assert_false(m->beats_popularity);
    }
    printf("  %s (%u customers measured)\n", r->served_why, r->test_customers);
    assert_false(r->any_beats_popularity);
    assert_int_equal(r->served, BB_REC_POPULARITY);
    assert_true(r->test_customers > 50);
    bb_recs_free(r);
    bb_dataset_free(ds);
    bb_log_free(log);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    openblas_set_num_threads(1);
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_csr_and_split),
        cmocka_unit_test(test_no_leak),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_ease_direct),
        cmocka_unit_test(test_knn_and_popularity),
        cmocka_unit_test(test_reasons),
    };
    /* One generated dataset and one run, shared by these (group setup). */
    const struct CMUnitTest generated[] = {
        cmocka_unit_test(test_beats_popularity),
        cmocka_unit_test(test_exclusions),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_model_file_and_command),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_serve_configured),
    };
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(test_seed_no_model_beats_popularity),
    };
    if (bb_test_wants_shared(argc, argv))
        return BB_TEST_RUN(argc, argv, unit, shared);
    int failed = cmocka_run_group_tests_name("unit", unit, NULL, NULL);
    failed += cmocka_run_group_tests_name("generated", generated, gen_setup, gen_teardown);
    return failed;
}
