/* Tests of the autoencoder: every layer's gradient against finite
 * differences (each loss, with dropout masks held fixed), the three losses
 * against direct formulas, training that learns a planted structure,
 * determinism (same seed; 1 against 2 threads) and scores that do not
 * depend on how rows are batched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#include <cmocka.h>

#include "bb_test.h"
#include "recommend/autoencoder.h"
#include "util/rng.h"

/* A random binary matrix: rows x cols with about density of ones, each row
 * at least one item. */
static bb_csr random_csr(uint32_t rows, uint32_t cols, double density, uint64_t seed)
{
    bb_csr m = {rows, cols, calloc((size_t)rows + 1, sizeof(size_t)), malloc((size_t)rows * cols * sizeof(uint32_t))};
    bb_rng r;
    bb_rng_seed(&r, seed, 0);
    size_t k = 0;
    for (uint32_t i = 0; i < rows; i++) {
        m.ptr[i] = k;
        size_t start = k;
        for (uint32_t j = 0; j < cols; j++)
            if (bb_rng_uniform(&r) < density)
                m.col[k++] = j;
        if (k == start)
            m.col[k++] = (uint32_t)bb_rng_below(&r, cols);
    }
    m.ptr[rows] = k;
    return m;
}

/* Two groups of items; each customer buys within one group only. */
static bb_csr planted_csr(uint32_t rows, uint32_t cols, uint64_t seed)
{
    bb_csr m = {rows, cols, calloc((size_t)rows + 1, sizeof(size_t)), malloc((size_t)rows * cols * sizeof(uint32_t))};
    bb_rng r;
    bb_rng_seed(&r, seed, 0);
    size_t k = 0;
    uint32_t half = cols / 2;
    for (uint32_t i = 0; i < rows; i++) {
        m.ptr[i] = k;
        uint32_t base = i % 2 ? half : 0;
        size_t start = k;
        for (uint32_t j = 0; j < half; j++)
            if (bb_rng_uniform(&r) < 0.3)
                m.col[k++] = base + j;
        if (k == start)
            m.col[k++] = base + (uint32_t)bb_rng_below(&r, half);
    }
    m.ptr[rows] = k;
    return m;
}

static void small_opts(bb_ae_opts *o, uint32_t n_items, bb_ae_loss loss)
{
    bb_ae_defaults(o, n_items);
    static const int hidden[] = {7, 5, 3, 5, 6};
    o->n_hidden = 5;
    memcpy(o->hidden, hidden, sizeof hidden);
    o->loss = loss;
    o->dropout = 0.2f;
    o->input_dropout = 0.3f;
    o->l2 = 0.01f;
    o->batch = 16;
    o->seed = 5;
}

/* Central differences of the batch loss against the analytic gradient, for
 * every weight and bias of every layer. Masks come from one stream, so both
 * see the same network. Reports the worst layer's relative error. */
