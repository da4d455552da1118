/*
 * features.h - behavioural features per customer, and their scaling.
 *
 * Every feature is computed for every customer as of the dataset's as-of
 * date, in original units (days, visits, currency units, shares). A visit is
 * all purchases of one customer on one day, as in the summary.
 *
 *   recency          days from the last visit to the as-of date
 *   frequency        visits
 *   monetary         total spend (currency units; 0 when the data has no prices)
 *   avg_visit_value  monetary / frequency
 *   mean_gap         mean days between consecutive visits: (last - first) /
 *                    (visits - 1); with one visit, the days since it (the
 *                    gap is at least that long, it has not closed yet)
 *   longest_streak   longest run of consecutive calendar months with a visit
 *   service_share    share of spend on the "Service" category (share of
 *                    units when there are no prices; 0 when there is no
 *                    such category)
 *   tenure           days since the customer was first known: the earlier of
 *                    registration (when known and not after the as-of date)
 *                    and the first visit
 *   units_per_visit  units / visits
 *
 * Customers without purchases get frequency 0, monetary 0, longest_streak 0
 * and tenure from their registration; the other features are NaN (they are
 * not clustered: they form their own group).
 *
 * Scaling: the selected features of the customers with purchases are
 * transformed (log1p for the skewed ones, so a few heavy buyers do not set
 * the scale) and z-scored with the population standard deviation, as
 * scikit-learn's StandardScaler does. A selected feature that is constant
 * (sd below 1e-9 of its scale: no prices, no Service category) cannot
 * separate anyone and is left out of the clustering space (used = false).
 *
 * Layout: raw[c * BB_SEG_FEATURES + f] for customer id c; z[r * n_dims + d]
 * for the r-th customer with purchases (rows[r] is its id) and the d-th used
 * feature (dims[d]).
 */
#ifndef BB_FEATURES_H
#define BB_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/dataset.h"
#include "util/err.h"

typedef enum bb_seg_feature {
    BB_SEG_RECENCY = 0,
    BB_SEG_FREQUENCY,
    BB_SEG_MONETARY,
    BB_SEG_AVG_VISIT_VALUE,
    BB_SEG_MEAN_GAP,
    BB_SEG_LONGEST_STREAK,
    BB_SEG_SERVICE_SHARE,
    BB_SEG_TENURE,
    BB_SEG_UNITS_PER_VISIT,
    BB_SEG_FEATURES
} bb_seg_feature;

/* How a feature's values read, for formatting. */
typedef enum bb_seg_unit {
    BB_SEG_UNIT_DAYS,
    BB_SEG_UNIT_COUNT,
    BB_SEG_UNIT_MONEY,
    BB_SEG_UNIT_SHARE,
    BB_SEG_UNIT_MONTHS,
} bb_seg_unit;

/* Scaling of one feature, recorded in the manifest. */
typedef struct bb_seg_scale {
    bool selected;  /* in the configured feature set */
    bool used;      /* selected and not constant: a dimension of the clustering */
    bool log1p;     /* transformed by log(1 + x) before z-scoring */
    double mean;    /* of the (transformed) values */
    double sd;      /* population standard deviation of the same */
} bb_seg_scale;

/* Config name ("mean_gap"), label ("Mean days between visits"), short
 * table header ("Gap (days)"), unit. */
const char *bb_features_key(bb_seg_feature f);
const char *bb_features_label(bb_seg_feature f);
const char *bb_features_short(bb_seg_feature f);
bb_seg_unit bb_features_unit(bb_seg_feature f);

/* Bit masks over features (bit f). */
#define BB_SEG_ALL_FEATURES ((1u << BB_SEG_FEATURES) - 1u)
/* recency, frequency, monetary, avg_visit_value, mean_gap, longest_streak,
 * units_per_visit: counts and amounts with long right tails. */
unsigned bb_features_default_log(void);

/* Parses a comma list of feature keys ("recency, monetary"); spaces are
 * ignored; "all" is every feature, "" or "none" no feature. NULL gives
 * fallback. BB_ERR_CONFIG (message in err) for an unknown name. */
bb_err bb_features_parse(const char *list, unsigned fallback, unsigned *mask, char *err, size_t errsize);

/* The raw features of every customer (ds->customers.n rows), as of
 * ds->as_of. *raw is malloc'd; *n_active counts customers with purchases. */
bb_err bb_features_compute(const bb_dataset *ds, double **raw, uint32_t *n_active);

/* Scales the selected features of the customers with purchases (frequency
 * > 0) into the clustering space. scale[] is filled for every feature; dims
 * (BB_SEG_FEATURES entries) receives the used features in feature order,
 * *n_dims their count (0 when nothing varies). *z (n_rows x n_dims) and
 * *rows (n_rows customer ids, ascending) are malloc'd. */
bb_err bb_features_standardize(const double *raw, uint32_t n_customers, unsigned select_mask,
                               unsigned log_mask, bb_seg_scale scale[BB_SEG_FEATURES],
                               int dims[BB_SEG_FEATURES], int *n_dims, double **z, uint32_t **rows,
                               size_t *n_rows);

/* The transformed, z-scored value of one raw value. */
double bb_features_scaled(const bb_seg_scale *s, double raw);

#endif
