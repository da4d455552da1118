/*
 * sales.h - sales analytics: KPIs with period deltas, daily/weekly/monthly
 * trends, weekdays, categories, items, customers, staff and registration
 * cohorts, computed once from the dataset for every renderer.
 *
 * Pure: the dataset and the as-of date in, numbers out; never the clock.
 *
 * Periods. The KPIs describe the last COMPLETE period (month, Monday-Sunday
 * week or quarter) ending on or before ds->as_of: when the as-of date is the
 * last day of a month, that month is complete. They are compared with the
 * period before it and with the same period a year earlier (12 months, 52
 * weeks or 4 quarters back). A period "has data" when it overlaps the
 * purchase date range; a comparison without data is absent, not zero.
 *
 * Definitions (shared with the report's notes):
 *   visit             all purchases of one customer on one day;
 *   units             the sum of Quantity (a row without a quantity is 1);
 *   active customer   a customer with a purchase in the period;
 *   new customer      a customer whose first purchase falls in the period;
 *   repeat customer   an active customer with two or more visits in it;
 *   revenue           amounts paid (or list price x quantity when the export
 *                     has no amounts); unknown when the data has no prices:
 *                     has_revenue is false and every revenue figure is
 *                     absent (its kpi.known is false, renderers leave the
 *                     columns out). Money is int64 cents; averages are
 *                     rounded to the cent (half away from zero).
 *
 * Everything that is not a KPI covers the whole data range, first purchase
 * to as-of date (tables, rankings, distributions, cohorts); category, item
 * and staff figures add the KPI periods beside it.
 *
 * Orders (stable, so output is reproducible):
 *   items        by revenue, descending, ties by ItemID (by units when there
 *                is no revenue); items_by_units by units, ties by ItemID.
 *                Every catalogue item is ranked, unsold ones included, so
 *                the bottom N are the real bottom (ranks n-N+1..n of n);
 *   categories   by revenue (units without revenue), ties by name;
 *   subcategories keyed by category + name (Service/Styling and
 *                Product/Styling are two), ties by category then name;
 *   staff        by revenue (services without revenue), ties by EmployeeID;
 *                sales without an employee are one row at the end, with
 *                employee == BB_UNKNOWN, never an employee called "Unknown";
 *   genders, zips by revenue (active customers without revenue), ties by
 *                text; unknown last.
 *
 * Quantiles are linear interpolation between order statistics (Hyndman &
 * Fan 1996, type 7: the default of R and NumPy).
 *
 * Cost: O(rows + customers + days): two passes over the purchase columns
 * (one in row order, one in day order from bb_purchases_by_day), radix sorts
 * for the distributions, a counting sort of employees by customer only with
 * more than 63 employees. Scratch memory: 4 bytes per purchase row (the day
 * order) and 40 bytes per customer, freed before returning. Measured on this
 * 2-core machine at 20M rows, 1M customers, 5,000 items (bench scale L):
 * 1.3-1.7 s, about 0.07-0.08 s per million rows.
 *
 *     bb_sales_opts o;
 *     bb_sales_defaults(&o);            (month, top 10)
 *     o.period = BB_PERIOD_QUARTER;
 *     bb_sales *s = NULL;
 *     bb_err e = bb_sales_compute(ds, &o, &s);
 *     if (e == BB_OK && s->kpi[BB_KPI_REVENUE].has[BB_SALES_CUR]) ...
 *     bb_sales_free(s);
 *
 * Ownership: the result owns all its arrays; bb_sales_free() releases them.
 * It points into nothing of the dataset, but ids (items, categories, ...)
 * are the dataset's: keep the dataset for their text.
 */
#ifndef BB_SALES_H
#define BB_SALES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/dataset.h"
#include "util/err.h"

typedef enum bb_period_kind { BB_PERIOD_MONTH, BB_PERIOD_WEEK, BB_PERIOD_QUARTER } bb_period_kind;

typedef struct bb_sales_opts {
    bb_period_kind period;  /* of the KPIs; default month */
    int top_n;              /* top and bottom items; default 10, 1..1000 */
} bb_sales_opts;

void bb_sales_defaults(bb_sales_opts *o);
/* "month", "week", "quarter" <-> the kind (for the config). */
const char *bb_sales_period_name(bb_period_kind k);
bool bb_sales_period_parse(const char *text, bb_period_kind *out);
/* The last complete period of that kind ending on or before as_of:
 * first..last inclusive, as day numbers. */
void bb_sales_last_period(bb_period_kind k, int32_t as_of, int32_t *first, int32_t *last);

/* The KPI periods: the last complete one, the one before, a year earlier. */
enum { BB_SALES_CUR = 0, BB_SALES_PREV, BB_SALES_YEAR_AGO, BB_SALES_NPERIODS };

typedef struct bb_sales_period {
    int32_t first, last;    /* days, inclusive */
    bool has_data;          /* overlaps the purchase date range */
    char label[40];         /* "December 2023", "Q4 2023", "week of 2023-12-25" */
    char short_label[24];   /* "Dec 2023", "Q4 2023", "wk 2023-12-25" */
} bb_sales_period;

