/*
 * model.c - scoring customers with a fitted model and cutting top-N lists.
 *
 * Serving works in blocks of BB_REC_SERVE_BLOCK rows: the block's rows with a
 * history are scored together (one sgemm chain for the autoencoder), then
 * each row's list is cut on its own (threads over rows). A block's score
 * buffer is BB_REC_SERVE_BLOCK x n_items floats (5,000 items: 5 MB).
 */
#include "recommend/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recommend/evaluate.h"
#include "recommend/parallel.h"

#define SERVE_BLOCK BB_REC_SERVE_BLOCK

void bb_rec_model_clear(bb_rec_model *m)
{
    if (!m)
        return;
    free(m->pop);
    bb_knn_free(&m->knn);
    free(m->ease);
    bb_ae_free(m->ae);
    memset(m, 0, sizeof *m);
}

typedef struct score_ctx {
    const bb_rec_model *m;
    const bb_csr *hist;
    const uint32_t *rows;
    float *out;
} score_ctx;

static void score_rows(void *arg, size_t begin, size_t end)
{
    const score_ctx *c = arg;
    const bb_rec_model *m = c->m;
    for (size_t r = begin; r < end; r++) {
        uint32_t row = c->rows[r];
        const uint32_t *items = c->hist->col + c->hist->ptr[row];
        size_t n = bb_csr_row_len(c->hist, row);
        float *s = c->out + r * (size_t)m->n_items;
        switch (m->kind) {
        case BB_REC_ITEMKNN:
            bb_knn_score(&m->knn, m->knn_k, items, n, s);
            break;
        case BB_REC_EASE:
            bb_ease_score(m->ease, m->n_items, items, n, s);
            break;
        default:
            memcpy(s, m->pop, (size_t)m->n_items * sizeof *s);
            break;
        }
    }
}

bb_err bb_rec_model_scores(bb_rec_model *m, const bb_csr *hist, const uint32_t *rows, size_t n, int threads,
                           float *out)
{
    if (m->kind == BB_REC_AUTOENCODER)
        return m->ae ? bb_ae_scores(m->ae, hist, rows, n, out) : BB_ERR_INTERNAL;
    if ((m->kind == BB_REC_ITEMKNN && !m->knn.nbr) || (m->kind == BB_REC_EASE && !m->ease) || !m->pop)
        return BB_ERR_INTERNAL;
    score_ctx c = {m, hist, rows, out};
    bb_rec_par_for(threads, n, score_rows, &c);
    return BB_OK;
}

typedef struct cut_ctx {
    const bb_rec_serve_ctx *s;
    const uint32_t *rows;    /* warm rows of the block */
    const size_t *slot;      /* their output slots */
    float *scores;
    uint32_t *items;
    float *top_scores;
    uint8_t *reasons, *count, *source;
    uint32_t *args;
} cut_ctx;

static void cut_rows(void *arg, size_t begin, size_t end)
{
    const cut_ctx *c = arg;
    const bb_rec_serve_ctx *s = c->s;
    uint32_t n_items = s->model->n_items;
    for (size_t r = begin; r < end; r++) {
        uint32_t row = c->rows[r];
        size_t at = c->slot[r] * (size_t)s->top_n;
        float *sc = c->scores + r * (size_t)n_items;
        const uint32_t *hist = s->hist->col + s->hist->ptr[row];
        size_t nh = bb_csr_row_len(s->hist, row);
        for (size_t i = 0; i < nh; i++)
            if (!s->repeatable || !s->repeatable[hist[i]])
                sc[hist[i]] = -INFINITY;
        size_t got = bb_eval_topk(sc, n_items, s->tie_rank, (size_t)s->top_n, c->items + at, c->top_scores + at);
        bb_reason_input in = {hist, s->hist_count ? s->hist_count + s->hist->ptr[row] : NULL, nh,
                              s->segment_of ? s->segment_of[row] : -1, s->subcat};
        for (size_t i = 0; i < got; i++)
            c->reasons[at + i] = (uint8_t)bb_reasons_pick(s->reasons, &in, c->items[at + i], &c->args[at + i]);
        c->count[c->slot[r]] = (uint8_t)got;
        c->source[c->slot[r]] = BB_REC_SRC_MODEL;
    }
}

/* A customer without purchases: their segment's most popular items, then
 * all customers' (popular_order), each once. The score is the item's share
 * in the segment (0 for items filled in from all customers), so the list
 * stays in score order. */
