/*
 * interactions.h - the customer x item interaction matrix, split by time.
 *
 * Layout. One CSR matrix over every (customer, item) pair that was ever
 * bought up to the as-of date: row c holds the pairs of customer c (dataset
 * id) at [ptr[c], ptr[c+1]), items ascending. Per pair:
 *   periods   the OR of the periods it was bought in (BB_PERIOD_*),
 *   count     purchase rows of the pair (quantity is not counted: a haircut
 *             bought with two bottles of shampoo is one shampoo purchase),
 *   last_day  the last day it was bought.
 * Memory: 13 bytes a pair plus 8 a customer; no dense customers x items
 * matrix ever exists.
 *
 * Periods. The test period is the last `holdout_days` days up to and
 * including the as-of date; the validation period is the `holdout_days`
 * before it; training is everything earlier:
 *
 *     ... train ... | val_start ... validation ... | test_start ... test ... as_of
 *
 * Models are trained on a binary view of some periods (bb_inter_view) and
 * measured on the items a customer bought in a later period that the
 * recommender is allowed to suggest (bb_inter_targets): items not bought
 * before, or bought before but of a repeatable subcategory. A view never
 * contains a pair bought only in a later period, so nothing of a target
 * period leaks into training (tests/test_recommend.c checks it).
 *
 *     bb_inter x;
 *     bb_inter_build(ds, 90, &x);
 *     bb_csr train, target;
 *     bb_inter_view(&x, BB_PERIOD_TRAIN, &train);
 *     bb_inter_targets(&x, BB_PERIOD_TRAIN, BB_PERIOD_VAL, repeatable, &target);
 *     ...
 *     bb_csr_free(&train); bb_csr_free(&target); bb_inter_free(&x);
 */
#ifndef BB_INTERACTIONS_H
#define BB_INTERACTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/dataset.h"
#include "util/err.h"

enum { BB_PERIOD_TRAIN = 1, BB_PERIOD_VAL = 2, BB_PERIOD_TEST = 4, BB_PERIOD_ALL = 7 };

/* A binary sparse matrix: row r has the columns col[ptr[r]..ptr[r+1]),
 * strictly ascending. Owns its arrays. */
typedef struct bb_csr {
    uint32_t n_rows, n_cols;
    size_t *ptr;   /* n_rows + 1 */
    uint32_t *col; /* ptr[n_rows] */
} bb_csr;

void bb_csr_free(bb_csr *m);
/* Whether row has col (binary search). */
bool bb_csr_has(const bb_csr *m, uint32_t row, uint32_t col);
static inline size_t bb_csr_row_len(const bb_csr *m, uint32_t row)
{
    return m->ptr[row + 1] - m->ptr[row];
}

typedef struct bb_inter {
    uint32_t n_customers, n_items;
    size_t *ptr;        /* n_customers + 1 */
    uint32_t *item;
    uint8_t *periods;
    uint32_t *count;
    int32_t *last_day;
    int32_t as_of, val_start, test_start;
} bb_inter;

/* Builds the matrix from every purchase on or before ds->as_of.
 * holdout_days >= 1. On failure *out is zeroed. */
bb_err bb_inter_build(const bb_dataset *ds, int holdout_days, bb_inter *out);
void bb_inter_free(bb_inter *x);

/* The binary matrix of the pairs bought in any period of mask. */
bb_err bb_inter_view(const bb_inter *x, unsigned mask, bb_csr *out);

/* For every customer, the items bought in period `target` that may be
 * recommended after the history `history_mask`: not in that history, or
 * repeatable[item] (may be NULL: nothing repeatable). */
bb_err bb_inter_targets(const bb_inter *x, unsigned history_mask, unsigned target,
                        const uint8_t *repeatable, bb_csr *out);

#endif