typedef enum bb_sales_kpi_id {
    BB_KPI_REVENUE = 0,
    BB_KPI_VISITS,
    BB_KPI_UNITS,
    BB_KPI_ACTIVE,
    BB_KPI_NEW,
    BB_KPI_AVG_VISIT,        /* revenue / visits */
    BB_KPI_REV_PER_CUSTOMER, /* revenue / active customers */
    BB_KPI_REPEAT_RATE,      /* repeat customers / active customers */
    BB_KPI__COUNT
} bb_sales_kpi_id;

typedef enum bb_sales_unit { BB_SALES_MONEY, BB_SALES_COUNT, BB_SALES_RATIO } bb_sales_unit;

typedef struct bb_sales_kpi {
    const char *name;        /* "Revenue" (static text) */
    const char *definition;  /* one line, static text */
    bb_sales_unit unit;
    bool known;              /* false: a revenue figure of data without prices */
    /* Per period (BB_SALES_CUR, _PREV, _YEAR_AGO): has[k] when the period has
     * data and the figure is defined (a ratio needs a non-zero denominator).
     * Money in cents (integral), counts, ratios in [0, 1]. */
    bool has[BB_SALES_NPERIODS];
    double value[BB_SALES_NPERIODS];
    /* Against PREV and YEAR_AGO (index 0 unused): value[CUR] - value[k]
     * (percentage points x 0.01 for ratios) and that change relative to
     * value[k]; NaN when either side is absent (or value[k] is 0 for pct). */
    double change[BB_SALES_NPERIODS];
    double change_pct[BB_SALES_NPERIODS];
} bb_sales_kpi;

typedef struct bb_sales_day {
    int32_t day;
    int64_t revenue_cents, visits, units, rows;
    /* Trailing means over 7 and 28 days of revenue in cents (of visits when
     * there is no revenue); NaN until that many days of the range passed. */
    double ma7, ma28;
} bb_sales_day;

/* A calendar week (Monday-Sunday) or month of the range. */
typedef struct bb_sales_bucket {
    int32_t first, last;     /* days, inclusive */
    bool complete;           /* ends on or before the as-of date */
    int64_t revenue_cents, visits, units, rows;
    int64_t customers;       /* distinct customers with a visit in it */
    bool has_prev_year;      /* months: the same month a year earlier is in the range */
    int64_t prev_year_revenue_cents;
    double prev_year_change_pct;   /* revenue against a year earlier; NaN when unknown or 0 before */
} bb_sales_bucket;

typedef struct bb_sales_weekday {
    int64_t revenue_cents, visits, units, rows;
    int32_t days;            /* such weekdays in the range */
    double revenue_share;    /* of the range's revenue (units without revenue) */
    double avg_revenue_cents, avg_visits;  /* per such day; NaN when days is 0 */
} bb_sales_weekday;

/* A category or a subcategory. */
typedef struct bb_sales_group {
    uint32_t id;             /* in ds->categories or ds->subcategories */
    uint32_t category;       /* the category (== id for a category) */
    uint32_t items;          /* catalogue items in the group */
    int64_t revenue_cents, units, rows;
    double revenue_share, units_share;   /* of the whole range; NaN when the total is 0 */
    int64_t period_revenue_cents[BB_SALES_NPERIODS], period_units[BB_SALES_NPERIODS];
    /* Share of the period's revenue (units without revenue); NaN when the
     * period has no data or no sales. */
    double period_share[BB_SALES_NPERIODS];
    double share_change;     /* period_share[CUR] - period_share[PREV] (x 100: points) */
} bb_sales_group;

typedef struct bb_sales_item {
    uint32_t item;           /* row in ds->items */
    int64_t revenue_cents, units, rows;
    /* Sum of UnitPrice x Quantity over its rows: what list prices would have
     * brought; -1 when the item has no list price (or it overflows). */
    int64_t list_cents;
    /* revenue / list_cents: realised price against list price; NaN when
     * unknown (no list price, nothing sold, or revenue is itself list based). */
    double paid_vs_list;
    int64_t period_revenue_cents, period_units;  /* in the current KPI period */
    int32_t last_day;        /* last sale; BB_DATE_NONE: never sold */
    uint32_t revenue_rank, units_rank;   /* 1-based, over every catalogue item;
                                            revenue_rank is 0 without revenue */
} bb_sales_item;

typedef struct bb_sales_dist {
    size_t n;                /* customers it is over (those with a visit) */
    double mean, min, p10, p25, p50, p75, p90, max;   /* cents */
} bb_sales_dist;

#define BB_SALES_AGE_BANDS 8 /* under 18, 18-24, ..., 65 and over, unknown */

/* Customers grouped by age band, gender or zip code. */
typedef struct bb_sales_segment {
    uint32_t id;             /* band index, gender or zip id; BB_UNKNOWN: unknown */
    uint32_t customers;      /* in the customers file */
    uint32_t active;         /* with a purchase in the range */
    int64_t revenue_cents, visits;
    double customer_share, revenue_share;  /* NaN when the total is 0 */
} bb_sales_segment;

