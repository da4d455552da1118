/*
 * segment.h - customer segmentation: behavioural k-means, named segments,
 * the evidence for k, and profiles for the report.
 *
 * What bb_segment_run() does, as of ds->as_of:
 *   1. features per customer (segment/features.h), log1p for the skewed
 *      ones, z-scored over the customers with purchases;
 *   2. k-means (segment/kmeans.h) for every k of the scan k_min..k_max and
 *      for the configured k, all restarts sharing the threads. The scan
 *      runs on all customers up to scan_sample and on a fixed-seed sample of
 *      that size above (its scores are estimates; a scan over 1M customers
 *      would cost nine full clusterings); the configured k runs on all;
 *   3. per k: inertia, silhouette (exact up to silhouette_sample customers
 *      of the scan, else on a fixed-seed sample of that size),
 *      Davies-Bouldin, Calinski-Harabasz (segment/quality.h), and the k each
 *      score favours;
 *   4. the configured k's clusters ordered and named by rules on their
 *      centroids (segment/naming.h); customers without purchases form the
 *      group "No purchases yet" (segment index BB_SEG_NONE), never dropped;
 *   5. profiles: size, revenue share, customer-weighted means and medians
 *      of every feature (each customer counts once, however often it
 *      bought), demographics (age bands, gender, e-mail and SMS reach);
 *   6. PCA to 2-D (segment/pca.h) of the clustering space, with a fixed-seed
 *      sample of at most BB_SEG_MAX_POINTS customers and the centroids
 *      projected through the same transform, for the scatter chart.
 * Then, from the pipeline: bb_segment_set_texts() (descriptions and actions
 * from templates/segments.json), bb_segment_save_assignments() (the run's
 * segments.csv) and bb_segment_migrations() (moves since a previous run's
 * segments.csv). Renderers read the struct below and compute nothing.
 *
 * Reading it. Customer ids are ds->customers ids. segment[c] is the index
 * of customer c's segment in segments[] (0 = the most valuable, see
 * naming.h), or BB_SEG_NONE; bb_segment_name() gives the name either way:
 *
 *     bb_segment_opts o;
 *     bb_segment_defaults(&o);
 *     o.seed = 42;
 *     bb_segmentation *s;
 *     if (bb_segment_run(ds, &o, log, &s) == BB_OK) {
 *         for (uint32_t c = 0; c < s->n_customers; c++)
 *             printf("%s %s\n", bb_intern_str(ds->customers.ids, c),
 *                    bb_segment_name(s, s->segment[c]));
 *         bb_segmentation_free(s);
 *     }
 *
 * Determinism: every random choice draws from bb_rng streams of o->seed
 * named by their purpose (k, restart, sample), and work is split into jobs
 * that do not depend on the thread count, so the same dataset, options and
 * seed give the same bytes with 1 or 64 threads.
 *
 * Memory: BB_SEG_FEATURES + 2 doubles per customer, the standardized
 * matrix, and the k-means scratch of kmeans.h: 230 MB for 1M customers
 * with 2 threads (bench scale L), 32 MB for 100k.
 *
 * Time on the 2-core machine, shared with other jobs: 100k customers
 * (2M purchases) 2.2 s; 1M customers (20M purchases) 13-18 s, of which
 * features 3-5 s and k-means with its restarts and scores the rest.
 */
#ifndef BB_SEGMENT_H
#define BB_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "ingest/dataset.h"
#include "segment/features.h"
#include "segment/naming.h"
#include "util/err.h"
#include "util/log.h"

#define BB_SEG_NONE (-1)
#define BB_SEG_MAX_K 20
#define BB_SEG_MAX_ACTIONS 3
#define BB_SEG_MAX_POINTS 2000
/* Age bands: under 25, 25-34, 35-44, 45-54, 55-64, 65 and over, unknown. */
#define BB_SEG_AGE_BANDS 7