static void fallback(const bb_rec_serve_ctx *s, uint32_t row, const uint32_t *popular_order, size_t n_popular,
                     uint32_t *items, float *scores, uint8_t *reasons, uint32_t *args, uint8_t *count,
                     uint8_t *source)
{
    const bb_reasons *rs = s->reasons;
    int seg = s->segment_of ? s->segment_of[row] : -1;
    size_t got = 0;
    bool from_segment = seg >= 0 && (uint32_t)seg < rs->n_segments;
    if (from_segment) {
        const uint32_t *top = rs->seg_top + (size_t)seg * BB_REASON_TOP;
        const float *share = rs->seg_share + (size_t)seg * BB_REASON_TOP;
        for (size_t i = 0; i < BB_REASON_TOP && got < (size_t)s->top_n && top[i] != BB_UNKNOWN; i++) {
            items[got] = top[i];
            scores[got] = share[i];
            reasons[got] = BB_REASON_NEW_SEGMENT;
            args[got] = (uint32_t)seg;
            got++;
        }
    }
    size_t from_seg = got;
    for (size_t p = 0; p < n_popular && got < (size_t)s->top_n; p++) {
        bool dup = false;
        for (size_t i = 0; i < from_seg; i++)
            dup = dup || items[i] == popular_order[p];
        if (dup)
            continue;
        items[got] = popular_order[p];
        scores[got] = from_seg ? 0.0f : s->model->pop[popular_order[p]];
        reasons[got] = BB_REASON_NEW_POPULAR;
        args[got] = 0;
        got++;
    }
    *count = (uint8_t)got;
    *source = from_seg ? BB_REC_SRC_SEGMENT : BB_REC_SRC_POPULAR;
}

bb_err bb_rec_serve(const bb_rec_serve_ctx *s, const uint32_t *rows, size_t n, uint32_t *items, float *scores,
                    uint8_t *reasons, uint32_t *args, uint8_t *count, uint8_t *source)
{
    uint32_t n_items = s->model->n_items;
    if (s->top_n < 1 || s->top_n > 255 || !s->model->pop)
        return BB_ERR_INTERNAL;
    /* All customers' most popular, for the fallback: top_n beyond a segment's list. */
    size_t n_popular_max = (size_t)s->top_n + BB_REASON_TOP;
    uint32_t *popular = malloc(n_popular_max * sizeof *popular);
    float *popular_score = malloc(n_popular_max * sizeof *popular_score);
    float *block = malloc((size_t)SERVE_BLOCK * n_items * sizeof *block);
    uint32_t *warm = malloc(SERVE_BLOCK * sizeof *warm);
    size_t *slot = malloc(SERVE_BLOCK * sizeof *slot);
    bb_err e = popular && popular_score && block && warm && slot ? BB_OK : BB_ERR_NOMEM;
    size_t n_popular = 0;
    if (e == BB_OK) {
        float *pop = malloc((size_t)n_items * sizeof *pop);
        if (!pop) {
            e = BB_ERR_NOMEM;
        } else {
            for (uint32_t j = 0; j < n_items; j++)
                pop[j] = s->model->pop[j] > 0 ? s->model->pop[j] : -INFINITY;
            n_popular = bb_eval_topk(pop, n_items, s->tie_rank, n_popular_max, popular, popular_score);
            free(pop);
        }
    }
    for (size_t b = 0; b < n && e == BB_OK; b += SERVE_BLOCK) {
        size_t nb = n - b < SERVE_BLOCK ? n - b : SERVE_BLOCK;
        size_t nw = 0;
        for (size_t i = b; i < b + nb; i++) {
            if (bb_csr_row_len(s->hist, rows[i]) > 0) {
                warm[nw] = rows[i];
                slot[nw++] = i;
            } else {
                size_t at = i * (size_t)s->top_n;
                fallback(s, rows[i], popular, n_popular, items + at, scores + at, reasons + at, args + at,
                         count + i, source + i);
            }
        }
        if (nw == 0)
            continue;
        e = bb_rec_model_scores(s->model, s->hist, warm, nw, s->threads, block);
        if (e != BB_OK)
            break;
        cut_ctx c = {s, warm, slot, block, items, scores, reasons, count, source, args};
        bb_rec_par_for(s->threads, nw, cut_rows, &c);
    }
    free(popular);
    free(popular_score);
    free(block);
    free(warm);
    free(slot);
    return e;
}