typedef struct bb_sales_reach {
    uint32_t customers;
    uint32_t email, sms, either, both;       /* subscribed */
    uint32_t email_unknown, sms_unknown;     /* no value in the file */
    /* email, sms, either, both over customers; NaN when there are none */
    double email_share, sms_share, either_share, both_share;
} bb_sales_reach;

/* Customers registered in a month (a cohort) x months since registration:
 * how many had a visit in that month. Cohorts run from the month of the
 * first purchase to the last complete month (at most BB_SALES_MAX_COHORTS,
 * the latest); customers registered earlier are left out (their early months
 * are not in the data) and counted in before_data. No cohorts at all
 * (n_cohorts 0) when no customer registered in that range. */
#define BB_SALES_MAX_COHORTS 120

typedef struct bb_sales_cohorts {
    size_t n_cohorts, n_offsets;   /* rows; columns = months 0..n_offsets-1 */
    int32_t *month;                /* bb_date_month_index() of each cohort */
    uint32_t *size;                /* customers registered in it */
    /* active[c * n_offsets + k]: cohort c's customers with a visit k months
     * after their registration month; -1 where that month is not complete
     * yet. */
    int64_t *active;
    double *retention;             /* active / size; NaN where active is -1 or size 0 */
    /* Customers in no cohort: registered before the first purchase month,
     * without a registration date, in cohorts older than the latest
     * BB_SALES_MAX_COHORTS, or after the last complete month. */
    uint64_t before_data, no_date, earlier_cohorts, recent;
} bb_sales_cohorts;

typedef struct bb_sales_staff {
    uint32_t employee;       /* id in ds->employees; BB_UNKNOWN: no employee */
    int64_t revenue_cents;
    int64_t services;        /* purchase rows recorded with this employee */
    int64_t units;
    int64_t customers;       /* distinct customers */
    double revenue_share;    /* NaN when the total is 0 */
    int64_t period_revenue_cents[BB_SALES_NPERIODS];
    /* For the no-employee row only: the category most of its rows fall in
     * and that share of its rows (what those sales are: "100 % Product");
     * BB_UNKNOWN and NaN otherwise. */
    uint32_t top_category;
    double top_category_share;
} bb_sales_staff;

#define BB_SALES_MAX_FINDINGS 12

struct bb_sales {
    bb_sales_opts opts;
    bool has_revenue;        /* price_source != BB_PRICE_NONE */
    bool paid_prices;        /* price_source == BB_PRICE_TOTAL: realised vs list means something */
    bool has_quantity;
    int32_t as_of, first_day, last_day;   /* BB_DATE_NONE when there are no purchases */

    bb_sales_period period[BB_SALES_NPERIODS];
    bb_sales_kpi kpi[BB_KPI__COUNT];

    /* Whole range. */
    int64_t revenue_cents, units, rows, visits;
    uint32_t active_customers;

    bb_sales_day *days;      /* first_day..as_of, every day */
    size_t n_days;
    bb_sales_bucket *weeks;  /* Monday weeks covering the days */
    size_t n_weeks;
    bb_sales_bucket *months; /* calendar months covering the days */
    size_t n_months;
    bb_sales_weekday weekdays[7];   /* 0 = Monday */

    bb_sales_group *categories, *subcategories;
    size_t n_categories, n_subcategories;

    bb_sales_item *items;    /* every catalogue item, in revenue-rank order */
    size_t n_items;
    uint32_t *items_by_units;    /* indices into items, in units-rank order */
    /* Top and bottom lists: items[0..n_top) and items[bottom_first..n_items)
     * (n_items - bottom_first <= top_n; never overlapping the top). The same
     * positions apply to items_by_units. */
    size_t n_top, bottom_first;
    uint32_t *unsold;        /* indices into items not sold in the current period, by ItemID */
    size_t n_unsold;
    int64_t list_cents, list_paid_cents;  /* totals over items with a list price */
    double paid_vs_list;     /* list_paid_cents / list_cents; NaN when unknown */

    /* Customers with a visit in the range: total spend per customer, and
     * each customer's mean visit value (their spend / their visits). */
    bb_sales_dist spend, visit_value;
    bb_sales_segment age[BB_SALES_AGE_BANDS];
    bb_sales_segment *genders, *zips;
    size_t n_genders, n_zips;
    bb_sales_reach reach_all, reach_active;
    bb_sales_cohorts cohorts;

    bb_sales_staff *staff;
    size_t n_staff;

    /* One-line findings computed from the data, most important first. */
    char findings[BB_SALES_MAX_FINDINGS][320];
    size_t n_findings;
};
typedef struct bb_sales bb_sales;

/* Label of age band b: "Under 18", "18-24", ..., "65 and over", "Unknown". */
const char *bb_sales_age_band_label(int b);

/* Computes everything. o may be NULL (defaults). BB_ERR_CONFIG for a bad
 * option, BB_ERR_NOMEM when memory runs out. *out is NULL on failure. */
bb_err bb_sales_compute(const bb_dataset *ds, const bb_sales_opts *o, bb_sales **out);
void bb_sales_free(bb_sales *s);

#endif
