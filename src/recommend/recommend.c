/*
 * recommend.c - the recommendation stage: selection on validation, honest
 * measurement on the test period, serving on all data (see recommend.h).
 *
 * Memory at 1M customers x 5k items: the interaction CSR (13 bytes a pair),
 * one binary view at a time (4 bytes a pair), the dense item x item matrices
 * of the baselines (G and B, 100 MB each, plus 200 MB in double while EASE
 * inverts), score blocks of 256 rows, per-customer metrics of the measured
 * customers, and the top-N lists (18 bytes an entry). Never a dense
 * customers x items matrix.
 */
#include "recommend/recommend.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics/summary.h"
#include "recommend/evaluate.h"
#include "recommend/model.h"
#include "recommend/parallel.h"
#include "util/csvw.h"
#include "util/date.h"
#include "util/fmt.h"
#include "util/rng.h"

/* Validation customers measured at most (a seeded sample beyond): the
 * autoencoder is measured after every epoch, and with per-customer NDCG
 * spread about 0.3, 20,000 customers pin the mean down to about +-0.004. */
#define VAL_MAX_CUSTOMERS 20000
#define EVAL_BLOCK 256
#define STREAM_VAL_SAMPLE 0x56414cULL

/* Hyperparameter grids, chosen on validation NDCG. EASE's lambda scales with
 * how often items are bought (Steck's best values sit at 0.1-0.5 of the mean
 * item count on MovieLens, Netflix and MSD), so the grid is relative to it. */
static const uint32_t KNN_GRID[] = {10, 20, 50, 100, 200};
static const double EASE_GRID[] = {0.03, 0.1, 0.3, 1.0, 3.0};

void bb_rec_defaults(bb_rec_opts *o)
{
    memset(o, 0, sizeof *o);
    o->holdout_days = 90;
    o->top_n = 5;
    o->k = 10;
    o->serve = "";
    o->loss = "multinomial";
    o->hidden = "128,64,32,64,128";
    o->dropout = 0.2;
    o->input_dropout = 0.5;
    o->l2 = 1e-3;
    o->lr = 1e-3;
    o->max_epochs = 30;
    o->batch = 256;
    o->patience = 3;
    o->epoch_rows = 100000;
    o->repeatable = "Haircut";
    o->seed = 42;
    o->threads = 0;
}

const char *bb_rec_kind_name(bb_rec_kind k)
{
    static const char *const names[] = {"popularity", "itemknn", "ease", "autoencoder"};
    return (unsigned)k < BB_REC__KINDS ? names[k] : "unknown";
}