static void gradient_check(bb_ae_loss loss)
{
    const uint32_t n_items = 11, rows = 9;
    bb_csr x = random_csr(rows, n_items, 0.3, 17 + (uint64_t)loss);
    uint32_t idx[9];
    for (uint32_t i = 0; i < rows; i++)
        idx[i] = i;
    bb_ae_opts o;
    small_opts(&o, n_items, loss);
    bb_ae *ae;
    assert_int_equal(bb_ae_new(&o, &ae), BB_OK);
    /* Biases away from zero, so the check covers them with ReLUs active. */
    size_t np;
    float *p = bb_ae_params(ae, &np);
    for (int l = 0; l < bb_ae_layers(ae); l++) {
        float *b = p + bb_ae_bias_offset(ae, l);
        for (int j = 0; j < bb_ae_dims(ae)[l + 1]; j++)
            b[j] = 0.05f * (float)((j % 3) + 1);
    }
    double loss0;
    assert_int_equal(bb_ae_batch_grad(ae, &x, idx, rows, 3, &loss0), BB_OK);
    float *analytic = malloc(np * sizeof *analytic);
    memcpy(analytic, bb_ae_grads(ae), np * sizeof *analytic);
    const double eps = 1e-3;
    for (int l = 0; l < bb_ae_layers(ae); l++) {
        size_t begin = bb_ae_weight_offset(ae, l);
        size_t end = bb_ae_bias_offset(ae, l) + (size_t)bb_ae_dims(ae)[l + 1];
        double diff2 = 0, an2 = 0, nu2 = 0;
        size_t kinks = 0;
        for (size_t i = begin; i < end; i++) {
            float keep = p[i];
            double lp, lm;
            p[i] = (float)(keep + eps);
            assert_int_equal(bb_ae_batch_loss(ae, &x, idx, rows, 3, &lp), BB_OK);
            float up = p[i];
            p[i] = (float)(keep - eps);
            assert_int_equal(bb_ae_batch_loss(ae, &x, idx, rows, 3, &lm), BB_OK);
            float down = p[i];
            p[i] = keep;
            /* The steps actually taken in float. */
            double hp = (double)up - keep, hm = (double)keep - down;
            double fwd = (lp - loss0) / hp, bwd = (loss0 - lm) / hm;
            /* A ReLU switching inside the step makes the two one-sided
             * slopes disagree: no derivative to compare there. */
            if (fabs(fwd - bwd) > 0.02 * fmax(fabs(fwd), fabs(bwd)) + 1e-3) {
                kinks++;
                continue;
            }
            double numeric = (lp - lm) / (hp + hm);
            diff2 += (numeric - analytic[i]) * (numeric - analytic[i]);
            an2 += (double)analytic[i] * analytic[i];
            nu2 += numeric * numeric;
        }
        double rel = sqrt(diff2) / fmax(1e-12, fmax(sqrt(an2), sqrt(nu2)));
        printf("  %s layer %d: |analytic| %.3e, relative error %.2e (%zu of %zu parameters at a ReLU kink)\n",
               bb_ae_loss_name(loss), l, sqrt(an2), rel, kinks, end - begin);
        assert_true(sqrt(an2) > 1e-6); /* the check is not vacuous */
        assert_true(kinks * 5 < end - begin);
        assert_true(rel < 1e-2);
    }
    free(analytic);
    bb_ae_free(ae);
    bb_csr_free(&x);
}

static void test_gradient_multinomial(void **state)
{
    (void)state;
    gradient_check(BB_AE_MULTINOMIAL);
}

static void test_gradient_bce(void **state)
{
    (void)state;
    gradient_check(BB_AE_BCE);
}

static void test_gradient_mse(void **state)
{
    (void)state;
    gradient_check(BB_AE_MSE);
}

/* The losses against their formulas in double, and their gradients. */
static void test_losses(void **state)
{
    (void)state;
    const size_t n = 6;
    const float z0[6] = {1.5f, -0.25f, 0.0f, 3.0f, -2.0f, 0.75f};
    const uint32_t items[] = {1, 3};
    double lse = 0;
    for (size_t i = 0; i < n; i++)
        lse += exp((double)z0[i]);
    lse = log(lse);
    float z[6];

    memcpy(z, z0, sizeof z);
    double multinomial = bb_ae_row_loss(BB_AE_MULTINOMIAL, z, n, items, 2, true, 0.5f);
    assert_float_equal(multinomial, -(z0[1] - lse) - (z0[3] - lse), 1e-5);
    for (size_t i = 0; i < n; i++) {
        double softmax = exp(z0[i] - lse);
        double want = 0.5 * (2 * softmax - (i == 1 || i == 3));
        assert_float_equal(z[i], want, 1e-6);
    }

    memcpy(z, z0, sizeof z);
    double bce = bb_ae_row_loss(BB_AE_BCE, z, n, items, 2, true, 1.0f);
    double want_bce = 0;
    for (size_t i = 0; i < n; i++) {
        double s = 1.0 / (1.0 + exp(-(double)z0[i]));
        int pos = i == 1 || i == 3;
        want_bce += pos ? -log(s) : -log(1 - s);
        assert_float_equal(z[i], s - pos, 1e-6);
    }
    assert_float_equal(bce, want_bce, 1e-5);

    memcpy(z, z0, sizeof z);
    double mse = bb_ae_row_loss(BB_AE_MSE, z, n, items, 2, true, 1.0f);
    double want_mse = 0;
    for (size_t i = 0; i < n; i++) {
        int pos = i == 1 || i == 3;
        want_mse += (z0[i] - pos) * (z0[i] - pos);
        assert_float_equal(z[i], 2 * (z0[i] - pos), 1e-6);
    }
    assert_float_equal(mse, want_mse, 1e-5);

    /* Extreme logits stay finite: softmax after subtracting the maximum. */
    float wild[4] = {-1000.0f, 80.0f, 79.0f, -50.0f};
    const uint32_t one[] = {2};
    double l = bb_ae_row_loss(BB_AE_MULTINOMIAL, wild, 4, one, 1, true, 1.0f);
    assert_true(isfinite(l));
    assert_float_equal(l, log(1 + exp(1.0)), 1e-5);
    assert_true(isfinite(wild[0]) && wild[0] >= 0);

    /* The fast exp inside the softmax: close to exp across its range. */
    float probe[200];
    for (int i = 0; i < 200; i++)
        probe[i] = -0.43f * (float)i;
    const uint32_t first[] = {0};
    float copy[200];
    memcpy(copy, probe, sizeof copy);
    bb_ae_row_loss(BB_AE_MULTINOMIAL, copy, 200, first, 1, true, 1.0f);
    double sum = 0;
    for (int i = 0; i < 200; i++)
        sum += exp((double)probe[i]);
    for (int i = 0; i < 200; i++) {
        double want = exp((double)probe[i]) / sum - (i == 0);
        assert_true(fabs(copy[i] - want) <= 1e-6 * fmax(1e-30, fabs(want)) + 1e-12);
    }
}

