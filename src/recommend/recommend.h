/*
 * recommend.h - recommendations: models measured on a time hold-out, top-N
 * per customer with reasons, and the serving model as a file.
 *
 * What bb_recommend_run() does, in order (dates from ds->as_of):
 *
 *   1. Interactions: the customer x item matrix in CSR, split by time into
 *      train | validation | test, each period `holdout_days` long at the end
 *      (recommend/interactions.h).
 *   2. Selection, on the validation period: every model is fitted on the
 *      training period and ranks each customer's not-yet-bought items;
 *      hyperparameters are chosen by validation NDCG@K: the autoencoder's
 *      epoch count (early stopping, with patience), EASE's lambda, item-kNN's
 *      neighbour count.
 *   3. Test: every model reads each customer's history up to the test
 *      period (train + validation; the item-item models are refitted on it,
 *      the autoencoder selected on validation encodes it as it is) and is
 *      measured on the test period, which no model or choice has seen: Recall@K, NDCG@K, hit rate, coverage, lift over
 *      popularity with a paired 95 % interval, by segment and by activity.
 *   4. Serving: the model named by opts->serve, else the best on validation
 *      NDCG, provided its advantage over popularity there is significant
 *      (otherwise popularity serves: on data without signal a noisy winner
 *      would be chance) is refitted on all data (the autoencoder: the selected
 *      one trained a few more epochs on all data), and every customer gets
 *      top_n items, best first, excluding what they bought unless its
 *      subcategory is repeatable, each with a reason. Customers without
 *      purchases get their segment's (or all customers') most popular items,
 *      labelled as such.
 *
 * A customer is measured in a period when they bought before it and bought
 * in it something the recommender may suggest. Ranks break ties by item ID.
 * Every random choice comes from opts->seed; results do not depend on the
 * thread count. Wall-clock figures (fit_seconds, epoch seconds) are for the
 * log and the manifest only: renderers must not show them.
 *
 *     bb_rec_opts o;
 *     bb_rec_defaults(&o);
 *     o.seed = cfg->seed;
 *     bb_rec_segments seg = {seg_of_customer, n_segments, segment_names};
 *     bb_recs *recs;
 *     bb_err e = bb_recommend_run(ds, &seg, &o, log, &recs);
 *     if (e == BB_OK) e = bb_recs_write_csv(recs, ds, "run/recommendations.csv");
 *     if (e == BB_OK) e = bb_recs_save_model(recs, ds, "run/model.bbrec");
 *     bb_recs_free(recs);
 */
#ifndef BB_RECOMMEND_H
#define BB_RECOMMEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "ingest/dataset.h"
#include "util/err.h"
#include "util/log.h"

/* Settings (bb_rec_defaults()). The autoencoder's defaults mirror the system
 * it replaces where that was sound (layers, ReLU, dropout 0.2, L2 1e-3);
 * input dropout 0.5 is Mult-DAE's denoising rate; lr 1e-3 is Adam's usual
 * step (3e-3 was measured at scale M: 1 % better NDCG for 60 % more
 * epochs); batch 256 keeps sgemm efficient (64-row shards) while giving
 * about 370 Adam steps per epoch at 100k customers; epoch_rows caps an
 * epoch at 100,000 sampled customers so that at 1M customers the
 * validation check still comes every ~400 steps and an epoch takes seconds;
 * patience 3 of at most 30 epochs stops once validation NDCG stalls. */
typedef struct bb_rec_opts {
    int holdout_days;       /* 90: test period, and validation period before it */
    int top_n;              /* 5: recommendations per customer */
    int k;                  /* 10: metric cutoff for Recall@K, NDCG@K */
    const char *serve;      /* "" or NULL: best validation NDCG; else "autoencoder", "ease", "itemknn", "popularity" */
    const char *loss;       /* "multinomial" (default), "bce", "mse" */
    const char *hidden;     /* "128,64,32,64,128" */
    double dropout;         /* 0.2: hidden units */
    double input_dropout;   /* 0.5: denoising, as Mult-DAE */
    double l2;              /* 1e-3 */
    double lr;              /* 1e-3: Adam */
    int max_epochs;         /* 30 */
    int batch;              /* 256 rows per Adam step */
    int patience;           /* 3 epochs without a better validation NDCG */
    int epoch_rows;         /* 100000: rows sampled per epoch at most (bounds time at 1M customers); 0: all */
    const char *repeatable; /* "Haircut": comma list of subcategory names that may be recommended
                               again although bought; matched by subcategory name */
    uint64_t seed;          /* 42 */
    int threads;            /* 0: all cores */
} bb_rec_opts;