const char *bb_rec_kind_label(bb_rec_kind k)
{
    static const char *const labels[] = {"Popularity", "Item-kNN", "EASE", "Autoencoder"};
    return (unsigned)k < BB_REC__KINDS ? labels[k] : "unknown";
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- shared pieces ------------------------------------------------------ */

void bb_rec_serving_free(struct bb_rec_serving *s)
{
    if (!s)
        return;
    bb_rec_model_clear(&s->model);
    bb_reasons_free(&s->reasons);
    free(s->repeatable);
    free(s->tie_rank);
    free(s);
}

void bb_rec_format_score(float score, char out[static 40])
{
    double v = score;
    if (!isfinite(v) || v == 0) {
        memcpy(out, "0", 2);
        return;
    }
    double a = fabs(v);
    int decimals = 5 - (int)floor(log10(a));
    if (decimals < 0)
        decimals = 0;
    if (decimals > 12)
        decimals = 12;
    double p10 = pow(10.0, decimals);
    double scaled_d = round(a * p10);
    if (scaled_d > 9e18) {
        memcpy(out, v < 0 ? "-9e18" : "9e18", v < 0 ? 6 : 5);
        return;
    }
    unsigned long long scaled = (unsigned long long)scaled_d, unit = (unsigned long long)p10;
    char frac[16];
    unsigned long long f = scaled % unit;
    for (int i = decimals - 1; i >= 0; i--) {
        frac[i] = (char)('0' + f % 10);
        f /= 10;
    }
    frac[decimals] = '\0';
    /* Trailing zeros say nothing. */
    int end = decimals;
    while (end > 0 && frac[end - 1] == '0')
        frac[--end] = '\0';
    snprintf(out, 40, "%s%llu%s%s", v < 0 && scaled ? "-" : "", scaled / unit, end ? "." : "", frac);
}

const char *bb_rec_reason_words(bb_rec_reason kind, uint32_t arg, const char *item_name,
                                const char *segment_name, const char *subcategory_name, char *buf,
                                size_t size)
{
    switch (kind) {
    case BB_REASON_AGAIN:
        if (arg <= 1)
            snprintf(buf, size, "bought once before; booked again by regulars");
        else
            snprintf(buf, size, "bought %u times before", (unsigned)arg);
        break;
    case BB_REASON_WITH_ITEM:
        snprintf(buf, size, "often bought with %s", item_name ? item_name : "an earlier purchase");
        break;
    case BB_REASON_SEGMENT:
        snprintf(buf, size, "popular in segment %s", segment_name ? segment_name : "of this customer");
        break;
    case BB_REASON_SUBCATEGORY:
        snprintf(buf, size, "matches earlier %s purchases", subcategory_name ? subcategory_name : "");
        break;
    case BB_REASON_POPULAR:
        snprintf(buf, size, "popular with all customers");
        break;
    case BB_REASON_HISTORY:
        snprintf(buf, size, "bought by customers with similar purchases");
        break;
    case BB_REASON_NEW_SEGMENT:
        snprintf(buf, size, "no purchases yet: popular in segment %s",
                 segment_name ? segment_name : "of this customer");
        break;
    case BB_REASON_NEW_POPULAR:
        snprintf(buf, size, "no purchases yet: popular with all customers");
        break;
    }
    return buf;
}

bb_err bb_rec_csv_header(bb_buf *b)
{
    return bb_buf_puts(b, "CustomerID,Rank,ItemID,ItemName,Score,Model,Reason\n");
}

bb_err bb_rec_csv_row(bb_buf *b, const char *customer, int rank, const char *item_id, const char *item_name,
                      float score, const char *model, const char *reason)
{
    char rank_text[16], score_text[40];
    snprintf(rank_text, sizeof rank_text, "%d", rank);
    bb_rec_format_score(score, score_text);
    const char *fields[] = {customer, rank_text, item_id, item_name, score_text, model, reason};
    return bb_csvw_row(b, fields, NULL, 7, BB_CSVW_FORMULA_SAFE);
}

/* ---- the run ------------------------------------------------------------ */

typedef struct run {
    const bb_dataset *ds;
    const bb_rec_opts *o;
    bb_log *log;
    int threads;
    bb_inter inter;
    uint8_t *repeatable;
    uint32_t *tie_rank;
    uint32_t *subcat;
    bb_ae_opts ae;
    bb_recs *r;
    /* The autoencoder chosen on validation (trained on the training period,
     * best epoch): it is also the one measured on the test period. */
    bb_ae *selected_ae;
} run;

/* Per-customer metrics of one model on one set of customers. */
typedef struct scores {
    double *recall, *ndcg, *hit;
} scores;

static void scores_free(scores *s)
{
    free(s->recall);
    free(s->ndcg);
    free(s->hit);
    memset(s, 0, sizeof *s);
}

static bb_err scores_alloc(scores *s, size_t n)
{
    s->recall = calloc(n ? n : 1, sizeof *s->recall);
    s->ndcg = calloc(n ? n : 1, sizeof *s->ndcg);
    s->hit = calloc(n ? n : 1, sizeof *s->hit);
    if (!s->recall || !s->ndcg || !s->hit) {
        scores_free(s);
        return BB_ERR_NOMEM;
    }
    return BB_OK;
}

static bb_err scores_copy(scores *dst, const scores *src, size_t n)
{
    scores_free(dst);
    bb_err e = scores_alloc(dst, n);
    if (e == BB_OK) {
        memcpy(dst->recall, src->recall, n * sizeof *dst->recall);
        memcpy(dst->ndcg, src->ndcg, n * sizeof *dst->ndcg);
        memcpy(dst->hit, src->hit, n * sizeof *dst->hit);
    }
    return e;
}

typedef struct eval_ctx {
    const run *x;
    const bb_csr *hist, *target;
    const uint32_t *rows; /* the block's rows */
    size_t first;         /* index of the block's first row in the customer list */
    float *block;
    uint32_t *top;        /* block rows x k */
    float *top_scores;
    size_t *n_top;
    scores *out;
} eval_ctx;

static void eval_rows(void *arg, size_t begin, size_t end)
{
    const eval_ctx *c = arg;
    const run *x = c->x;
    uint32_t n_items = x->inter.n_items;
    size_t k = (size_t)x->o->k;
    for (size_t r = begin; r < end; r++) {
        uint32_t row = c->rows[r];
        float *sc = c->block + r * (size_t)n_items;
        for (size_t i = c->hist->ptr[row]; i < c->hist->ptr[row + 1]; i++)
            if (!x->repeatable[c->hist->col[i]])
                sc[c->hist->col[i]] = -INFINITY;
        uint32_t *top = c->top + r * k;
        size_t got = bb_eval_topk(sc, n_items, x->tie_rank, k, top, c->top_scores + r * k);
        c->n_top[r] = got;
        const uint32_t *t = c->target->col + c->target->ptr[row];
        size_t nt = bb_csr_row_len(c->target, row);
        size_t at = c->first + r;
        c->out->recall[at] = bb_eval_recall(top, got, k, t, nt);
        c->out->ndcg[at] = bb_eval_ndcg(top, got, k, t, nt);
        c->out->hit[at] = bb_eval_hit(top, got, k, t, nt);
    }
}

/* Measures m on customers rows[0..n): their history hist, targets target. */
static bb_err evaluate(const run *x, bb_rec_model *m, const bb_csr *hist, const bb_csr *target,
                       const uint32_t *rows, size_t n, scores *out, bb_rec_metrics *met)
{
    uint32_t n_items = x->inter.n_items;
    size_t k = (size_t)x->o->k;
    memset(met, 0, sizeof *met);
    float *block = malloc((size_t)EVAL_BLOCK * n_items * sizeof *block);
    uint32_t *top = malloc((size_t)EVAL_BLOCK * k * sizeof *top);
    float *top_scores = malloc((size_t)EVAL_BLOCK * k * sizeof *top_scores);
    size_t *n_top = malloc(EVAL_BLOCK * sizeof *n_top);
    uint8_t *covered = calloc(n_items ? n_items : 1, 1);
    bb_err e = block && top && top_scores && n_top && covered ? BB_OK : BB_ERR_NOMEM;
    for (size_t b = 0; b < n && e == BB_OK; b += EVAL_BLOCK) {
        size_t nb = n - b < EVAL_BLOCK ? n - b : EVAL_BLOCK;
        e = bb_rec_model_scores(m, hist, rows + b, nb, x->threads, block);
        if (e != BB_OK)
            break;
        eval_ctx c = {x, hist, target, rows + b, b, block, top, top_scores, n_top, out};
        bb_rec_par_for(x->threads, nb, eval_rows, &c);
        for (size_t r = 0; r < nb; r++)
            for (size_t i = 0; i < n_top[r]; i++)
                covered[top[r * k + i]] = 1;
    }
    if (e == BB_OK && n > 0) {
        double rs = 0, ns = 0, hs = 0;
        for (size_t i = 0; i < n; i++)
            rs += out->recall[i], ns += out->ndcg[i], hs += out->hit[i];
        met->recall = rs / (double)n;
        met->ndcg = ns / (double)n;
        met->hit = hs / (double)n;
        size_t cov = 0;
        for (uint32_t j = 0; j < n_items; j++)
            cov += covered[j];
        met->coverage = n_items ? (double)cov / n_items : 0;
        met->customers = (uint32_t)n;
    }
    free(block);
    free(top);
    free(top_scores);
    free(n_top);
    free(covered);
    return e;
}

/* Customers measured in a period: a history before it and a target in it. */
static bb_err measured_rows(const bb_csr *hist, const bb_csr *target, uint32_t **rows, size_t *n)
{
    *rows = malloc((hist->n_rows ? hist->n_rows : 1) * sizeof **rows);
    if (!*rows)
        return BB_ERR_NOMEM;
    size_t k = 0;
    for (uint32_t c = 0; c < hist->n_rows; c++)
        if (bb_csr_row_len(hist, c) > 0 && bb_csr_row_len(target, c) > 0)
            (*rows)[k++] = c;
    *n = k;
    return BB_OK;
}

/* A seeded sample of at most max rows, kept in ascending order. */
static void sample_rows(uint32_t *rows, size_t *n, size_t max, uint64_t seed)
{
    if (*n <= max)
        return;
    bb_rng r;
    bb_rng_seed(&r, seed, STREAM_VAL_SAMPLE);
    /* Selection sampling (Knuth, TAOCP vol. 2, algorithm S): order is kept. */
    size_t kept = 0;
    for (size_t i = 0; i < *n && kept < max; i++)
        if ((double)(*n - i) * bb_rng_uniform(&r) < (double)(max - kept))
            rows[kept++] = rows[i];
    *n = kept;
}

static uint32_t *rows_with_items(const bb_csr *x, size_t *n)
{
    uint32_t *rows = malloc((x->n_rows ? x->n_rows : 1) * sizeof *rows);
    size_t k = 0;
    if (rows)
        for (uint32_t c = 0; c < x->n_rows; c++)
            if (bb_csr_row_len(x, c) > 0)
                rows[k++] = c;
    *n = k;
    return rows;
}

static double mean_diag(const float *g, uint32_t n)
{
    double s = 0;
    uint32_t active = 0;
    for (uint32_t j = 0; j < n; j++) {
        double v = g[(size_t)j * n + j];
        if (v > 0)
            s += v, active++;
    }
    return active ? s / active : 1.0;
}

/* Trains an autoencoder on train for a fixed number of epochs, or (val
 * given) with early stopping on validation NDCG, keeping the best epoch's
 * weights. */
static bb_err fit_autoencoder(run *x, const bb_csr *train, int epochs, const bb_csr *val_target,
                              const uint32_t *val_rows, size_t n_val, scores *best_scores, bb_ae **out,
                              int *best_epoch_out)
{
    bb_recs *r = x->r;
    *out = NULL;
    size_t n_rows;
    uint32_t *rows = rows_with_items(train, &n_rows);
    if (!rows)
        return BB_ERR_NOMEM;
    bb_ae *ae = NULL;
    float *best = NULL;
    scores cur = {0};
    bb_err e = bb_ae_new(&x->ae, &ae);
    size_t n_params = 0;
    if (e == BB_OK && val_target) {
        float *p = bb_ae_params(ae, &n_params);
        best = malloc(n_params * sizeof *best);
        e = best ? scores_alloc(&cur, n_val) : BB_ERR_NOMEM;
        if (e == BB_OK)
            memcpy(best, p, n_params * sizeof *best);
        free(r->epochs);
        r->epochs = calloc((size_t)epochs, sizeof *r->epochs);
        r->n_epochs = 0;
        if (!r->epochs)
            e = BB_ERR_NOMEM;
    }
    double best_ndcg = -1;
    int best_epoch = 0;
    bb_rec_model view = {.kind = BB_REC_AUTOENCODER, .n_items = x->inter.n_items};
    for (int ep = 0; ep < epochs && e == BB_OK; ep++) {
        double t0 = now_s(), loss;
        e = bb_ae_train_epoch(ae, train, rows, n_rows, (size_t)x->o->epoch_rows, (uint64_t)ep, &loss);
        if (e != BB_OK || !val_target)
            continue;
        bb_rec_metrics met;
        view.ae = ae;
        e = evaluate(x, &view, train, val_target, val_rows, n_val, &cur, &met);
        if (e != BB_OK)
            break;
        bb_rec_epoch *rec = &r->epochs[r->n_epochs++];
        rec->train_loss = loss;
        rec->val_ndcg = met.ndcg;
        rec->seconds = now_s() - t0;
        bb_debug(x->log, "autoencoder epoch %d: loss %.4f, validation NDCG@%d %.4f (%.1f s)", ep + 1, loss,
                 x->o->k, met.ndcg, rec->seconds);
        if (met.ndcg > best_ndcg) {
            best_ndcg = met.ndcg;
            best_epoch = ep + 1;
            memcpy(best, bb_ae_params(ae, NULL), n_params * sizeof *best);
            e = scores_copy(best_scores, &cur, n_val);
        } else if (ep + 1 - best_epoch >= x->o->patience) {
            break;
        }
    }
    if (e == BB_OK && val_target) {
        memcpy(bb_ae_params(ae, NULL), best, n_params * sizeof *best);
        r->best_epoch = best_epoch;
    }
    *best_epoch_out = val_target ? best_epoch : epochs;
    free(rows);
    free(best);
    scores_free(&cur);
    if (e != BB_OK) {
        bb_ae_free(ae);
        return e;
    }
    *out = ae;
    return BB_OK;
}

/* The validation phase: fits every model on the training period, chooses
 * hyperparameters, measures. val_scores[kind] keeps each model's best
 * per-customer metrics for the selection test. */
static bb_err select_models(run *x, int *knn_k, double *ease_lambda, int *ae_epochs, scores *val_scores,
                            uint32_t **val_rows_out, size_t *n_val_out)
{
    bb_recs *r = x->r;
    bb_csr hist = {0}, target = {0};
    uint32_t *rows = NULL;
    size_t n = 0;
    float *g = NULL;
    scores cur = {0};
    bb_rec_model m = {0};
    bb_err e = bb_inter_view(&x->inter, BB_PERIOD_TRAIN, &hist);
    if (e == BB_OK)
        e = bb_inter_targets(&x->inter, BB_PERIOD_TRAIN, BB_PERIOD_VAL, x->repeatable, &target);
    if (e == BB_OK)
        e = measured_rows(&hist, &target, &rows, &n);
    if (e != BB_OK)
        goto done;
    sample_rows(rows, &n, VAL_MAX_CUSTOMERS, x->o->seed);
    r->val_customers = (uint32_t)n;
    uint32_t n_items = x->inter.n_items;
    m.n_items = n_items;
    e = scores_alloc(&cur, n);
    if (e == BB_OK)
        e = scores_alloc(&val_scores[BB_REC_POPULARITY], n);
    if (e == BB_OK)
        e = bb_pop_fit(&hist, &m.pop);
    if (e != BB_OK)
        goto done;

    /* popularity */
    double t0 = now_s();
    m.kind = BB_REC_POPULARITY;
    e = evaluate(x, &m, &hist, &target, rows, n, &val_scores[BB_REC_POPULARITY], &r->models[BB_REC_POPULARITY].val);
    r->models[BB_REC_POPULARITY].fit_seconds += now_s() - t0;
    r->models[BB_REC_POPULARITY].ran = e == BB_OK;
    snprintf(r->models[BB_REC_POPULARITY].params, sizeof r->models[0].params, "customers who bought each item");
    if (e != BB_OK || n == 0)
        goto done;

    bool dense_ok = n_items >= 2 && n_items <= BB_REC_DENSE_MAX_ITEMS;
    if (dense_ok) {
        t0 = now_s();
        e = bb_gram(&hist, x->threads, &g);
        double t_gram = now_s() - t0;
        /* item-kNN: one fit with the largest k; smaller k are prefixes. */
        uint32_t k_max = KNN_GRID[sizeof KNN_GRID / sizeof KNN_GRID[0] - 1];
        if (e == BB_OK)
            e = bb_knn_fit(g, n_items, k_max, x->threads, &m.knn);
        m.kind = BB_REC_ITEMKNN;
        double best = -1;
        for (size_t i = 0; i < sizeof KNN_GRID / sizeof KNN_GRID[0] && e == BB_OK; i++) {
            if (i > 0 && KNN_GRID[i - 1] >= n_items - 1)
                break;
            m.knn_k = KNN_GRID[i];
            bb_rec_metrics met;
            e = evaluate(x, &m, &hist, &target, rows, n, &cur, &met);
            bb_debug(x->log, "item-kNN k %u: validation NDCG@%d %.4f", (unsigned)m.knn_k, x->o->k, met.ndcg);
            if (e == BB_OK && met.ndcg > best) {
                best = met.ndcg;
                *knn_k = (int)m.knn_k;
                r->models[BB_REC_ITEMKNN].val = met;
                e = scores_copy(&val_scores[BB_REC_ITEMKNN], &cur, n);
            }
        }
        bb_knn_free(&m.knn);
        r->models[BB_REC_ITEMKNN].ran = e == BB_OK;
        r->models[BB_REC_ITEMKNN].fit_seconds += now_s() - t0;

        /* EASE over the lambda grid. */
        t0 = now_s();
        double scale = mean_diag(g, n_items);
        m.kind = BB_REC_EASE;
        best = -1;
        for (size_t i = 0; i < sizeof EASE_GRID / sizeof EASE_GRID[0] && e == BB_OK; i++) {
            double lambda = EASE_GRID[i] * scale;
            free(m.ease);
            m.ease = NULL;
            e = bb_ease_fit(g, n_items, lambda, &m.ease);
            bb_rec_metrics met;
            if (e == BB_OK)
                e = evaluate(x, &m, &hist, &target, rows, n, &cur, &met);
            if (e != BB_OK)
                break;
            bb_debug(x->log, "EASE lambda %.3g: validation NDCG@%d %.4f", lambda, x->o->k, met.ndcg);
            if (met.ndcg > best) {
                best = met.ndcg;
                *ease_lambda = lambda;
                r->models[BB_REC_EASE].val = met;
                e = scores_copy(&val_scores[BB_REC_EASE], &cur, n);
            }
        }
        free(m.ease);
        m.ease = NULL;
        r->models[BB_REC_EASE].ran = e == BB_OK;
        r->models[BB_REC_EASE].fit_seconds += now_s() - t0 + t_gram;
        free(g);
        g = NULL;
        if (e != BB_OK)
            goto done;
    } else {
        char items[32], lim[32];
        bb_fmt_int(items, sizeof items, n_items);
        bb_fmt_int(lim, sizeof lim, BB_REC_DENSE_MAX_ITEMS);
        for (int k = BB_REC_ITEMKNN; k <= BB_REC_EASE; k++)
            snprintf(r->models[k].note, sizeof r->models[k].note,
                     "not fitted: %s items (an item x item model is fitted up to %s)", items, lim);
    }

    /* autoencoder, early stopping on validation NDCG */
    t0 = now_s();
    bb_ae *ae = NULL;
    e = fit_autoencoder(x, &hist, x->o->max_epochs, &target, rows, n, &val_scores[BB_REC_AUTOENCODER], &ae,
                        ae_epochs);
    if (e == BB_OK && *ae_epochs > 0) {
        r->models[BB_REC_AUTOENCODER].ran = true;
        r->models[BB_REC_AUTOENCODER].val.ndcg = r->epochs[*ae_epochs - 1].val_ndcg;
        /* The other validation figures of the best epoch. */
        double rs = 0, hs = 0;
        for (size_t i = 0; i < n; i++)
            rs += val_scores[BB_REC_AUTOENCODER].recall[i], hs += val_scores[BB_REC_AUTOENCODER].hit[i];
        r->models[BB_REC_AUTOENCODER].val.recall = rs / (double)n;
        r->models[BB_REC_AUTOENCODER].val.hit = hs / (double)n;
        r->models[BB_REC_AUTOENCODER].val.customers = (uint32_t)n;
    }
    bb_ae_free(x->selected_ae);
    x->selected_ae = e == BB_OK && *ae_epochs > 0 ? ae : NULL;
    if (!x->selected_ae)
        bb_ae_free(ae);
    r->models[BB_REC_AUTOENCODER].fit_seconds += now_s() - t0;

done:
    bb_rec_model_clear(&m);
    free(g);
    scores_free(&cur);
    bb_csr_free(&hist);
    bb_csr_free(&target);
    if (e == BB_OK) {
        *val_rows_out = rows;
        *n_val_out = n;
    } else {
        free(rows);
    }
    return e;
}

/* Fits model `kind` with the chosen hyperparameters on hist. */
static bb_err fit_model(run *x, bb_rec_kind kind, const bb_csr *hist, int knn_k, double ease_lambda,
                        int ae_epochs, const float *gram, bb_rec_model *m)
{
    memset(m, 0, sizeof *m);
    m->kind = kind;
    m->n_items = x->inter.n_items;
    bb_err e = bb_pop_fit(hist, &m->pop);
    if (e != BB_OK)
        return e;
    switch (kind) {
    case BB_REC_ITEMKNN:
        m->knn_k = (uint32_t)knn_k;
        e = bb_knn_fit(gram, m->n_items, m->knn_k, x->threads, &m->knn);
        break;
    case BB_REC_EASE:
        m->ease_lambda = ease_lambda;
        e = bb_ease_fit(gram, m->n_items, ease_lambda, &m->ease);
        break;
    case BB_REC_AUTOENCODER: {
        int got;
        m->ae_epochs = ae_epochs;
        e = fit_autoencoder(x, hist, ae_epochs, NULL, NULL, 0, NULL, &m->ae, &got);
        break;
    }
    default:
        break;
    }
    if (e != BB_OK)
        bb_rec_model_clear(m);
    return e;
}

/* Activity band of a customer with n items bought before the test. */
static int activity_band(size_t n)
{
    return n <= 1 ? 0 : n <= 4 ? 1 : n <= 9 ? 2 : 3;
}

/* The test phase: measure on the test period, every model reading each
 * customer's history up to the test period (training and validation). The
 * item-item models are refitted on that history (closed form, cheap); the
 * autoencoder is the one selected on validation, which encodes any history
 * it is given, so it is not trained a second time. */
static bb_err test_models(run *x, int knn_k, double ease_lambda, int ae_epochs)
{
    bb_recs *r = x->r;
    bb_csr hist = {0}, target = {0};
    uint32_t *rows = NULL;
    size_t n = 0;
    float *g = NULL;
    scores sc[BB_REC__KINDS];
    memset(sc, 0, sizeof sc);
    bb_err e = bb_inter_view(&x->inter, BB_PERIOD_TRAIN | BB_PERIOD_VAL, &hist);
    if (e == BB_OK)
        e = bb_inter_targets(&x->inter, BB_PERIOD_TRAIN | BB_PERIOD_VAL, BB_PERIOD_TEST, x->repeatable, &target);
    if (e == BB_OK)
        e = measured_rows(&hist, &target, &rows, &n);
    if (e != BB_OK)
        goto done;
    r->test_customers = (uint32_t)n;
    for (uint32_t c = 0; c < hist.n_rows; c++)
        if (bb_csr_row_len(&hist, c) == 0 && bb_csr_row_len(&target, c) > 0)
            r->test_cold++;
    if (n == 0)
        goto done;
    bool need_gram = r->models[BB_REC_ITEMKNN].ran || r->models[BB_REC_EASE].ran;
    if (need_gram)
        e = bb_gram(&hist, x->threads, &g);
    for (int k = 0; k < BB_REC__KINDS && e == BB_OK; k++) {
        bb_rec_model_result *res = &r->models[k];
        if (!res->ran)
            continue;
        double t0 = now_s();
        bb_rec_model m;
        bool reuse = k == BB_REC_AUTOENCODER && x->selected_ae;
        if (reuse) {
            memset(&m, 0, sizeof m);
            m.kind = BB_REC_AUTOENCODER;
            m.n_items = x->inter.n_items;
            m.ae_epochs = ae_epochs;
            e = bb_pop_fit(&hist, &m.pop);
            m.ae = x->selected_ae;
        } else {
            e = fit_model(x, (bb_rec_kind)k, &hist, knn_k, ease_lambda, ae_epochs, g, &m);
        }
        if (e == BB_OK)
            e = scores_alloc(&sc[k], n);
        if (e == BB_OK)
            e = evaluate(x, &m, &hist, &target, rows, n, &sc[k], &res->test);
        if (reuse)
            m.ae = NULL; /* kept by the run */
        bb_rec_model_clear(&m);
        res->fit_seconds += now_s() - t0;
    }
    if (e != BB_OK)
        goto done;

    /* Against popularity, paired over the same customers, with intervals
     * that hold together for all the models compared (evaluate.h). */
    const scores *pop = &sc[BB_REC_POPULARITY];
    const bb_rec_metrics *pm = &r->models[BB_REC_POPULARITY].test;
    int compared = 0;
    for (int k = 1; k < BB_REC__KINDS; k++)
        compared += r->models[k].ran;
    double z = bb_eval_z(compared);
    r->interval_z = z;
    for (int k = 0; k < BB_REC__KINDS; k++) {
        bb_rec_model_result *res = &r->models[k];
        if (!res->ran || k == BB_REC_POPULARITY)
            continue;
        bb_eval_paired(sc[k].recall, pop->recall, n, z, &res->diff_recall, &res->diff_recall_lo,
                       &res->diff_recall_hi);
        bb_eval_paired(sc[k].ndcg, pop->ndcg, n, z, &res->diff_ndcg, &res->diff_ndcg_lo, &res->diff_ndcg_hi);
        res->lift_recall = pm->recall > 0 ? res->test.recall / pm->recall - 1.0 : 0;
        res->lift_ndcg = pm->ndcg > 0 ? res->test.ndcg / pm->ndcg - 1.0 : 0;
        res->beats_popularity = res->diff_recall_lo > 0 && res->diff_ndcg_lo > 0;
        r->any_beats_popularity = r->any_beats_popularity || res->beats_popularity;
    }

    /* Breakdowns: by segment and by activity. */
    static const char *const bands[] = {"1 item", "2-4 items", "5-9 items", "10 or more items"};
    for (int b = 0; b < 4; b++)
        snprintf(r->by_activity[b].name, sizeof r->by_activity[b].name, "%s", bands[b]);
    if (r->n_segments > 0) {
        r->by_segment = calloc((size_t)r->n_segments, sizeof *r->by_segment);
        if (!r->by_segment) {
            e = BB_ERR_NOMEM;
            goto done;
        }
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t c = rows[i];
        bb_rec_group *groups[2] = {&r->by_activity[activity_band(bb_csr_row_len(&hist, c))], NULL};
        int seg = r->segment_of ? r->segment_of[c] : -1;
        if (seg >= 0 && seg < r->n_segments)
            groups[1] = &r->by_segment[seg];
        for (int gi = 0; gi < 2; gi++) {
            bb_rec_group *gr = groups[gi];
            if (!gr)
                continue;
            gr->customers++;
            for (int k = 0; k < BB_REC__KINDS; k++) {
                if (!r->models[k].ran)
                    continue;
                gr->recall[k] += sc[k].recall[i];
                gr->ndcg[k] += sc[k].ndcg[i];
            }
        }
    }
    for (int b = 0; b < 4; b++)
        for (int k = 0; k < BB_REC__KINDS; k++)
            if (r->by_activity[b].customers) {
                r->by_activity[b].recall[k] /= r->by_activity[b].customers;
                r->by_activity[b].ndcg[k] /= r->by_activity[b].customers;
            }
    /* Keep only segments with measured customers, in segment order. */
    size_t kept = 0;
    for (int s = 0; s < r->n_segments; s++) {
        bb_rec_group gr = r->by_segment[s];
        if (!gr.customers)
            continue;
        snprintf(gr.name, sizeof gr.name, "%s", r->segment_names[s]);
        for (int k = 0; k < BB_REC__KINDS; k++) {
            gr.recall[k] /= gr.customers;
            gr.ndcg[k] /= gr.customers;
        }
        r->by_segment[kept++] = gr;
    }
    r->n_by_segment = kept;

done:
    for (int k = 0; k < BB_REC__KINDS; k++)
        scores_free(&sc[k]);
    free(g);
    free(rows);
    bb_csr_free(&hist);
    bb_csr_free(&target);
    return e;
}

/* Which model serves, and why (see recommend.h, step 4). */
static void choose_served(run *x, const scores *val_scores, size_t n_val)
{
    bb_recs *r = x->r;
    const bb_rec_opts *o = x->o;
    if (o->serve && o->serve[0]) {
        for (int k = 0; k < BB_REC__KINDS; k++) {
            if (strcmp(o->serve, bb_rec_kind_name((bb_rec_kind)k)) != 0)
                continue;
            if (r->models[k].ran) {
                r->served = (bb_rec_kind)k;
                snprintf(r->served_why, sizeof r->served_why, "%s serves because the configuration names it.",
                         bb_rec_kind_label((bb_rec_kind)k));
                return;
            }
            bb_warn(x->log, "recommendations: serve = %s, but that model was not fitted; choosing on validation",
                    o->serve);
        }
    }
    int best = BB_REC_POPULARITY;
    for (int k = 0; k < BB_REC__KINDS; k++)
        if (r->models[k].ran && r->models[k].val.ndcg > r->models[best].val.ndcg)
            best = k;
    r->served = BB_REC_POPULARITY;
    if (best == BB_REC_POPULARITY) {
        snprintf(r->served_why, sizeof r->served_why,
                 "Popularity serves: no model had a higher NDCG@%d on the validation period.", o->k);
        return;
    }
    /* The best of several on validation: the same simultaneous interval. */
    int compared = 0;
    for (int k = 1; k < BB_REC__KINDS; k++)
        compared += r->models[k].ran;
    double mean, lo, hi;
    bb_eval_paired(val_scores[best].ndcg, val_scores[BB_REC_POPULARITY].ndcg, n_val, bb_eval_z(compared), &mean, &lo,
                   &hi);
    if (lo > 0) {
        r->served = (bb_rec_kind)best;
        snprintf(r->served_why, sizeof r->served_why,
                 "%s serves: it had the highest NDCG@%d on the validation period, clearly above popularity.",
                 bb_rec_kind_label((bb_rec_kind)best), o->k);
    } else {
        snprintf(r->served_why, sizeof r->served_why,
                 "Popularity serves: %s had the highest NDCG@%d on the validation period, but not clearly "
                 "above popularity (the difference was within chance).",
                 bb_rec_kind_label((bb_rec_kind)best), o->k);
    }
}

/* Fits the served model on all data and makes every customer's list. */
/* The serving autoencoder: the one chosen on validation, trained further on
 * all data (so it has seen every purchase) for a few epochs rather than from
 * scratch for the whole count: most of what it learned still holds, and at a
 * million customers a full second training is the longest part of a run. */
static bb_err fine_tune_autoencoder(run *x, const bb_csr *all, int ae_epochs, bb_rec_model *m)
{
    memset(m, 0, sizeof *m);
    m->kind = BB_REC_AUTOENCODER;
    m->n_items = x->inter.n_items;
    bb_err e = bb_pop_fit(all, &m->pop);
    if (e != BB_OK)
        return e;
    m->ae = x->selected_ae;
    x->selected_ae = NULL;
    int epochs = ae_epochs < BB_REC_FINE_TUNE_EPOCHS ? ae_epochs : BB_REC_FINE_TUNE_EPOCHS;
    m->ae_epochs = ae_epochs + epochs;
    size_t n_rows;
    uint32_t *rows = rows_with_items(all, &n_rows);
    if (!rows)
        e = BB_ERR_NOMEM;
    for (int ep = 0; ep < epochs && e == BB_OK; ep++) {
        double loss;
        /* Epoch numbers past the selection's give fresh shuffles. */
        e = bb_ae_train_epoch(m->ae, all, rows, n_rows, (size_t)x->o->epoch_rows,
                              (uint64_t)(ae_epochs + ep), &loss);
    }
    free(rows);
    x->r->serve_epochs = epochs;
    if (e != BB_OK)
        bb_rec_model_clear(m);
    return e;
}

static bb_err serve_all(run *x, int knn_k, double ease_lambda, int ae_epochs)
{
    bb_recs *r = x->r;
    uint32_t n_items = x->inter.n_items, nc = x->inter.n_customers;
    bb_csr all = {0};
    float *g = NULL;
    uint32_t *rows = NULL;
    struct bb_rec_serving *sv = calloc(1, sizeof *sv);
    bb_err e = sv ? bb_inter_view(&x->inter, BB_PERIOD_ALL, &all) : BB_ERR_NOMEM;
    if (e != BB_OK)
        goto done;
    r->serving = sv;
    sv->repeatable = x->repeatable;
    sv->tie_rank = x->tie_rank;
    x->repeatable = NULL;
    x->tie_rank = NULL;
    snprintf(sv->repeatable_text, sizeof sv->repeatable_text, "%s", x->o->repeatable ? x->o->repeatable : "");

    bool dense_ok = n_items >= 2 && n_items <= BB_REC_DENSE_MAX_ITEMS;
    if (dense_ok)
        e = bb_gram(&all, x->threads, &g);
    double t0 = now_s();
    if (e == BB_OK && r->served == BB_REC_AUTOENCODER && x->selected_ae)
        e = fine_tune_autoencoder(x, &all, ae_epochs, &sv->model);
    else if (e == BB_OK)
        e = fit_model(x, r->served, &all, knn_k, ease_lambda, ae_epochs, g, &sv->model);
    r->models[r->served].fit_seconds += now_s() - t0;
    if (e == BB_OK)
        e = bb_reasons_fit(g, &all, r->segment_of, r->n_segments, sv->tie_rank, &sv->reasons);
    free(g);
    g = NULL;
    if (e != BB_OK)
        goto done;

    size_t cells = (size_t)nc * (size_t)r->top_n;
    r->rec_item = malloc((cells ? cells : 1) * sizeof *r->rec_item);
    r->rec_score = malloc((cells ? cells : 1) * sizeof *r->rec_score);
    r->rec_reason = malloc(cells ? cells : 1);
    r->rec_arg = malloc((cells ? cells : 1) * sizeof *r->rec_arg);
    r->rec_count = calloc(nc ? nc : 1, 1);
    r->rec_source = calloc(nc ? nc : 1, 1);
    rows = malloc((nc ? nc : 1) * sizeof *rows);
    if (!r->rec_item || !r->rec_score || !r->rec_reason || !r->rec_arg || !r->rec_count || !r->rec_source || !rows) {
        e = BB_ERR_NOMEM;
        goto done;
    }
    for (uint32_t c = 0; c < nc; c++)
        rows[c] = c;
    bb_rec_serve_ctx ctx = {
        .model = &sv->model,
        .reasons = &sv->reasons,
        .hist = &all,
        .hist_count = x->inter.count, /* the ALL view keeps every pair, in the same order */
        .repeatable = sv->repeatable,
        .tie_rank = sv->tie_rank,
        .subcat = x->subcat,
        .segment_of = r->segment_of,
        .top_n = r->top_n,
        .threads = x->threads,
    };
    e = bb_rec_serve(&ctx, rows, nc, r->rec_item, r->rec_score, r->rec_reason, r->rec_arg, r->rec_count,
                     r->rec_source);
    if (e != BB_OK)
        goto done;
    uint8_t *covered = calloc(n_items ? n_items : 1, 1);
    if (!covered) {
        e = BB_ERR_NOMEM;
        goto done;
    }
    for (uint32_t c = 0; c < nc; c++) {
        for (int i = 0; i < r->rec_count[c]; i++)
            covered[r->rec_item[(size_t)c * r->top_n + i]] = 1;
        if (r->rec_source[c] == BB_REC_SRC_MODEL)
            r->customers_model++;
        else if (r->rec_source[c] == BB_REC_SRC_SEGMENT)
            r->customers_segment++;
        else
            r->customers_popular++;
    }
    size_t cov = 0;
    for (uint32_t j = 0; j < n_items; j++)
        cov += covered[j];
    free(covered);
    r->served_coverage = n_items ? (double)cov / n_items : 0;

done:
    free(rows);
    free(g);
    bb_csr_free(&all);
    if (e != BB_OK && sv && r->serving != sv)
        bb_rec_serving_free(sv);
    return e;
}

/* Profiles and purchase lists (newest first) for the per-customer sheets. */
static bb_err profiles(run *x)
{
    const bb_dataset *ds = x->ds;
    bb_recs *r = x->r;
    uint32_t nc = ds->customers.n;
    size_t np = ds->purchases.n;
    uint32_t *order = NULL;
    r->profile = calloc(nc ? nc : 1, sizeof *r->profile);
    r->purchase_ptr = calloc((size_t)nc + 1, sizeof *r->purchase_ptr);
    r->purchase_rows = malloc((np ? np : 1) * sizeof *r->purchase_rows);
    size_t *fill = malloc(((size_t)nc + 1) * sizeof *fill);
    bb_err e = r->profile && r->purchase_ptr && r->purchase_rows && fill ? bb_purchases_by_day(ds, &order)
                                                                          : BB_ERR_NOMEM;
    if (e != BB_OK)
        goto done;
    for (uint32_t c = 0; c < nc; c++)
        r->profile[c].first_day = r->profile[c].last_day = BB_DATE_NONE;
    for (size_t i = 0; i < np; i++)
        r->purchase_ptr[ds->purchases.customer[i] + 1]++;
    for (uint32_t c = 0; c < nc; c++)
        r->purchase_ptr[c + 1] += r->purchase_ptr[c];
    memcpy(fill, r->purchase_ptr, ((size_t)nc + 1) * sizeof *fill);
    for (size_t i = np; i-- > 0;) {
        uint32_t row = order[i], c = ds->purchases.customer[row];
        int32_t day = ds->purchases.day[row];
        bb_rec_profile *p = &r->profile[c];
        r->purchase_rows[fill[c]++] = row;
        p->spent_cents += ds->purchases.total_cents[row];
        p->rows++;
        if (p->last_day == BB_DATE_NONE)
            p->last_day = day;
        if (p->first_day != day)
            p->visits++;
        p->first_day = day;
    }
done:
    free(order);
    free(fill);
    return e;
}

static int cmp_id(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;
    return strcmp(*x, *y);
}

/* tie_rank[item] = position of its ID in byte order. */
static bb_err item_ranks(run *x)
{
    const bb_items *it = &x->ds->items;
    uint32_t n = it->n;
    const char **ids = malloc((n ? n : 1) * sizeof *ids);
    x->tie_rank = malloc((n ? n : 1) * sizeof *x->tie_rank);
    if (!ids || !x->tie_rank) {
        free(ids);
        return BB_ERR_NOMEM;
    }
    for (uint32_t j = 0; j < n; j++)
        ids[j] = bb_intern_str(it->ids, j);
    qsort(ids, n, sizeof *ids, cmp_id);
    /* Interned strings are unique: find each item's position by its pointer. */
    for (uint32_t p = 0; p < n; p++) {
        uint32_t id;
        if (bb_intern_get(it->ids, ids[p], strlen(ids[p]), &id))
            x->tie_rank[id] = p;
    }
    free(ids);
    return BB_OK;
}

static bool name_in_list(const char *name, const char *list)
{
    size_t n = strlen(name);
    const char *p = list;
    while (p && *p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (len == n && n > 0) {
            size_t i = 0;
            for (; i < n; i++) {
                char a = p[i], b = name[i];
                if (a >= 'A' && a <= 'Z')
                    a = (char)(a - 'A' + 'a');
                if (b >= 'A' && b <= 'Z')
                    b = (char)(b - 'A' + 'a');
                if (a != b)
                    break;
            }
            if (i == n)
                return true;
        }
        p = end;
    }
    return false;
}

static bb_err item_flags(run *x)
{
    const bb_dataset *ds = x->ds;
    uint32_t n = ds->items.n;
    x->repeatable = calloc(n ? n : 1, 1);
    x->subcat = malloc((n ? n : 1) * sizeof *x->subcat);
    if (!x->repeatable || !x->subcat)
        return BB_ERR_NOMEM;
    for (uint32_t j = 0; j < n; j++) {
        const char *sub = bb_dataset_subcategory_name(ds, ds->items.subcategory[j]);
        x->repeatable[j] = name_in_list(sub, x->o->repeatable);
        x->subcat[j] = sub[0] ? ds->items.subcategory[j] : BB_UNKNOWN;
    }
    return BB_OK;
}

static bb_err check_opts(const bb_rec_opts *o, bb_ae_opts *ae, uint32_t n_items, int threads, bb_log *log)
{
    bb_ae_defaults(ae, n_items);
    int loss = bb_ae_parse_loss(o->loss);
    if (o->holdout_days < 1 || o->holdout_days > 3660) {
        bb_error(log, "recommendations: holdout_days must be between 1 and 3660");
        return BB_ERR_CONFIG;
    }
    if (o->top_n < 1 || o->top_n > 100 || o->k < 1 || o->k > 1000) {
        bb_error(log, "recommendations: top_n must be 1 to 100 and k 1 to 1000");
        return BB_ERR_CONFIG;
    }
    if (loss < 0) {
        bb_error(log, "recommendations: unknown loss \"%s\" (multinomial, bce or mse)", o->loss);
        return BB_ERR_CONFIG;
    }
    if (o->hidden && o->hidden[0] && !bb_ae_parse_hidden(o->hidden, ae)) {
        bb_error(log, "recommendations: hidden must be a comma list of 1 to %d layer widths, e.g. 128,64,32,64,128",
                 BB_AE_MAX_HIDDEN);
        return BB_ERR_CONFIG;
    }
    if (o->serve && o->serve[0]) {
        bool known = false;
        for (int k = 0; k < BB_REC__KINDS; k++)
            known = known || strcmp(o->serve, bb_rec_kind_name((bb_rec_kind)k)) == 0;
        if (!known) {
            bb_error(log, "recommendations: serve = \"%s\" is not a model (autoencoder, ease, itemknn, popularity)",
                     o->serve);
            return BB_ERR_CONFIG;
        }
    }
    if (!(o->dropout >= 0 && o->dropout < 1) || !(o->input_dropout >= 0 && o->input_dropout < 1) ||
        !(o->l2 >= 0) || !(o->lr > 0 && o->lr < 1) || o->max_epochs < 1 || o->max_epochs > 10000 ||
        o->batch < 1 || o->batch > 65536 || o->patience < 1 || o->epoch_rows < 0) {
        bb_error(log, "recommendations: dropout and input_dropout in [0, 1), l2 >= 0, 0 < lr < 1, "
                      "max_epochs 1 to 10000, batch 1 to 65536, patience >= 1, epoch_rows >= 0");
        return BB_ERR_CONFIG;
    }
    ae->loss = (bb_ae_loss)loss;
    ae->dropout = (float)o->dropout;
    ae->input_dropout = (float)o->input_dropout;
    ae->l2 = (float)o->l2;
    ae->lr = (float)o->lr;
    ae->batch = o->batch;
    ae->threads = threads;
    ae->seed = o->seed;
    return BB_OK;
}

void bb_recs_free(bb_recs *r)
{
    if (!r)
        return;
    free(r->epochs);
    free(r->by_segment);
    free(r->rec_item);
    free(r->rec_score);
    free(r->rec_reason);
    free(r->rec_arg);
    free(r->rec_count);
    free(r->rec_source);
    free(r->segment_names);
    free(r->segment_of);
    free(r->profile);
    free(r->purchase_ptr);
    free(r->purchase_rows);
    bb_rec_serving_free(r->serving);
    free(r);
}

bb_err bb_recommend_run(const bb_dataset *ds, const bb_rec_segments *seg, const bb_rec_opts *o, bb_log *log,
                        bb_recs **out)
{
    *out = NULL;
    run x = {.ds = ds, .o = o, .log = log, .threads = bb_rec_par_threads(o->threads)};
    bb_err e = check_opts(o, &x.ae, ds->items.n, x.threads, log);
    if (e != BB_OK)
        return e;
    /* The stage runs its own threads (autoencoder shards, rows, item pairs),
     * each calling BLAS and LAPACK single-threaded, so that no result depends
     * on the thread count. OpenBLAS's own setting is restored at the end. */
    openblas_set_num_threads(1);
    bb_recs *r = calloc(1, sizeof *r);
    if (!r)
        return BB_ERR_NOMEM;
    x.r = r;
    r->holdout_days = o->holdout_days;
    r->top_n = o->top_n;
    r->k = o->k;
    r->seed = o->seed;
    snprintf(r->loss, sizeof r->loss, "%s", bb_ae_loss_name(x.ae.loss));
    snprintf(r->hidden, sizeof r->hidden, "%s", o->hidden && o->hidden[0] ? o->hidden : "128,64,32,64,128");
    snprintf(r->serve_requested, sizeof r->serve_requested, "%s", o->serve ? o->serve : "");
    r->n_customers = ds->customers.n;
    r->n_items = ds->items.n;
    for (int k = 0; k < BB_REC__KINDS; k++)
        r->models[k].kind = (bb_rec_kind)k;

    if (seg && seg->of_customer && seg->n > 0) {
        r->n_segments = seg->n;
        r->segment_names = calloc((size_t)seg->n, sizeof *r->segment_names);
        r->segment_of = malloc((ds->customers.n ? ds->customers.n : 1) * sizeof *r->segment_of);
        if (!r->segment_names || !r->segment_of) {
            e = BB_ERR_NOMEM;
            goto fail;
        }
        for (int s = 0; s < seg->n; s++)
            snprintf(r->segment_names[s], sizeof r->segment_names[s], "%s",
                     seg->names && seg->names[s] ? seg->names[s] : "");
        for (uint32_t c = 0; c < ds->customers.n; c++)
            r->segment_of[c] = seg->of_customer[c] >= 0 && seg->of_customer[c] < seg->n ? seg->of_customer[c] : -1;
    }

    e = bb_inter_build(ds, o->holdout_days, &x.inter);
    if (e == BB_OK)
        e = item_ranks(&x);
    if (e == BB_OK)
        e = item_flags(&x);
    if (e != BB_OK)
        goto fail;
    r->as_of = x.inter.as_of;
    r->val_start = x.inter.val_start;
    r->test_start = x.inter.test_start;

    int knn_k = 50, ae_epochs = 0;
    double ease_lambda = 1.0;
    scores val_scores[BB_REC__KINDS];
    memset(val_scores, 0, sizeof val_scores);
    uint32_t *val_rows = NULL;
    size_t n_val = 0;
    e = select_models(&x, &knn_k, &ease_lambda, &ae_epochs, val_scores, &val_rows, &n_val);
    if (e == BB_OK) {
        if (r->models[BB_REC_ITEMKNN].ran)
            snprintf(r->models[BB_REC_ITEMKNN].params, sizeof r->models[0].params, "cosine, k = %d neighbours",
                     knn_k);
        if (r->models[BB_REC_EASE].ran) {
            char l[32];
            snprintf(r->models[BB_REC_EASE].params, sizeof r->models[0].params, "lambda = %s",
                     bb_fmt_fixed(l, sizeof l, ease_lambda, ease_lambda < 10 ? 2 : 0));
        }
        if (r->models[BB_REC_AUTOENCODER].ran)
            snprintf(r->models[BB_REC_AUTOENCODER].params, sizeof r->models[0].params, "%s, %s loss, %d epochs",
                     r->hidden, r->loss, ae_epochs);
        else if (!r->models[BB_REC_AUTOENCODER].note[0])
            snprintf(r->models[BB_REC_AUTOENCODER].note, sizeof r->models[0].note,
                     "not fitted: no customer to validate on");
        if (n_val == 0)
            for (int k = 0; k < BB_REC__KINDS; k++)
                if (!r->models[k].note[0])
                    snprintf(r->models[k].note, sizeof r->models[k].note,
                             "no customer bought in the validation period after buying before it");
        choose_served(&x, val_scores, n_val);
    }
    for (int k = 0; k < BB_REC__KINDS; k++)
        scores_free(&val_scores[k]);
    free(val_rows);
    if (e == BB_OK)
        e = test_models(&x, knn_k, ease_lambda, ae_epochs);
    r->shown = r->served;
    for (int k = 1; k < BB_REC__KINDS && r->served == BB_REC_POPULARITY; k++) {
        const bb_rec_model_result *m = &r->models[k];
        if (m->ran && (r->shown == BB_REC_POPULARITY || m->test.ndcg > r->models[r->shown].test.ndcg))
            r->shown = (bb_rec_kind)k;
    }
    if (e == BB_OK)
        e = serve_all(&x, knn_k, ease_lambda, ae_epochs);
    if (e == BB_OK)
        e = profiles(&x);
    if (e != BB_OK)
        goto fail;

    for (int k = 0; k < BB_REC__KINDS; k++) {
        const bb_rec_model_result *m = &r->models[k];
        if (m->ran)
            bb_info(log, "recommendations: %-12s validation NDCG@%d %.4f, test Recall@%d %.4f NDCG@%d %.4f (%.1f s)",
                    bb_rec_kind_name((bb_rec_kind)k), o->k, m->val.ndcg, o->k, m->test.recall, o->k,
                    m->test.ndcg, m->fit_seconds);
        else
            bb_info(log, "recommendations: %-12s %s", bb_rec_kind_name((bb_rec_kind)k), m->note);
    }
    bb_info(log, "recommendations: %s", r->served_why);
    bb_ae_free(x.selected_ae);
    openblas_set_num_threads(x.threads);
    bb_inter_free(&x.inter);
    free(x.repeatable);
    free(x.tie_rank);
    free(x.subcat);
    *out = r;
    return BB_OK;

fail:
    bb_error(log, "recommendations: %s", bb_strerror(e));
    bb_ae_free(x.selected_ae);
    openblas_set_num_threads(x.threads);
    bb_inter_free(&x.inter);
    free(x.repeatable);
    free(x.tie_rank);
    free(x.subcat);
    bb_recs_free(r);
    return e;
}

/* ---- reading the results ------------------------------------------------ */

const char *bb_recs_model_name(const bb_recs *r, uint32_t c)
{
    switch (r->rec_source[c]) {
    case BB_REC_SRC_SEGMENT:
        return "segment-popularity";
    case BB_REC_SRC_POPULAR:
        return "popularity";
    default:
        return bb_rec_kind_name(r->served);
    }
}

const char *bb_recs_reason_text(const bb_recs *r, const bb_dataset *ds, uint32_t c, int rank, char *buf,
                                size_t size)
{
    size_t at = (size_t)c * r->top_n + (size_t)rank;
    bb_rec_reason kind = (bb_rec_reason)r->rec_reason[at];
    uint32_t arg = r->rec_arg[at];
    const char *item = NULL, *segment = NULL, *sub = NULL;
    if (kind == BB_REASON_WITH_ITEM && arg < ds->items.n)
        item = bb_intern_str(ds->item_names, ds->items.name[arg]);
    if ((kind == BB_REASON_SEGMENT || kind == BB_REASON_NEW_SEGMENT) && (int)arg < r->n_segments)
        segment = r->segment_names[arg];
    if (kind == BB_REASON_SUBCATEGORY)
        sub = bb_dataset_subcategory_name(ds, arg);
    return bb_rec_reason_words(kind, arg, item, segment, sub, buf, size);
}

bb_err bb_recs_write_csv(const bb_recs *r, const bb_dataset *ds, const char *path)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return BB_ERR_CANTCREAT;
    bb_buf b;
    bb_buf_init(&b, 0);
    bb_err e = bb_rec_csv_header(&b);
    for (uint32_t c = 0; c < r->n_customers && e == BB_OK; c++) {
        const char *cid = bb_intern_str(ds->customers.ids, c);
        const char *model = bb_recs_model_name(r, c);
        for (int i = 0; i < r->rec_count[c] && e == BB_OK; i++) {
            size_t at = (size_t)c * r->top_n + (size_t)i;
            uint32_t item = r->rec_item[at];
            char reason[320];
            bb_recs_reason_text(r, ds, c, i, reason, sizeof reason);
            e = bb_rec_csv_row(&b, cid, i + 1, bb_intern_str(ds->items.ids, item),
                               bb_intern_str(ds->item_names, ds->items.name[item]), r->rec_score[at], model, reason);
        }
        /* Flush in pieces of about a megabyte: a 1M-customer file never sits in memory. */
        if (e == BB_OK && (b.len > ((size_t)1 << 20) || c + 1 == r->n_customers)) {
            if (fwrite(b.data, 1, b.len, f) != b.len)
                e = BB_ERR_IO;
            bb_buf_clear(&b);
        }
    }
    if (e == BB_OK && b.len > 0 && fwrite(b.data, 1, b.len, f) != b.len)
        e = BB_ERR_IO;
    bb_buf_free(&b);
    if (fflush(f) != 0 || ferror(f))
        e = e == BB_OK ? BB_ERR_IO : e;
    if (fclose(f) != 0 && e == BB_OK)
        e = BB_ERR_IO;
    if (e == BB_OK && rename(tmp, path) != 0)
        e = BB_ERR_IO;
    if (e != BB_OK)
        remove(tmp);
    return e;
}