static bb_ae *train(bb_csr *x, int threads, uint64_t seed, int epochs, bb_ae_loss loss)
{
    bb_ae_opts o;
    bb_ae_defaults(&o, x->n_cols);
    static const int hidden[] = {32, 16, 32};
    o.n_hidden = 3;
    memcpy(o.hidden, hidden, sizeof hidden);
    o.loss = loss;
    o.batch = 64;
    o.lr = 3e-3f;
    o.threads = threads;
    o.seed = seed;
    bb_ae *ae;
    assert_int_equal(bb_ae_new(&o, &ae), BB_OK);
    uint32_t *rows = malloc(x->n_rows * sizeof *rows);
    for (uint32_t i = 0; i < x->n_rows; i++)
        rows[i] = i;
    double first = 0, last = 0;
    for (int ep = 0; ep < epochs; ep++) {
        assert_int_equal(bb_ae_train_epoch(ae, x, rows, x->n_rows, 0, (uint64_t)ep, &last), BB_OK);
        if (ep == 0)
            first = last;
    }
    assert_true(last < first);
    free(rows);
    return ae;
}

/* A planted two-group structure: after training, a customer's best-scored
 * items not bought are from their own group. */
static void test_learns_structure(void **state)
{
    (void)state;
    bb_ae_loss losses[] = {BB_AE_MULTINOMIAL, BB_AE_BCE};
    for (size_t li = 0; li < 2; li++) {
        bb_csr x = planted_csr(400, 20, 9);
        bb_ae *ae = train(&x, 1, 1, 25, losses[li]);
        float *scores = malloc(x.n_rows * 20 * sizeof *scores);
        uint32_t *rows = malloc(x.n_rows * sizeof *rows);
        for (uint32_t i = 0; i < x.n_rows; i++)
            rows[i] = i;
        assert_int_equal(bb_ae_scores(ae, &x, rows, x.n_rows, scores), BB_OK);
        int right = 0;
        for (uint32_t i = 0; i < x.n_rows; i++) {
            /* The best item the row does not have. */
            int best = -1;
            for (uint32_t j = 0; j < 20; j++) {
                if (bb_csr_has(&x, i, j))
                    continue;
                if (best < 0 || scores[i * 20 + j] > scores[i * 20 + (uint32_t)best])
                    best = (int)j;
            }
            right += best >= 0 && (best >= 10) == (i % 2 == 1);
        }
        printf("  %s: %d of %u customers get an item of their group first\n", bb_ae_loss_name(losses[li]), right,
               x.n_rows);
        assert_true(right >= (int)(x.n_rows * 95 / 100));
        free(scores);
        free(rows);
        bb_ae_free(ae);
        bb_csr_free(&x);
    }
}

