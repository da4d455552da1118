/*
 * reasons.h - why an item is recommended to a customer, from the data.
 *
 * What is kept (computed on all purchases when the serving model is fitted,
 * and stored in the model file):
 *   - associates: for each item j, up to BB_REASON_ASSOC items h that
 *     customers "often bought with" j, best first. h qualifies when at least
 *     BB_REASON_MIN_CO customers bought both, lift = P(j | h) / P(j) is at
 *     least 1.5 and confidence P(j | h) at least 10 %; they are ranked by
 *     confidence (ties by item index). Requires the co-occurrence matrix,
 *     so catalogues above BB_REC_DENSE_MAX_ITEMS get no associates;
 *   - each segment's and all customers' BB_REASON_TOP most popular items
 *     (customers who bought them; ties by item ID).
 *
 * The reason of item j for a customer, first that applies:
 *   1. they bought j before (a repeatable subcategory)  -> AGAIN (arg: times)
 *   2. an associate of j is in their history             -> WITH_ITEM (arg: it)
 *   3. j is among their segment's most popular           -> SEGMENT (arg: segment)
 *   4. they bought in j's subcategory                    -> SUBCATEGORY (arg: it)
 *   5. j is among all customers' most popular            -> POPULAR
 *   6. otherwise                                         -> HISTORY
 */
#ifndef BB_REASONS_H
#define BB_REASONS_H

#include <stddef.h>
#include <stdint.h>

#include "recommend/interactions.h"
#include "recommend/recommend.h"
#include "util/err.h"

#define BB_REASON_ASSOC 8
#define BB_REASON_TOP 20
#define BB_REASON_MIN_CO 5

typedef struct bb_reasons {
    uint32_t n_items;
    uint32_t *assoc_n;   /* per item */
    uint32_t *assoc;     /* n_items x BB_REASON_ASSOC */
    uint32_t n_segments;
    uint32_t *seg_top;   /* n_segments x BB_REASON_TOP, BB_UNKNOWN after the last */
    float *seg_share;    /* parallel to seg_top: share of the segment's buying customers */
    uint32_t global_top[BB_REASON_TOP];
} bb_reasons;

/* gram: X^T X of `all` (NULL: no associates); segment_of per row of `all`
 * (NULL: no segments); tie_rank per item. */
bb_err bb_reasons_fit(const float *gram, const bb_csr *all, const int *segment_of, int n_segments,
                      const uint32_t *tie_rank, bb_reasons *out);
void bb_reasons_free(bb_reasons *r);

/* One customer: their items (ascending) with times bought, segment (-1 none). */
typedef struct bb_reason_input {
    const uint32_t *items;
    const uint32_t *counts;    /* may be NULL: once each */
    size_t n;
    int segment;
    const uint32_t *subcat;    /* per item: subcategory id, BB_UNKNOWN: none; NULL: no subcategories */
} bb_reason_input;

bb_rec_reason bb_reasons_pick(const bb_reasons *r, const bb_reason_input *in, uint32_t item, uint32_t *arg);
/* Whether item is among segment's most popular. */
int bb_reasons_in_segment_top(const bb_reasons *r, int segment, uint32_t item);

#endif
