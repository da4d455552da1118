/*
 * model.h - a fitted recommender of any kind, and top-N lists from it.
 *
 * bb_rec_model holds what one kind needs to score (popularity always, as
 * the fallback of customers without purchases). Scores are per customer row
 * of a history matrix, over all items; higher ranks first. bb_rec_serve()
 * turns scores into each customer's top-N: items of their history are
 * excluded unless repeatable, ties go to the lower item-ID rank, and each
 * item gets its reason (reasons.h). Rows without history get their
 * segment's most popular items (then all customers'), labelled so.
 *
 * The same code serves a whole run (every customer, threads over rows) and
 * one customer in `bbreport recommend`, so both give the same list. Rows
 * are scored in blocks of BB_REC_SERVE_BLOCK positions of rows[]; OpenBLAS
 * picks its kernels by row count, so a score is reproduced to the last bit
 * only inside the same block: the command rebuilds the run's block around
 * its customer.
 */
#ifndef BB_REC_MODEL_H
#define BB_REC_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "recommend/autoencoder.h"
#include "recommend/baselines.h"
#include "recommend/interactions.h"
#include "recommend/reasons.h"
#include "recommend/recommend.h"
#include "util/buf.h"
#include "util/err.h"

#define BB_REC_SERVE_BLOCK 256

typedef struct bb_rec_model {
    bb_rec_kind kind;
    uint32_t n_items;
    float *pop;          /* popularity, every kind */
    bb_knn knn;          /* itemknn */
    uint32_t knn_k;
    float *ease;         /* ease: n_items x n_items */
    double ease_lambda;
    bb_ae *ae;           /* autoencoder */
    int ae_epochs;
} bb_rec_model;

/* Frees what m holds and zeroes it. */
void bb_rec_model_clear(bb_rec_model *m);

/* Scores of hist's rows[0..n) into out (n x n_items). The autoencoder's
 * scores are logits; the others' are sums of similarities or weights. */
bb_err bb_rec_model_scores(bb_rec_model *m, const bb_csr *hist, const uint32_t *rows, size_t n, int threads,
                           float *out);

typedef struct bb_rec_serve_ctx {
    bb_rec_model *model;
    const bb_reasons *reasons;
    const bb_csr *hist;          /* every purchase, as items of the model */
    const uint32_t *hist_count;  /* times bought, parallel to hist->col; may be NULL */
    const uint8_t *repeatable;   /* per item; may be NULL */
    const uint32_t *tie_rank;    /* per item: rank of its ID */
    const uint32_t *subcat;      /* per item: subcategory id; may be NULL */
    const int *segment_of;       /* per hist row; NULL: none */
    int top_n;                   /* 1..255 */
    int threads;
} bb_rec_serve_ctx;

/* Lists of rows[0..n): row i's items at items[i * top_n ..], count[i] of
 * them; source[i] a BB_REC_SRC_* value. */
bb_err bb_rec_serve(const bb_rec_serve_ctx *c, const uint32_t *rows, size_t n, uint32_t *items, float *scores,
                    uint8_t *reasons, uint32_t *args, uint8_t *count, uint8_t *source);

/* What serves after a run: the model refitted on all data, the reasons,
 * the repeatable flags and item order (bb_recs.serving; model_file.h). */
struct bb_rec_serving {
    bb_rec_model model;
    bb_reasons reasons;
    uint8_t *repeatable;       /* per item */
    uint32_t *tie_rank;        /* per item */
    char repeatable_text[512]; /* the setting, for the model file */
};
void bb_rec_serving_free(struct bb_rec_serving *s);

/* One line of recommendations.csv (and of `bbreport recommend`), formula-safe. */
bb_err bb_rec_csv_header(bb_buf *b);
bb_err bb_rec_csv_row(bb_buf *b, const char *customer, int rank, const char *item_id, const char *item_name,
                      float score, const char *model, const char *reason);
/* A score as plain decimal text with 6 significant digits, locale-free. */
void bb_rec_format_score(float score, char out[static 40]);
/* The words of a reason; names are looked up by the caller (NULL: unknown). */
const char *bb_rec_reason_words(bb_rec_reason kind, uint32_t arg, const char *item_name,
                                const char *segment_name, const char *subcategory_name, char *buf,
                                size_t size);

#endif