void bb_rec_defaults(bb_rec_opts *o);

/* Epochs the autoencoder chosen on validation trains further on all data
 * before it serves (at most as many as it trained for selection). */
#define BB_REC_FINE_TUNE_EPOCHS 3

/* Segments from the segmentation stage, for "popular in your segment" and breakdowns. */
typedef struct bb_rec_segments {
    const int *of_customer;  /* per customer id; -1: none; NULL: no segmentation */
    int n;                   /* number of segments */
    const char *const *names;
} bb_rec_segments;

typedef enum bb_rec_kind {
    BB_REC_POPULARITY = 0,
    BB_REC_ITEMKNN,
    BB_REC_EASE,
    BB_REC_AUTOENCODER,
    BB_REC__KINDS
} bb_rec_kind;

/* "popularity", "itemknn", "ease", "autoencoder" (config values, CSV Model column). */
const char *bb_rec_kind_name(bb_rec_kind k);
/* "Popularity", "Item-kNN", "EASE", "Autoencoder" (report text). */
const char *bb_rec_kind_label(bb_rec_kind k);

/* Metrics of one model on one period: means over the measured customers. */
typedef struct bb_rec_metrics {
    double recall, ndcg, hit;
    double coverage;         /* share of the catalogue in anyone's top K */
    uint32_t customers;
} bb_rec_metrics;

typedef struct bb_rec_model_result {
    bb_rec_kind kind;
    bool ran;                /* false: not fitted; note says why */
    char note[160];
    char params[96];         /* the chosen hyperparameters, e.g. "lambda 120" */
    bb_rec_metrics val, test;
    double lift_recall, lift_ndcg;     /* test, relative to popularity: 0.25 = 25 % better */
    double diff_recall, diff_recall_lo, diff_recall_hi;   /* test, paired difference to popularity */
    double diff_ndcg, diff_ndcg_lo, diff_ndcg_hi;
    bool beats_popularity;   /* Recall@K and NDCG@K both significantly above popularity on test
                                (the intervals hold together for all models: 95 %, Bonferroni) */
    double fit_seconds;      /* wall clock of all its fits: log and manifest only */
} bb_rec_model_result;

/* Test metrics of a group of customers (a segment, an activity band). */
typedef struct bb_rec_group {
    char name[64];
    uint32_t customers;
    double recall[BB_REC__KINDS], ndcg[BB_REC__KINDS];
} bb_rec_group;

typedef struct bb_rec_epoch {
    double train_loss;       /* data loss per customer row */
    double val_ndcg;
    double seconds;          /* wall clock: log and manifest only */
} bb_rec_epoch;

/* Why an item is recommended; bb_recs_reason_text() makes the words. */
typedef enum bb_rec_reason {
    BB_REASON_AGAIN = 0,     /* repeatable, bought before: arg = times bought */
    BB_REASON_WITH_ITEM,     /* often bought with item arg, which the customer bought */
    BB_REASON_SEGMENT,       /* among the most popular in the customer's segment arg */
    BB_REASON_SUBCATEGORY,   /* the customer buys subcategory arg */
    BB_REASON_POPULAR,       /* among the most popular with all customers */
    BB_REASON_HISTORY,       /* none of the above: customers with similar purchases bought it */
    BB_REASON_NEW_SEGMENT,   /* no purchases yet: popular in segment arg */
    BB_REASON_NEW_POPULAR,   /* no purchases yet: popular with all customers */
} bb_rec_reason;

/* Per customer: where their list came from. */
enum { BB_REC_SRC_MODEL = 0, BB_REC_SRC_SEGMENT, BB_REC_SRC_POPULAR };

