/*
 * baselines.h - the recommenders every model is measured against.
 *
 *   popularity  score(j) = share of training customers who bought j;
 *   item-kNN    cosine similarity of item columns of the binary matrix X,
 *               sim(i,j) = G_ij / sqrt(G_ii G_jj) with G = X^T X; each item
 *               keeps its k most similar items, and a customer's score of j
 *               is the sum of sim(h,j) over their items h that have j among
 *               their neighbours (Deshpande & Karypis, "Item-based top-N
 *               recommendation algorithms", TOIS 2004);
 *   EASE        B = argmin |X - XB|^2 + lambda |B|^2 with diag(B) = 0, in
 *               closed form: P = (G + lambda I)^-1, B_ij = -P_ij / P_jj
 *               (Steck, "Embarrassingly Shallow Autoencoders for Sparse
 *               Data", WWW 2019). The inverse goes through a Cholesky
 *               factorisation (LAPACKE dpotrf + dpotri) in double precision;
 *               B is kept in float. Call it with OpenBLAS at one thread:
 *               its threaded dpotrf/dpotri block the work by thread count,
 *               so the last bits of B (and then rankings) would change with
 *               it. One inverse takes about 0.2 s at 2,000 items, 3 s at
 *               5,000.
 *
 * Layout: G and B are dense n_items x n_items float matrices, row-major
 * (5,000 items: 100 MB each). Counts in G are exact up to 2^24 customers
 * an item. Neighbour lists are n_items x k, most similar first, ties broken
 * by item index.
 *
 *     float *g;
 *     bb_gram(&train, threads, &g);
 *     bb_knn knn;
 *     bb_knn_fit(g, n_items, 200, threads, &knn);
 *     float *b;
 *     bb_ease_fit(g, n_items, 250.0, &b);
 *     bb_ease_score(b, n_items, items, n, scores);
 */
#ifndef BB_BASELINES_H
#define BB_BASELINES_H

#include <stddef.h>
#include <stdint.h>

#include "recommend/interactions.h"
#include "util/err.h"

/* Largest catalogue for the item x item models (G and B dense). */
#define BB_REC_DENSE_MAX_ITEMS 8192u

/* score[j] = customers with j / rows with any item (0 when none). */
bb_err bb_pop_fit(const bb_csr *x, float **score);

/* G = X^T X, n_cols x n_cols. */
bb_err bb_gram(const bb_csr *x, int threads, float **g);

typedef struct bb_knn {
    uint32_t n_items, k;
    uint32_t *n_nbr; /* neighbours of each item (<= k; only positive similarity) */
    uint32_t *nbr;   /* n_items x k */
    float *sim;      /* n_items x k */
} bb_knn;

bb_err bb_knn_fit(const float *g, uint32_t n_items, uint32_t k, int threads, bb_knn *out);
void bb_knn_free(bb_knn *m);
/* scores[0..n_items) = sum over hist of the first k neighbours' similarities. */
void bb_knn_score(const bb_knn *m, uint32_t k, const uint32_t *hist, size_t n_hist, float *scores);

/* B for lambda > 0; *b is n_items x n_items. BB_ERR_INTERNAL when the
 * factorisation fails. */
bb_err bb_ease_fit(const float *g, uint32_t n_items, double lambda, float **b);
/* scores[0..n_items) = sum of the rows of B of the items in hist. */
void bb_ease_score(const float *b, uint32_t n_items, const uint32_t *hist, size_t n_hist, float *scores);

#endif
