/*
 * interactions.c - building the CSR interaction matrix from the purchases.
 *
 * Two passes over the purchases: a counting sort by customer puts each
 * customer's (item, day) rows side by side, then each customer's rows are
 * sorted by item and merged into pairs. Temporary memory is 8 bytes a
 * purchase row; the result keeps 13 bytes a distinct pair.
 */
#include "recommend/interactions.h"

#include <stdlib.h>
#include <string.h>

void bb_csr_free(bb_csr *m)
{
    if (!m)
        return;
    free(m->ptr);
    free(m->col);
    memset(m, 0, sizeof *m);
}

bool bb_csr_has(const bb_csr *m, uint32_t row, uint32_t col)
{
    size_t lo = m->ptr[row], hi = m->ptr[row + 1];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->col[mid] < col)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->ptr[row + 1] && m->col[lo] == col;
}

void bb_inter_free(bb_inter *x)
{
    if (!x)
        return;
    free(x->ptr);
    free(x->item);
    free(x->periods);
    free(x->count);
    free(x->last_day);
    memset(x, 0, sizeof *x);
}

typedef struct row_ref {
    uint32_t item;
    int32_t day;
} row_ref;

static int cmp_row_ref(const void *a, const void *b)
{
    const row_ref *x = a, *y = b;
    if (x->item != y->item)
        return x->item < y->item ? -1 : 1;
    return (x->day > y->day) - (x->day < y->day);
}

static unsigned period_of(const bb_inter *x, int32_t day)
{
    if (day >= x->test_start)
        return BB_PERIOD_TEST;
    if (day >= x->val_start)
        return BB_PERIOD_VAL;
    return BB_PERIOD_TRAIN;
}

bb_err bb_inter_build(const bb_dataset *ds, int holdout_days, bb_inter *out)
{
    memset(out, 0, sizeof *out);
    if (holdout_days < 1)
        return BB_ERR_CONFIG;
    const bb_purchases *p = &ds->purchases;
    uint32_t nc = ds->customers.n;
    out->n_customers = nc;
    out->n_items = ds->items.n;
    out->as_of = ds->as_of;
    out->test_start = ds->as_of - holdout_days + 1;
    out->val_start = out->test_start - holdout_days;

    size_t *start = calloc((size_t)nc + 1, sizeof *start);
    row_ref *rows = malloc((p->n ? p->n : 1) * sizeof *rows);
    out->ptr = calloc((size_t)nc + 1, sizeof *out->ptr);
    if (!start || !rows || !out->ptr)
        goto nomem;

    /* Counting sort by customer; purchases after the as-of date are not history. */
    for (size_t i = 0; i < p->n; i++)
        if (p->day[i] <= ds->as_of)
            start[p->customer[i] + 1]++;
    for (uint32_t c = 0; c < nc; c++)
        start[c + 1] += start[c];
    {
        size_t *fill = malloc(((size_t)nc + 1) * sizeof *fill);
        if (!fill)
            goto nomem;
        memcpy(fill, start, ((size_t)nc + 1) * sizeof *fill);
        for (size_t i = 0; i < p->n; i++)
            if (p->day[i] <= ds->as_of)
                rows[fill[p->customer[i]]++] = (row_ref){p->item[i], p->day[i]};
        free(fill);
    }

    /* Sort each customer's rows by item and count distinct pairs in place. */
    size_t pairs = 0;
    for (uint32_t c = 0; c < nc; c++) {
        size_t b = start[c], e = start[c + 1];
        if (e - b > 1)
            qsort(rows + b, e - b, sizeof *rows, cmp_row_ref);
        for (size_t i = b; i < e; i++)
            if (i == b || rows[i].item != rows[i - 1].item)
                pairs++;
    }
    size_t np = pairs ? pairs : 1;
    out->item = malloc(np * sizeof *out->item);
    out->periods = malloc(np * sizeof *out->periods);
    out->count = malloc(np * sizeof *out->count);
    out->last_day = malloc(np * sizeof *out->last_day);
    if (!out->item || !out->periods || !out->count || !out->last_day)
        goto nomem;

    size_t k = 0;
    for (uint32_t c = 0; c < nc; c++) {
        out->ptr[c] = k;
        for (size_t i = start[c]; i < start[c + 1]; i++) {
            if (i == start[c] || rows[i].item != rows[i - 1].item) {
                out->item[k] = rows[i].item;
                out->periods[k] = 0;
                out->count[k] = 0;
                k++;
            }
            out->periods[k - 1] |= (uint8_t)period_of(out, rows[i].day);
            out->count[k - 1]++;
            out->last_day[k - 1] = rows[i].day; /* rows are in day order within an item */
        }
    }
    out->ptr[nc] = k;
    free(start);
    free(rows);
    return BB_OK;

nomem:
    free(start);
    free(rows);
    bb_inter_free(out);
    return BB_ERR_NOMEM;
}

bb_err bb_inter_view(const bb_inter *x, unsigned mask, bb_csr *out)
{
    return bb_inter_targets(x, 0, mask, NULL, out);
}

bb_err bb_inter_targets(const bb_inter *x, unsigned history_mask, unsigned target,
                        const uint8_t *repeatable, bb_csr *out)
{
    memset(out, 0, sizeof *out);
    out->n_rows = x->n_customers;
    out->n_cols = x->n_items;
    out->ptr = calloc((size_t)x->n_customers + 1, sizeof *out->ptr);
    size_t total = x->ptr[x->n_customers];
    out->col = malloc((total ? total : 1) * sizeof *out->col);
    if (!out->ptr || !out->col) {
        bb_csr_free(out);
        return BB_ERR_NOMEM;
    }
    size_t k = 0;
    for (uint32_t c = 0; c < x->n_customers; c++) {
        out->ptr[c] = k;
        for (size_t i = x->ptr[c]; i < x->ptr[c + 1]; i++) {
            unsigned per = x->periods[i];
            if (!(per & target))
                continue;
            bool seen_before = (per & history_mask) != 0;
            if (seen_before && !(repeatable && repeatable[x->item[i]]))
                continue;
            out->col[k++] = x->item[i];
        }
    }
    out->ptr[x->n_customers] = k;
    /* Give back what the filter left unused; a failed shrink keeps the larger block. */
    uint32_t *shrunk = realloc(out->col, (k ? k : 1) * sizeof *out->col);
    if (shrunk)
        out->col = shrunk;
    return BB_OK;
}
