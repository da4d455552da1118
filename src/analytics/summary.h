/*
 * summary.h - the data overview: what was read and the sales it describes.
 *
 * Computed once from the dataset and read by every renderer (the cover, the
 * data summary section, the Summary sheet). Pure: dataset in, numbers out.
 *
 * Visits: all purchases of one customer on one day are one visit. They are
 * counted in one pass over the purchases in day order (a counting sort by
 * day), remembering for each customer the last day a visit was counted.
 */
#ifndef BB_SUMMARY_H
#define BB_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/dataset.h"
#include "util/err.h"

typedef struct bb_month {
    int32_t month;          /* bb_date_month_index() */
    int64_t revenue_cents;
    int64_t units;
    int64_t rows;
    int64_t visits;
    int64_t customers;      /* distinct customers with a visit in the month */
} bb_month;

typedef struct bb_summary {
    uint32_t customers, items, employees, categories, subcategories;
    uint32_t active_customers;      /* at least one purchase */
    size_t purchases;
    int64_t revenue_cents, units, visits;
    int32_t first_day, last_day, as_of;
    bb_month *months;               /* every month from first_day to last_day */
    size_t n_months;
} bb_summary;

bb_err bb_summary_compute(const bb_dataset *ds, bb_summary *out);
void bb_summary_free(bb_summary *s);

/* Row indices of the purchases sorted by day (stable); caller frees. */
bb_err bb_purchases_by_day(const bb_dataset *ds, uint32_t **order);

#endif