static void test_determinism(void **state)
{
    (void)state;
    bb_csr x = random_csr(300, 40, 0.15, 4);
    openblas_set_num_threads(1);
    bb_ae *a = train(&x, 1, 7, 3, BB_AE_MULTINOMIAL);
    bb_ae *b = train(&x, 1, 7, 3, BB_AE_MULTINOMIAL);
    bb_ae *c = train(&x, 2, 7, 3, BB_AE_MULTINOMIAL);
    bb_ae *d = train(&x, 3, 7, 3, BB_AE_MULTINOMIAL);
    bb_ae *other = train(&x, 1, 8, 3, BB_AE_MULTINOMIAL);
    size_t n;
    float *pa = bb_ae_params(a, &n);
    assert_memory_equal(pa, bb_ae_params(b, NULL), n * sizeof(float));
    assert_memory_equal(pa, bb_ae_params(c, NULL), n * sizeof(float));
    assert_memory_equal(pa, bb_ae_params(d, NULL), n * sizeof(float));
    assert_memory_not_equal(pa, bb_ae_params(other, NULL), n * sizeof(float));
    bb_ae_free(a);
    bb_ae_free(b);
    bb_ae_free(c);
    bb_ae_free(d);
    bb_ae_free(other);
    bb_csr_free(&x);
}

/* Scores of a block are the same every time and for any thread count; a
 * row scored alone agrees to float rounding only (OpenBLAS picks other
 * kernels for other row counts), which is why `bbreport recommend` scores
 * the customer inside the same block of rows as the run did. */
static void test_scores_and_batching(void **state)
{
    (void)state;
    bb_csr x = random_csr(300, 37, 0.2, 12);
    bb_ae *ae = train(&x, 2, 3, 2, BB_AE_MULTINOMIAL);
    uint32_t *rows = malloc(300 * sizeof *rows);
    for (uint32_t i = 0; i < 300; i++)
        rows[i] = 299 - i;
    float *all = malloc(300 * 37 * sizeof *all), *again = malloc(300 * 37 * sizeof *again), one[37];
    assert_int_equal(bb_ae_scores(ae, &x, rows, 300, all), BB_OK);
    assert_int_equal(bb_ae_scores(ae, &x, rows, 300, again), BB_OK);
    assert_memory_equal(all, again, 300 * 37 * sizeof *all);
    for (uint32_t i = 0; i < 300; i += 7) {
        assert_int_equal(bb_ae_scores(ae, &x, &rows[i], 1, one), BB_OK);
        for (int j = 0; j < 37; j++)
            assert_float_equal(one[j], all[(size_t)i * 37 + j], 1e-5 * (1 + fabsf(one[j])));
    }
    free(rows);
    free(all);
    free(again);
    bb_ae_free(ae);
    bb_csr_free(&x);
}

static void test_options(void **state)
{
    (void)state;
    bb_ae_opts o;
    bb_ae_defaults(&o, 10);
    assert_int_equal(o.n_hidden, 5);
    assert_int_equal(o.hidden[2], 32);
    assert_true(bb_ae_parse_hidden("256, 64,256", &o));
    assert_int_equal(o.n_hidden, 3);
    assert_int_equal(o.hidden[1], 64);
    assert_false(bb_ae_parse_hidden("", &o));
    assert_false(bb_ae_parse_hidden("64,", &o));
    assert_false(bb_ae_parse_hidden("64,x", &o));
    assert_false(bb_ae_parse_hidden("0", &o));
    assert_false(bb_ae_parse_hidden("1,2,3,4,5,6,7,8,9", &o));
    assert_int_equal(bb_ae_parse_loss("bce"), BB_AE_BCE);
    assert_int_equal(bb_ae_parse_loss("mse"), BB_AE_MSE);
    assert_int_equal(bb_ae_parse_loss(""), BB_AE_MULTINOMIAL);
    assert_int_equal(bb_ae_parse_loss("softmax"), -1);
    o.dropout = 1.0f;
    bb_ae *ae = (bb_ae *)&o;
    assert_int_equal(bb_ae_new(&o, &ae), BB_ERR_CONFIG);
    assert_null(ae);
    bb_ae_free(NULL);
}

int main(int argc, char **argv)
{
    openblas_set_num_threads(1);
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_gradient_multinomial),
        cmocka_unit_test(test_gradient_bce),
        cmocka_unit_test(test_gradient_mse),
        cmocka_unit_test(test_losses),
        cmocka_unit_test(test_learns_structure),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_scores_and_batching),
        cmocka_unit_test(test_options),
    };
    (void)argc;
    (void)argv;
    return cmocka_run_group_tests_name("unit", unit, NULL, NULL);
}