/* A customer's profile, for the per-customer sheets. */
typedef struct bb_rec_profile {
    int64_t spent_cents;
    uint32_t visits;         /* distinct purchase days */
    uint32_t rows;
    int32_t first_day, last_day;   /* BB_DATE_NONE without purchases */
} bb_rec_profile;

struct bb_rec_serving;

struct bb_recs {
    /* settings, echoed for the report */
    int holdout_days, top_n, k;
    int32_t as_of, val_start, test_start;
    char loss[16], hidden[64], serve_requested[16];
    uint64_t seed;

    uint32_t n_customers, n_items;
    uint32_t val_customers, test_customers;  /* measured */
    uint32_t test_cold;      /* bought in the test period without any purchase before: not measured */
    bb_rec_model_result models[BB_REC__KINDS];
    bb_rec_kind served;
    bb_rec_kind shown;       /* the model set beside popularity in breakdowns: the served one,
                                or (popularity serving) the best other on test NDCG */
    char served_why[240];
    bool any_beats_popularity;
    double interval_z;       /* z of the intervals (2.39 for three models against popularity) */

    bb_rec_epoch *epochs;    /* the autoencoder's selection run */
    int n_epochs, best_epoch;            /* best_epoch 1-based; 0: none */
    int serve_epochs;        /* epochs the serving autoencoder trained on all data (after selection) */

    bb_rec_group *by_segment;            /* segments with measured customers */
    size_t n_by_segment;
    bb_rec_group by_activity[4];         /* items bought before the test: 1, 2-4, 5-9, 10+ */

    /* recommendations: customer c's list is rec_item[c * top_n ..], rec_count[c] long */
    uint32_t *rec_item;
    float *rec_score;
    uint8_t *rec_reason;     /* bb_rec_reason */
    uint32_t *rec_arg;
    uint8_t *rec_count;
    uint8_t *rec_source;     /* BB_REC_SRC_* */
    double served_coverage;  /* share of the catalogue in anyone's list */
    uint32_t customers_model, customers_segment, customers_popular;

    /* segments as given (copied) */
    int n_segments;
    char (*segment_names)[64];
    int *segment_of;         /* per customer; -1 none */

    /* sheets: profiles and each customer's purchase rows, newest first */
    bb_rec_profile *profile;
    size_t *purchase_ptr;    /* n_customers + 1 */
    uint32_t *purchase_rows; /* indices into ds->purchases */

    struct bb_rec_serving *serving;  /* the serving model, for bb_recs_save_model() */
};
typedef struct bb_recs bb_recs;

/* Runs steps 1-4. *out is NULL on failure. */
bb_err bb_recommend_run(const bb_dataset *ds, const bb_rec_segments *seg, const bb_rec_opts *o,
                        bb_log *log, bb_recs **out);
void bb_recs_free(bb_recs *r);

/* The reason of customer c's recommendation at rank (0-based) in words,
 * e.g. "often bought with Balayage". Returns buf. */
const char *bb_recs_reason_text(const bb_recs *r, const bb_dataset *ds, uint32_t c, int rank, char *buf,
                                size_t size);
/* The Model column of customer c: the served model's name, or
 * "segment-popularity" / "popularity" for customers without purchases. */
const char *bb_recs_model_name(const bb_recs *r, uint32_t c);

/* recommendations.csv with exactly the header
 * CustomerID,Rank,ItemID,ItemName,Score,Model,Reason (formula-safe CSV:
 * util/csvw.h); customers in dataset order, ranks 1..N in score order. */
bb_err bb_recs_write_csv(const bb_recs *r, const bb_dataset *ds, const char *path);

/* The model metrics for manifest.json: settings, per model the chosen
 * hyperparameters, validation and test metrics, fit seconds, the epochs
 * (loss, validation NDCG, seconds), the served model and why. NULL when out
 * of memory. The caller owns the object. */
cJSON *bb_recs_manifest_json(const bb_recs *r);

/* The serving model (retrained on all data) as a versioned binary with a
 * checksum: model_file.h describes the format. */
bb_err bb_recs_save_model(const bb_recs *r, const bb_dataset *ds, const char *path);


#endif