static cJSON *metrics_json(const bb_rec_metrics *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "recall", m->recall);
    cJSON_AddNumberToObject(o, "ndcg", m->ndcg);
    cJSON_AddNumberToObject(o, "hit_rate", m->hit);
    cJSON_AddNumberToObject(o, "coverage", m->coverage);
    cJSON_AddNumberToObject(o, "customers", m->customers);
    return o;
}

cJSON *bb_recs_manifest_json(const bb_recs *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char d[11];
    cJSON_AddNumberToObject(o, "k", r->k);
    cJSON_AddNumberToObject(o, "top_n", r->top_n);
    cJSON_AddNumberToObject(o, "holdout_days", r->holdout_days);
    bb_date_format(r->val_start, d);
    cJSON_AddStringToObject(o, "validation_from", d);
    bb_date_format(r->test_start, d);
    cJSON_AddStringToObject(o, "test_from", d);
    cJSON_AddStringToObject(o, "served", bb_rec_kind_name(r->served));
    cJSON_AddStringToObject(o, "served_why", r->served_why);
    cJSON_AddBoolToObject(o, "any_beats_popularity", r->any_beats_popularity);
    cJSON_AddNumberToObject(o, "interval_z", r->interval_z);
    cJSON_AddNumberToObject(o, "test_customers", r->test_customers);
    cJSON_AddNumberToObject(o, "served_coverage", r->served_coverage);
    cJSON *models = cJSON_AddObjectToObject(o, "models");
    for (int k = 0; k < BB_REC__KINDS; k++) {
        const bb_rec_model_result *m = &r->models[k];
        cJSON *mo = cJSON_AddObjectToObject(models, bb_rec_kind_name((bb_rec_kind)k));
        cJSON_AddBoolToObject(mo, "fitted", m->ran);
        cJSON_AddStringToObject(mo, m->ran ? "settings" : "note", m->ran ? m->params : m->note);
        if (!m->ran)
            continue;
        cJSON_AddItemToObject(mo, "validation", metrics_json(&m->val));
        cJSON_AddItemToObject(mo, "test", metrics_json(&m->test));
        if (k != BB_REC_POPULARITY) {
            cJSON_AddNumberToObject(mo, "ndcg_difference", m->diff_ndcg);
            cJSON_AddNumberToObject(mo, "ndcg_difference_low", m->diff_ndcg_lo);
            cJSON_AddNumberToObject(mo, "recall_difference_low", m->diff_recall_lo);
            cJSON_AddBoolToObject(mo, "beats_popularity", m->beats_popularity);
        }
        cJSON_AddNumberToObject(mo, "fit_seconds", (double)(long long)(m->fit_seconds * 1000) / 1000);
    }
    cJSON *epochs = cJSON_AddArrayToObject(o, "autoencoder_epochs");
    for (int i = 0; i < r->n_epochs; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "loss", r->epochs[i].train_loss);
        cJSON_AddNumberToObject(e, "validation_ndcg", r->epochs[i].val_ndcg);
        cJSON_AddNumberToObject(e, "seconds", (double)(long long)(r->epochs[i].seconds * 1000) / 1000);
        cJSON_AddItemToArray(epochs, e);
    }
    cJSON_AddNumberToObject(o, "best_epoch", r->best_epoch);
    return o;
}
