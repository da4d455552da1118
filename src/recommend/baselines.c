/*
 * baselines.c - popularity, item co-occurrence, item-kNN and EASE.
 *
 * G is filled by pair counting over the CSR rows (a customer with m items
 * adds m^2 ones), split over threads by rows of G: each thread visits every
 * customer but only updates the rows it owns, so no two threads write the
 * same cell and the counts do not depend on the split.
 */
#include "recommend/baselines.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recommend/parallel.h"

bb_err bb_pop_fit(const bb_csr *x, float **score)
{
    *score = NULL;
    float *s = calloc(x->n_cols ? x->n_cols : 1, sizeof *s);
    uint32_t *count = calloc(x->n_cols ? x->n_cols : 1, sizeof *count);
    if (!s || !count) {
        free(s);
        free(count);
        return BB_ERR_NOMEM;
    }
    uint32_t active = 0;
    for (uint32_t r = 0; r < x->n_rows; r++) {
        if (x->ptr[r + 1] > x->ptr[r])
            active++;
        for (size_t i = x->ptr[r]; i < x->ptr[r + 1]; i++)
            count[x->col[i]]++;
    }
    for (uint32_t j = 0; j < x->n_cols; j++)
        s[j] = active ? (float)((double)count[j] / active) : 0.0f;
    free(count);
    *score = s;
    return BB_OK;
}

typedef struct gram_ctx {
    const bb_csr *x;
    float *g;
    int parts;
} gram_ctx;

static void gram_part(void *arg, size_t begin, size_t end)
{
    const gram_ctx *c = arg;
    const bb_csr *x = c->x;
    size_t n = x->n_cols;
    for (size_t part = begin; part < end; part++) {
        uint32_t lo = (uint32_t)(n * part / (size_t)c->parts);
        uint32_t hi = (uint32_t)(n * (part + 1) / (size_t)c->parts);
        for (uint32_t r = 0; r < x->n_rows; r++) {
            const uint32_t *items = x->col + x->ptr[r];
            size_t m = x->ptr[r + 1] - x->ptr[r];
            for (size_t a = 0; a < m; a++) {
                uint32_t i = items[a];
                if (i < lo)
                    continue;
                if (i >= hi)
                    break;
                float *row = c->g + (size_t)i * n;
                for (size_t b = 0; b < m; b++)
                    row[items[b]] += 1.0f;
            }
        }
    }
}

bb_err bb_gram(const bb_csr *x, int threads, float **g)
{
    size_t n = x->n_cols;
    *g = calloc(n > 0 ? n * n : 1, sizeof **g);
    if (!*g)
        return BB_ERR_NOMEM;
    int parts = threads < 1 ? 1 : threads;
    gram_ctx c = {x, *g, parts};
    bb_rec_par_for(threads, (size_t)parts, gram_part, &c);
    return BB_OK;
}

void bb_knn_free(bb_knn *m)
{
    if (!m)
        return;
    free(m->n_nbr);
    free(m->nbr);
    free(m->sim);
    memset(m, 0, sizeof *m);
}

typedef struct knn_ctx {
    const float *g;
    bb_knn *m;
} knn_ctx;

static void knn_items(void *arg, size_t begin, size_t end)
{
    const knn_ctx *c = arg;
    bb_knn *m = c->m;
    size_t n = m->n_items;
    for (size_t i = begin; i < end; i++) {
        uint32_t *nb = m->nbr + i * m->k;
        float *sv = m->sim + i * m->k;
        uint32_t cnt = 0;
        double gii = c->g[i * n + i];
        if (gii > 0) {
            const float *row = c->g + i * n;
            for (size_t j = 0; j < n; j++) {
                if (j == i || row[j] <= 0)
                    continue;
                float s = (float)(row[j] / sqrt(gii * (double)c->g[j * n + j]));
                if (cnt == m->k && s <= sv[cnt - 1])
                    continue; /* ties keep the lower item index */
                /* Insertion into the sorted list (descending similarity). */
                uint32_t pos = cnt < m->k ? cnt++ : cnt - 1;
                while (pos > 0 && sv[pos - 1] < s) {
                    sv[pos] = sv[pos - 1];
                    nb[pos] = nb[pos - 1];
                    pos--;
                }
                sv[pos] = s;
                nb[pos] = (uint32_t)j;
            }
        }
        m->n_nbr[i] = cnt;
    }
}

bb_err bb_knn_fit(const float *g, uint32_t n_items, uint32_t k, int threads, bb_knn *out)
{
    memset(out, 0, sizeof *out);
    if (k < 1)
        k = 1;
    out->n_items = n_items;
    out->k = k;
    size_t cells = (size_t)n_items * k;
    out->n_nbr = calloc(n_items ? n_items : 1, sizeof *out->n_nbr);
    out->nbr = calloc(cells ? cells : 1, sizeof *out->nbr);
    out->sim = calloc(cells ? cells : 1, sizeof *out->sim);
    if (!out->n_nbr || !out->nbr || !out->sim) {
        bb_knn_free(out);
        return BB_ERR_NOMEM;
    }
    knn_ctx c = {g, out};
    bb_rec_par_for(threads, n_items, knn_items, &c);
    return BB_OK;
}

void bb_knn_score(const bb_knn *m, uint32_t k, const uint32_t *hist, size_t n_hist, float *scores)
{
    memset(scores, 0, (size_t)m->n_items * sizeof *scores);
    for (size_t a = 0; a < n_hist; a++) {
        uint32_t h = hist[a];
        uint32_t cnt = m->n_nbr[h] < k ? m->n_nbr[h] : k;
        const uint32_t *nb = m->nbr + (size_t)h * m->k;
        const float *sv = m->sim + (size_t)h * m->k;
        for (uint32_t t = 0; t < cnt; t++)
            scores[nb[t]] += sv[t];
    }
}

bb_err bb_ease_fit(const float *g, uint32_t n_items, double lambda, float **b)
{
    *b = NULL;
    size_t n = n_items;
    if (n == 0 || !(lambda > 0))
        return BB_ERR_INTERNAL;
    double *p = malloc(n * n * sizeof *p);
    float *out = malloc(n * n * sizeof *out);
    if (!p || !out) {
        free(p);
        free(out);
        return BB_ERR_NOMEM;
    }
    for (size_t i = 0; i < n * n; i++)
        p[i] = g[i];
    for (size_t i = 0; i < n; i++)
        p[i * n + i] += lambda;
    /* G + lambda I is symmetric positive definite for lambda > 0. */
    lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', (lapack_int)n, p, (lapack_int)n);
    if (info == 0)
        info = LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'U', (lapack_int)n, p, (lapack_int)n);
    if (info != 0) {
        free(p);
        free(out);
        return BB_ERR_INTERNAL;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            p[i * n + j] = p[j * n + i];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            out[i * n + j] = i == j ? 0.0f : (float)(-p[i * n + j] / p[j * n + j]);
    free(p);
    *b = out;
    return BB_OK;
}

void bb_ease_score(const float *b, uint32_t n_items, const uint32_t *hist, size_t n_hist, float *scores)
{
    size_t n = n_items;
    memset(scores, 0, n * sizeof *scores);
    for (size_t a = 0; a < n_hist; a++) {
        const float *row = b + (size_t)hist[a] * n;
        for (size_t j = 0; j < n; j++)
            scores[j] += row[j];
    }
}