typedef struct bb_segment_opts {
    int k;                    /* 5: segments in the report */
    int k_min, k_max;         /* 2, 10: the quality scan */
    int n_init;               /* 10: k-means restarts per k */
    int max_iter;             /* 300 */
    double tol;               /* 1e-4, relative to the mean feature variance */
    uint64_t seed;
    int threads;              /* 0: all cores */
    size_t silhouette_sample; /* 10000: exact up to this many customers, sampled above */
    size_t scan_sample;       /* 10000: the k scan runs on all customers up to this many, on a
                                 fixed-seed sample above; 0: always on all */
    const char *features;     /* comma list of feature keys; NULL: all */
    const char *log_features; /* log1p-transformed; NULL: bb_features_default_log() */
} bb_segment_opts;

void bb_segment_defaults(bb_segment_opts *o);

/* One segment's profile. Features in original units; NaN when no member
 * has a value (recency of customers without purchases). */
typedef struct bb_seg_profile {
    char name[BB_NAMING_SIZE];
    char description[512];                /* from segments.json; "" until set */
    char actions[BB_SEG_MAX_ACTIONS][256];
    int n_actions;
    int rule;                             /* naming rule, -1: named from features or a fixed name */
    uint32_t customers;
    double customer_share;                /* of all customers */
    int64_t revenue_cents;
    double revenue_share;                 /* of all revenue; NaN when the data has no prices */
    int64_t visits;
    double mean[BB_SEG_FEATURES];
    double median[BB_SEG_FEATURES];
    double centroid[BB_SEG_FEATURES];     /* z-scores per feature; NaN for features not clustered on */
    double mean_distance;                 /* to the centroid, standardized units; NaN for the no-purchase group */
    uint32_t age_band[BB_SEG_AGE_BANDS];
    double median_age;                    /* NaN when no age is known */
    uint32_t *gender;                     /* n_genders + 1 counts: per ds->genders id, then unknown */
    uint32_t email_yes, email_known;      /* subscribed / known flag */
    uint32_t sms_yes, sms_known;
} bb_seg_profile;

/* One row of the k scan. Scores are NaN when undefined. */
typedef struct bb_seg_kscore {
    int k;
    double inertia;
    double silhouette;
    double davies_bouldin;
    double calinski_harabasz;
    int n_iter;
} bb_seg_kscore;

/* Moves between segments since a previous run (its segments.csv). Rows of
 * counts are the previous run's segment names, columns this run's groups:
 * segments 0..k-1, then the no-purchase group (column k). */
#define BB_SEG_MAX_PREV 64
typedef struct bb_seg_migrations {
    int n_from;
    char from[BB_SEG_MAX_PREV][BB_NAMING_SIZE]; /* this run's names first (in order), then others;
                                                   names past the 64th count as "Other" */
    uint32_t *counts;          /* n_from x (k + 1) */
    uint32_t matched;          /* customers in both runs */
    uint32_t moved;            /* matched, under another name now */
    uint32_t new_customers;    /* in this run only */
    uint32_t gone;             /* in the previous run only */
} bb_seg_migrations;

struct bb_segmentation {
    int32_t as_of;
    uint32_t n_customers;     /* ds->customers.n */
    uint32_t n_clustered;     /* customers with purchases */
    int k;                    /* segments of customers with purchases (0: none had any) */
    bool has_revenue;         /* the data has prices */

    /* Per customer id, n_customers entries. */
    double *features;         /* [c * BB_SEG_FEATURES + f] */
    int32_t *segment;         /* 0..k-1, or BB_SEG_NONE */
    double *distance;         /* to the segment's centroid, standardized units; NaN for BB_SEG_NONE */

    bb_seg_profile *segments; /* k, in value order */
    bb_seg_profile none;      /* "No purchases yet" (customers may be 0) */
    uint32_t n_genders;       /* bb_intern_count(ds->genders) */
    int64_t revenue_cents;    /* all customers */

    /* The clustering space. */
    bb_seg_scale scale[BB_SEG_FEATURES];
    int n_dims;
    int dims[BB_SEG_FEATURES];   /* feature of each dimension */
    double *centroids;           /* k x n_dims, in segment order */
    double inertia;
    int n_iter, n_init, max_iter;
    double tol;
    uint64_t seed;

