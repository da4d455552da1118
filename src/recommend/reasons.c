#include "recommend/reasons.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recommend/evaluate.h"

void bb_reasons_free(bb_reasons *r)
{
    if (!r)
        return;
    free(r->assoc_n);
    free(r->assoc);
    free(r->seg_top);
    free(r->seg_share);
    memset(r, 0, sizeof *r);
}

/* The BB_REASON_TOP items with the most customers, among the rows of one
 * segment (segment >= 0) or all rows. */
static bb_err top_items(const bb_csr *all, const int *segment_of, int segment, const uint32_t *tie_rank,
                        uint32_t *out, float *share)
{
    uint32_t n = all->n_cols;
    float *count = calloc(n ? n : 1, sizeof *count);
    if (!count)
        return BB_ERR_NOMEM;
    uint32_t buyers = 0;
    for (uint32_t r = 0; r < all->n_rows; r++) {
        if (segment >= 0 && (!segment_of || segment_of[r] != segment))
            continue;
        buyers += all->ptr[r + 1] > all->ptr[r];
        for (size_t i = all->ptr[r]; i < all->ptr[r + 1]; i++)
            count[all->col[i]] += 1.0f;
    }
    for (uint32_t j = 0; j < n; j++)
        if (count[j] <= 0)
            count[j] = -INFINITY;
    uint32_t items[BB_REASON_TOP];
    float scores[BB_REASON_TOP];
    size_t got = bb_eval_topk(count, n, tie_rank, BB_REASON_TOP, items, scores);
    for (size_t i = 0; i < BB_REASON_TOP; i++) {
        out[i] = i < got ? items[i] : BB_UNKNOWN;
        if (share)
            share[i] = i < got ? (float)((double)scores[i] / buyers) : 0.0f;
    }
    free(count);
    return BB_OK;
}

bb_err bb_reasons_fit(const float *gram, const bb_csr *all, const int *segment_of, int n_segments,
                      const uint32_t *tie_rank, bb_reasons *out)
{
    memset(out, 0, sizeof *out);
    uint32_t n = all->n_cols;
    out->n_items = n;
    out->n_segments = segment_of && n_segments > 0 ? (uint32_t)n_segments : 0;
    out->assoc_n = calloc(n ? n : 1, sizeof *out->assoc_n);
    out->assoc = calloc((size_t)(n ? n : 1) * BB_REASON_ASSOC, sizeof *out->assoc);
    size_t seg_cells = (size_t)(out->n_segments ? out->n_segments : 1) * BB_REASON_TOP;
    out->seg_top = calloc(seg_cells, sizeof *out->seg_top);
    out->seg_share = calloc(seg_cells, sizeof *out->seg_share);
    if (!out->assoc_n || !out->assoc || !out->seg_top || !out->seg_share)
        goto nomem;
    if (top_items(all, NULL, -1, tie_rank, out->global_top, NULL) != BB_OK)
        goto nomem;
    for (uint32_t s = 0; s < out->n_segments; s++)
        if (top_items(all, segment_of, (int)s, tie_rank, out->seg_top + (size_t)s * BB_REASON_TOP,
                      out->seg_share + (size_t)s * BB_REASON_TOP) != BB_OK)
            goto nomem;

    if (gram) {
        uint32_t active = 0;
        for (uint32_t r = 0; r < all->n_rows; r++)
            active += all->ptr[r + 1] > all->ptr[r];
        size_t nn = n;
        float *diag = malloc((n ? n : 1) * sizeof *diag);
        if (!diag)
            goto nomem;
        for (uint32_t j = 0; j < n; j++)
            diag[j] = gram[(size_t)j * nn + j];
        /* G is symmetric: row j holds the co-counts of j with every h. */
        for (uint32_t j = 0; j < n; j++) {
            double gjj = diag[j];
            if (gjj <= 0)
                continue;
            double pj = gjj / active;
            uint32_t *list = out->assoc + (size_t)j * BB_REASON_ASSOC;
            double conf_of[BB_REASON_ASSOC];
            uint32_t cnt = 0;
            for (uint32_t h = 0; h < n; h++) {
                double co = gram[(size_t)j * nn + h], ghh = diag[h];
                if (h == j || co < BB_REASON_MIN_CO || ghh <= 0)
                    continue;
                double conf = co / ghh; /* P(j | h) */
                if (conf < 0.10 || conf < 1.5 * pj)
                    continue;
                if (cnt == BB_REASON_ASSOC && conf <= conf_of[cnt - 1])
                    continue;
                uint32_t pos = cnt < BB_REASON_ASSOC ? cnt++ : cnt - 1;
                while (pos > 0 && conf_of[pos - 1] < conf) {
                    conf_of[pos] = conf_of[pos - 1];
                    list[pos] = list[pos - 1];
                    pos--;
                }
                conf_of[pos] = conf;
                list[pos] = h;
            }
            out->assoc_n[j] = cnt;
        }
        free(diag);
    }
    return BB_OK;
nomem:
    bb_reasons_free(out);
    return BB_ERR_NOMEM;
}

static int find(const uint32_t *a, size_t n, uint32_t v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && a[lo] == v ? (int)lo : -1;
}

int bb_reasons_in_segment_top(const bb_reasons *r, int segment, uint32_t item)
{
    if (segment < 0 || (uint32_t)segment >= r->n_segments)
        return 0;
    const uint32_t *top = r->seg_top + (size_t)segment * BB_REASON_TOP;
    for (int i = 0; i < BB_REASON_TOP && top[i] != BB_UNKNOWN; i++)
        if (top[i] == item)
            return 1;
    return 0;
}

bb_rec_reason bb_reasons_pick(const bb_reasons *r, const bb_reason_input *in, uint32_t item, uint32_t *arg)
{
    *arg = 0;
    int at = find(in->items, in->n, item);
    if (at >= 0) {
        *arg = in->counts ? in->counts[at] : 1;
        return BB_REASON_AGAIN;
    }
    const uint32_t *assoc = r->assoc + (size_t)item * BB_REASON_ASSOC;
    for (uint32_t a = 0; a < r->assoc_n[item]; a++) {
        if (find(in->items, in->n, assoc[a]) >= 0) {
            *arg = assoc[a];
            return BB_REASON_WITH_ITEM;
        }
    }
    if (bb_reasons_in_segment_top(r, in->segment, item)) {
        *arg = (uint32_t)in->segment;
        return BB_REASON_SEGMENT;
    }
    if (in->subcat && in->subcat[item] != BB_UNKNOWN) {
        uint32_t sub = in->subcat[item];
        for (size_t i = 0; i < in->n; i++) {
            if (in->subcat[in->items[i]] == sub) {
                *arg = sub;
                return BB_REASON_SUBCATEGORY;
            }
        }
    }
    for (int i = 0; i < BB_REASON_TOP; i++)
        if (r->global_top[i] == item)
            return BB_REASON_POPULAR;
    return BB_REASON_HISTORY;
}