    /* The scan: one row per k, ascending. k_by_* are 0 when no score was defined. */
    bb_seg_kscore *scan;
    size_t n_scan;
    int k_by_silhouette, k_by_davies_bouldin, k_by_calinski_harabasz;
    int k_favoured;              /* the k most scores agree on (ties: the silhouette's) */
    size_t silhouette_n;         /* customers the silhouette was computed on */
    bool silhouette_sampled;
    size_t scan_n;               /* customers the scan ran on */
    bool scan_sampled;           /* a fixed-seed sample of the customers with purchases */

    /* PCA of the clustering space (pca_dims = min(2, n_dims)). */
    int pca_dims;
    double pca_ratio[2];                    /* explained variance ratio */
    double pca_axes[2][BB_SEG_FEATURES];    /* loading per feature (0 when not clustered on) */
    size_t n_points;                        /* at most BB_SEG_MAX_POINTS */
    double *point_x, *point_y;
    int32_t *point_segment;
    uint32_t *point_customer;
    double *centroid_x, *centroid_y;        /* k */

    bb_seg_migrations *migrations;          /* NULL until bb_segment_migrations() */
};
typedef struct bb_segmentation bb_segmentation;

/* Runs the segmentation. BB_ERR_CONFIG (logged) for bad options or an
 * unknown feature name; BB_ERR_NOMEM. A dataset without purchases gives
 * k = 0 and every customer in the no-purchase group; with fewer customers
 * than k, k shrinks to what the data allows (logged). *out is NULL on
 * failure. */
bb_err bb_segment_run(const bb_dataset *ds, const bb_segment_opts *o, bb_log *log, bb_segmentation **out);
void bb_segmentation_free(bb_segmentation *s);

/* The name of segment index seg (BB_SEG_NONE: "No purchases yet"). */
const char *bb_segment_name(const bb_segmentation *s, int32_t seg);

/* Fills each segment's description and actions from the text of
 * templates/segments.json: {"<name>": {"description": "...", "actions":
 * ["...", ...]}, ...}; a name without an entry takes "_other"'s. BB_ERR_CONFIG
 * (logged) when the text is not such JSON. */
bb_err bb_segment_set_texts(bb_segmentation *s, const char *json, size_t len, bb_log *log);

/* Writes "CustomerID,Segment,Distance" for every customer (in id order):
 * the segment's name, the distance with 6 decimals (empty for the
 * no-purchase group). IDs are written as CSV fields, formulas defused. */
bb_err bb_segment_save_assignments(const bb_segmentation *s, const bb_dataset *ds, const char *path);

/* Compares with a previous run's assignments (the file
 * bb_segment_save_assignments() wrote) and keeps the result in
 * s->migrations. Customers are matched by ID, segments by name (names are
 * stable across runs, indices are not). BB_ERR_NOINPUT when the file cannot
 * be read, BB_ERR_DATA when it is not such a file (both logged; s is left
 * as it was). */
bb_err bb_segment_migrations(bb_segmentation *s, const bb_dataset *ds, const char *prev_path, bb_log *log);

/* Keeps segment names stable from one night to the next: a segment whose
 * customers (matched by ID with the previous run's assignments) mostly (over
 * half) had one name then keeps that name, pairs taken greedily by the number
 * of customers shared; other segments keep their rule-based names. Call it
 * before bb_segment_set_texts() and bb_segment_migrations(). Nothing changes
 * when the file cannot be read (logged). *renamed (may be NULL) counts the
 * segments that took a previous name different from their rule-based one. */
bb_err bb_segment_keep_names(bb_segmentation *s, const bb_dataset *ds, const char *prev_path,
                             bb_log *log, int *renamed);

/* Adds "segmentation" to obj: features with transform, mean and sd (the
 * scaling), k, seed, restarts, inertia, the scan, segment sizes. */
bb_err bb_segment_manifest(const bb_segmentation *s, cJSON *obj);

/* Cells the Customers sheet takes (for choosing the workbook's streaming mode). */
uint64_t bb_segment_sheet_cells(const bb_segmentation *s);

#endif
