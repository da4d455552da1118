/*
 * sales.c - sales analytics (see sales.h for definitions and orders).
 *
 * Passes over the purchase columns:
 *   1. row order: sums per day, item and employee (no ordering needed, so
 *      the columns are read sequentially);
 *   2. day order (bb_purchases_by_day): everything per customer - spend, the
 *      set of employees as a 64-bit mask, and what needs "first time this
 *      customer is seen in ..." (visits, new customers, distinct customers
 *      per week, month and KPI period, repeat customers, cohort activity)
 *      with one small stamp per customer for each of them;
 *   3. only with more than 63 employees (the mask is too small): employees
 *      grouped by customer with a counting sort, for distinct customers per
 *      employee.
 * Everything kept per customer sits in one 40-byte struct (cust_state) and is
 * touched in one pass, prefetched a few rows ahead: a row costs at most one
 * cache miss, not one per field. At 20M rows and 1M customers these misses
 * are most of the time.
 * Categories, subcategories and KPI period totals are then sums over items
 * and days, never over rows again.
 *
 * Ties: every ranking sorts on (key descending, text rank ascending), where
 * the text rank of an id is its position when the ids are sorted by their
 * bytes (strcmp), so ties break by ID or name and the output is stable.
 */
#include "analytics/sales.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/summary.h"
#include "util/date.h"
#include "util/fmt.h"

void bb_sales_defaults(bb_sales_opts *o)
{
    o->period = BB_PERIOD_MONTH;
    o->top_n = 10;
}

static const char *const PERIOD_NAMES[] = {"month", "week", "quarter"};

const char *bb_sales_period_name(bb_period_kind k)
{
    return (unsigned)k <= BB_PERIOD_QUARTER ? PERIOD_NAMES[k] : "?";
}

bool bb_sales_period_parse(const char *text, bb_period_kind *out)
{
    for (int k = 0; k <= BB_PERIOD_QUARTER; k++) {
        if (text && strcmp(text, PERIOD_NAMES[k]) == 0) {
            *out = (bb_period_kind)k;
            return true;
        }
    }
    return false;
}

const char *bb_sales_age_band_label(int b)
{
    static const char *const labels[BB_SALES_AGE_BANDS] = {
        "Under 18", "18–24", "25–34", "35–44", "45–54", "55–64", "65 and over", "Unknown"};
    return b >= 0 && b < BB_SALES_AGE_BANDS ? labels[b] : "?";
}

static int age_band(int age)
{
    static const int upper[] = {17, 24, 34, 44, 54, 64};
    if (age < 0)
        return BB_SALES_AGE_BANDS - 1;
    for (int b = 0; b < 6; b++)
        if (age <= upper[b])
            return b;
    return 6;
}

/* ---- periods ------------------------------------------------------------- */

static int32_t month_last_day(int32_t month_index)
{
    return bb_date_month_start(month_index + 1) - 1;
}

void bb_sales_last_period(bb_period_kind k, int32_t as_of, int32_t *first, int32_t *last)
{
    int32_t mi = bb_date_month_index(as_of);
    switch (k) {
    case BB_PERIOD_WEEK: {
        int wd = bb_date_weekday(as_of);   /* 0 Monday .. 6 Sunday */
        int32_t end = wd == 6 ? as_of : as_of - wd - 1;
        *first = end - 6;
        *last = end;
        return;
    }
    case BB_PERIOD_QUARTER: {
        int32_t q = mi / 3;
        if (as_of != month_last_day(q * 3 + 2))
            q--;
        *first = bb_date_month_start(q * 3);
        *last = month_last_day(q * 3 + 2);
        return;
    }
    case BB_PERIOD_MONTH:
    default:
        if (as_of != month_last_day(mi))
            mi--;
        *first = bb_date_month_start(mi);
        *last = month_last_day(mi);
        return;
    }
}

/* The period `back` periods before the one starting on `first`. */
static void period_back(bb_period_kind k, int32_t first, int back, int32_t *pf, int32_t *pl)
{
    if (k == BB_PERIOD_WEEK) {
        *pf = first - 7 * back;
        *pl = *pf + 6;
        return;
    }
    int months = k == BB_PERIOD_QUARTER ? 3 : 1;
    int32_t mi = bb_date_month_index(first) - months * back;
    *pf = bb_date_month_start(mi);
    *pl = month_last_day(mi + months - 1);
}

static const char *const MONTH_NAMES[] = {"January", "February", "March",     "April",   "May",      "June",
                                          "July",    "August",   "September", "October", "November", "December"};

static void period_labels(bb_period_kind k, bb_sales_period *p)
{
    int y, m, d;
    bb_date_to_ymd(p->first, &y, &m, &d);
    if (k == BB_PERIOD_WEEK) {
        char day[11];
        bb_date_format(p->first, day);
        snprintf(p->label, sizeof p->label, "week of %s", day);
        /* ISO 8601 week: the week's Thursday decides its year. */
        int32_t thursday = p->first + 3;
        int ty, tm, td;
        bb_date_to_ymd(thursday, &ty, &tm, &td);
        int week = (thursday - bb_date_from_ymd(ty, 1, 1)) / 7 + 1;
        snprintf(p->short_label, sizeof p->short_label, "W%02d %d", week % 100, ty);
    } else if (k == BB_PERIOD_QUARTER) {
        snprintf(p->label, sizeof p->label, "Q%d %d", (m - 1) / 3 + 1, y);
        snprintf(p->short_label, sizeof p->short_label, "Q%d %d", (m - 1) / 3 + 1, y);
    } else {
        snprintf(p->label, sizeof p->label, "%s %d", MONTH_NAMES[m - 1], y);
        snprintf(p->short_label, sizeof p->short_label, "%.3s %d", MONTH_NAMES[m - 1], y);
    }
}

static void set_periods(bb_sales *s, const bb_dataset *ds)
{
    bb_period_kind k = s->opts.period;
    if (ds->as_of == BB_DATE_NONE) {
        for (int j = 0; j < BB_SALES_NPERIODS; j++)
            s->period[j] = (bb_sales_period){.first = BB_DATE_NONE, .last = BB_DATE_NONE};
        return;
    }
    int year_back = k == BB_PERIOD_WEEK ? 52 : k == BB_PERIOD_QUARTER ? 4 : 12;
    bb_sales_period *p = s->period;
    bb_sales_last_period(k, ds->as_of, &p[BB_SALES_CUR].first, &p[BB_SALES_CUR].last);
    period_back(k, p[BB_SALES_CUR].first, 1, &p[BB_SALES_PREV].first, &p[BB_SALES_PREV].last);
    period_back(k, p[BB_SALES_CUR].first, year_back, &p[BB_SALES_YEAR_AGO].first, &p[BB_SALES_YEAR_AGO].last);
    for (int j = 0; j < BB_SALES_NPERIODS; j++) {
        p[j].has_data = s->first_day != BB_DATE_NONE && p[j].last >= s->first_day;
        period_labels(k, &p[j]);
    }
}

/* Which KPI period a day falls in, or -1 (the periods are disjoint). */
static int period_of(const bb_sales *s, int32_t day)
{
    for (int j = 0; j < BB_SALES_NPERIODS; j++)
        if (day >= s->period[j].first && day <= s->period[j].last)
            return j;
    return -1;
}

/* ---- rankings ------------------------------------------------------------ */

typedef struct text_rec {
    const char *a, *b;   /* compared by bytes: a, then b */
    uint32_t id;
} text_rec;

static int cmp_text_rec(const void *x, const void *y)
{
    const text_rec *p = x, *q = y;
    int c = strcmp(p->a, q->a);
    if (c == 0 && p->b && q->b)
        c = strcmp(p->b, q->b);
    if (c == 0)
        c = p->id < q->id ? -1 : p->id > q->id;
    return c;
}

/* rank[id] = position of id when the recs are sorted by text. Sorts recs. */
static void text_ranks(text_rec *recs, uint32_t n, uint32_t *rank)
{
    qsort(recs, n, sizeof *recs, cmp_text_rec);
    for (uint32_t i = 0; i < n; i++)
        rank[recs[i].id] = i;
}

/* Text ranks of every string of an intern table (n entries). */
static bb_err intern_ranks(const bb_intern *t, uint32_t n, uint32_t **out)
{
    *out = NULL;
    uint32_t *rank = malloc((n ? n : 1) * sizeof *rank);
    text_rec *recs = malloc((n ? n : 1) * sizeof *recs);
    if (!rank || !recs) {
        free(rank);
        free(recs);
        return BB_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < n; i++)
        recs[i] = (text_rec){bb_intern_str(t, i), NULL, i};
    text_ranks(recs, n, rank);
    free(recs);
    *out = rank;
    return BB_OK;
}

typedef struct sort_rec {
    int64_t key;     /* descending */
    uint32_t tie;    /* ascending */
    uint32_t idx;
} sort_rec;

static int cmp_sort_rec(const void *x, const void *y)
{
    const sort_rec *p = x, *q = y;
    if (p->key != q->key)
        return p->key > q->key ? -1 : 1;
    return p->tie < q->tie ? -1 : p->tie > q->tie;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* An IEEE 754 double's bits turned into an unsigned key in the same order:
 * negative numbers have all bits flipped, others just the sign bit. */
static uint64_t double_key(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u >> 63 ? ~u : u ^ ((uint64_t)1 << 63);
}

/* Sorts n doubles (no NaN) ascending: an LSD radix sort on their keys, four
 * 16-bit digits (O(n), no comparisons: 1M values in about 30 ms against
 * 250 ms for qsort); qsort for short arrays or when memory is short. */
static void sort_doubles(double *v, size_t n)
{
    enum { BITS = 16, BUCKETS = 1 << BITS };
    uint64_t *a = n >= 4096 ? malloc(n * sizeof *a) : NULL;
    uint64_t *b = a ? malloc(n * sizeof *b) : NULL;
    size_t *count = b ? malloc(BUCKETS * sizeof *count) : NULL;
    if (!count) {
        free(a);
        free(b);
        qsort(v, n, sizeof *v, cmp_double);
        return;
    }
    for (size_t i = 0; i < n; i++)
        a[i] = double_key(v[i]);
    for (int shift = 0; shift < 64; shift += BITS) {
        memset(count, 0, BUCKETS * sizeof *count);
        for (size_t i = 0; i < n; i++)
            count[(a[i] >> shift) & (BUCKETS - 1)]++;
        size_t sum = 0;
        for (size_t d = 0; d < BUCKETS; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            b[count[(a[i] >> shift) & (BUCKETS - 1)]++] = a[i];
        uint64_t *t = a;
        a = b;
        b = t;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t u = a[i] >> 63 ? a[i] ^ ((uint64_t)1 << 63) : ~a[i];
        memcpy(&v[i], &u, sizeof u);
    }
    free(a);
    free(b);
    free(count);
}

/* Hyndman & Fan type 7: linear interpolation at position q (n - 1). */
static double quantile(const double *sorted, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)pos;
    if (lo + 1 >= n)
        return sorted[n - 1];
    return sorted[lo] + (sorted[lo + 1] - sorted[lo]) * (pos - (double)lo);
}

static void distribution(double *v, size_t n, bb_sales_dist *d)
{
    memset(d, 0, sizeof *d);
    d->n = n;
    if (n == 0) {
        d->mean = d->min = d->p10 = d->p25 = d->p50 = d->p75 = d->p90 = d->max = NAN;
        return;
    }
    sort_doubles(v, n);
    /* Summed in ascending order: the smallest rounding error for positive values. */
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    d->mean = sum / (double)n;
    d->min = v[0];
    d->max = v[n - 1];
    d->p10 = quantile(v, n, 0.10);
    d->p25 = quantile(v, n, 0.25);
    d->p50 = quantile(v, n, 0.50);
    d->p75 = quantile(v, n, 0.75);
    d->p90 = quantile(v, n, 0.90);
}

static double ratio(double num, double den)
{
    return den != 0 ? num / den : NAN;
}

/* a / b rounded to the nearest integer, half away from zero (b > 0). */
static int64_t div_round(int64_t a, int64_t b)
{
    return a >= 0 ? (a + b / 2) / b : -((-a + b / 2) / b);
}

/* ---- the computation ----------------------------------------------------- */

/* What one computation keeps per customer. The stamps hold the last day,
 * week, month and KPI period (1-based, 0 none) the customer was counted in. */
typedef struct cust_state {
    int64_t spend;          /* cents */
    uint64_t employees;     /* bit e: served by employee e (bit n_employees: sales without one) */
    int32_t last_day, last_week, last_month;
    int32_t cohort;         /* cohort row or -1 */
    uint32_t visits;
    uint8_t kstamp, kvisits;  /* KPI period stamp; visits in it, counted up to 2 */
} cust_state;

/* The employee mask holds up to 64 employees (with the "none" bit). */
#define MASK_EMPLOYEES 64
/* How far ahead customer state is prefetched (rows): enough to cover a
 * memory access at a few ns per row. */
#define PREFETCH_ROWS 16

/* Scratch of one computation: per customer state and per id accumulators. */
typedef struct work {
    const bb_dataset *ds;
    bb_sales *s;
    int32_t d0, d1;             /* day range */
    int32_t w0;                 /* Monday of the first week */
    int32_t m0;                 /* month index of the first month */
    uint32_t n_customers, n_items, n_employees;
    cust_state *cust;           /* per customer */
    bool use_mask;              /* n_employees + 1 <= MASK_EMPLOYEES */
    bb_sales_item *item;        /* per item id */
    int64_t *item_period_rev, *item_period_units;  /* [item * 3 + period] */
    bb_sales_staff *staff;      /* per employee id, then "none" */
    int64_t *none_categories;   /* rows without an employee per category */
    int64_t kpi_active[BB_SALES_NPERIODS], kpi_new[BB_SALES_NPERIODS], kpi_repeat[BB_SALES_NPERIODS];
    int32_t cohort_m0, last_complete_month;
} work;

static void work_free(work *w)
{
    free(w->cust);
    free(w->item);
    free(w->item_period_rev);
    free(w->item_period_units);
    free(w->staff);
    free(w->none_categories);
}

static void *zalloc(size_t n, size_t size)
{
    return calloc(n ? n : 1, size);
}

/* Zeroed array of n elements into p (n == 0 still gives a valid pointer); true on failure. */
#define ALLOC(p, n) (((p) = zalloc((size_t)(n), sizeof *(p))) == NULL)

static bb_err alloc_range(work *w)
{
    bb_sales *s = w->s;
    s->n_days = (size_t)(w->d1 - w->d0) + 1;
    w->w0 = w->d0 - bb_date_weekday(w->d0);
    s->n_weeks = (size_t)(w->d1 - w->w0) / 7 + 1;
    w->m0 = bb_date_month_index(w->d0);
    s->n_months = (size_t)(bb_date_month_index(w->d1) - w->m0) + 1;
    if (ALLOC(s->days, s->n_days) || ALLOC(s->weeks, s->n_weeks) || ALLOC(s->months, s->n_months))
        return BB_ERR_NOMEM;
    for (size_t i = 0; i < s->n_days; i++)
        s->days[i].day = w->d0 + (int32_t)i;
    for (size_t i = 0; i < s->n_weeks; i++) {
        s->weeks[i].first = w->w0 + 7 * (int32_t)i;
        s->weeks[i].last = s->weeks[i].first + 6;
        s->weeks[i].complete = s->weeks[i].last <= s->as_of;
    }
    for (size_t i = 0; i < s->n_months; i++) {
        int32_t mi = w->m0 + (int32_t)i;
        s->months[i].first = bb_date_month_start(mi);
        s->months[i].last = month_last_day(mi);
        s->months[i].complete = s->months[i].last <= s->as_of;
    }
    return BB_OK;
}

/* Cohort rows: registration months from the first purchase month to the
 * last complete month, the latest BB_SALES_MAX_COHORTS of them. */
static bb_err setup_cohorts(work *w)
{
    bb_sales *s = w->s;
    const bb_customers *cu = &w->ds->customers;
    bb_sales_cohorts *co = &s->cohorts;
    int32_t mi = bb_date_month_index(s->as_of);
    w->last_complete_month = s->as_of == month_last_day(mi) ? mi : mi - 1;
    w->cohort_m0 = w->m0;
    if (w->last_complete_month - w->cohort_m0 + 1 > BB_SALES_MAX_COHORTS)
        w->cohort_m0 = w->last_complete_month - BB_SALES_MAX_COHORTS + 1;
    int32_t n = w->last_complete_month - w->cohort_m0 + 1;
    if (n > 0) {
        co->n_cohorts = co->n_offsets = (size_t)n;
        if (ALLOC(co->month, co->n_cohorts) || ALLOC(co->size, co->n_cohorts) ||
            ALLOC(co->active, co->n_cohorts * co->n_offsets))
            return BB_ERR_NOMEM;
        for (size_t c = 0; c < co->n_cohorts; c++) {
            co->month[c] = w->cohort_m0 + (int32_t)c;
            for (size_t k = 0; k < co->n_offsets; k++)
                co->active[c * co->n_offsets + k] = c + k < co->n_offsets ? 0 : -1;
        }
    }
    for (uint32_t c = 0; c < w->n_customers; c++) {
        w->cust[c].cohort = -1;
        int32_t reg = cu->registered[c];
        if (reg == BB_DATE_NONE) {
            co->no_date++;
            continue;
        }
        int32_t rm = bb_date_month_index(reg);
        if (rm < w->m0)
            co->before_data++;
        else if (rm < w->cohort_m0)
            co->earlier_cohorts++;
        else if (rm > w->last_complete_month)
            co->recent++;
        else {
            w->cust[c].cohort = rm - w->cohort_m0;
            co->size[rm - w->cohort_m0]++;
        }
    }
    /* Nobody registered in the range (no registration dates, say): no cohorts. */
    uint64_t members = 0;
    for (size_t c = 0; c < co->n_cohorts; c++)
        members += co->size[c];
    if (members == 0) {
        free(co->month);
        free(co->size);
        free(co->active);
        co->month = NULL;
        co->size = NULL;
        co->active = NULL;
        co->n_cohorts = co->n_offsets = 0;
    }
    return BB_OK;
}

/* Pass 1, row order: sums that need no ordering. */
static void pass_rows(work *w)
{
    const bb_purchases *p = &w->ds->purchases;
    const bb_items *it = &w->ds->items;
    bb_sales *s = w->s;
    for (size_t i = 0; i < p->n; i++) {
        int32_t d = p->day[i];
        int64_t t = p->total_cents[i];
        int64_t q = p->quantity[i];
        uint32_t item = p->item[i];
        int kp = period_of(s, d);
        bb_sales_day *day = &s->days[d - w->d0];
        day->revenue_cents += t;
        day->units += q;
        day->rows++;
        bb_sales_item *x = &w->item[item];
        x->revenue_cents += t;
        x->units += q;
        x->rows++;
        if (x->last_day == BB_DATE_NONE || d > x->last_day)
            x->last_day = d;
        uint32_t e = p->employee[i];
        bb_sales_staff *st = &w->staff[e == BB_UNKNOWN ? w->n_employees : e];
        st->revenue_cents += t;
        st->services++;
        st->units += q;
        if (e == BB_UNKNOWN)
            w->none_categories[it->category[item]]++;
        if (kp >= 0) {
            w->item_period_rev[(size_t)item * BB_SALES_NPERIODS + (size_t)kp] += t;
            w->item_period_units[(size_t)item * BB_SALES_NPERIODS + (size_t)kp] += q;
            st->period_revenue_cents[kp] += t;
        }
    }
}

/* Pass 2, day order: visits and everything counted once per customer and
 * calendar unit. Each stamp holds the last unit the customer was counted in. */
static bb_err pass_days(work *w)
{
    const bb_purchases *p = &w->ds->purchases;
    bb_sales *s = w->s;
    bb_sales_cohorts *co = &s->cohorts;
    uint32_t *order = NULL;
    bb_err e = bb_purchases_by_day(w->ds, &order);
    if (e != BB_OK)
        return e;
    int32_t cur = BB_DATE_NONE, wi = 0, mi = 0;
    int kp = -1;
    bb_sales_day *day = NULL;
    for (size_t k = 0; k < p->n; k++) {
        /* The customers of coming rows are random in memory, and so are the
         * rows themselves when the file is not in date order: fetch ahead,
         * rows twice as far as customers (whose index is in the row). */
        if (k + 2 * PREFETCH_ROWS < p->n) {
            uint32_t ahead = order[k + 2 * PREFETCH_ROWS];
            __builtin_prefetch(&p->customer[ahead], 0);
            __builtin_prefetch(&p->day[ahead], 0);
            __builtin_prefetch(&p->total_cents[ahead], 0);
            __builtin_prefetch(&p->employee[ahead], 0);
        }
        if (k + PREFETCH_ROWS < p->n)
            __builtin_prefetch(&w->cust[p->customer[order[k + PREFETCH_ROWS]]], 1);
        uint32_t i = order[k];
        if (p->day[i] != cur) {
            cur = p->day[i];
            day = &s->days[cur - w->d0];
            wi = (cur - w->w0) / 7;
            mi = bb_date_month_index(cur);
            kp = period_of(s, cur);
        }
        cust_state *c = &w->cust[p->customer[i]];
        c->spend += p->total_cents[i];
        if (w->use_mask) {
            uint32_t emp = p->employee[i];
            c->employees |= (uint64_t)1 << (emp == BB_UNKNOWN ? w->n_employees : emp);
        }
        if (c->last_day == cur)
            continue;
        if (c->last_day == BB_DATE_NONE) {
            s->active_customers++;
            if (kp >= 0)
                w->kpi_new[kp]++;
        }
        c->last_day = cur;
        day->visits++;
        c->visits++;
        if (c->last_week != wi) {
            c->last_week = wi;
            s->weeks[wi].customers++;
        }
        if (c->last_month != mi) {
            c->last_month = mi;
            s->months[mi - w->m0].customers++;
            if (c->cohort >= 0 && mi <= w->last_complete_month) {
                int32_t since = mi - (w->cohort_m0 + c->cohort);
                if (since >= 0)
                    co->active[(size_t)c->cohort * co->n_offsets + (size_t)since]++;
            }
        }
        if (kp >= 0) {
            if (c->kstamp != kp + 1) {
                c->kstamp = (uint8_t)(kp + 1);
                c->kvisits = 0;
                w->kpi_active[kp]++;
            }
            if (c->kvisits < 2 && ++c->kvisits == 2)
                w->kpi_repeat[kp]++;
        }
    }
    free(order);
    return BB_OK;
}

/* Distinct customers per employee. With the mask (pass 1), a count of set
 * bits per employee. Otherwise the employees of the rows are grouped by
 * customer (counting sort); within one customer's group a stamp per
 * employee counts each employee once. */
static bb_err pass_staff_customers(work *w)
{
    if (w->use_mask) {
        for (uint32_t c = 0; c < w->n_customers; c++)
            for (uint64_t m = w->cust[c].employees; m; m &= m - 1)
                w->staff[__builtin_ctzll(m)].customers++;
        return BB_OK;
    }
    const bb_purchases *p = &w->ds->purchases;
    uint32_t nc = w->n_customers, ne = w->n_employees + 1;
    uint32_t *start = NULL, *emp = NULL, *stamp = NULL;
    if (ALLOC(start, (size_t)nc + 1) || ALLOC(emp, p->n) || ALLOC(stamp, ne)) {
        free(start);
        free(emp);
        free(stamp);
        return BB_ERR_NOMEM;
    }
    for (size_t i = 0; i < p->n; i++)
        start[p->customer[i] + 1]++;
    for (uint32_t c = 0; c < nc; c++)
        start[c + 1] += start[c];
    for (size_t i = 0; i < p->n; i++) {
        uint32_t e = p->employee[i];
        emp[start[p->customer[i]]++] = e == BB_UNKNOWN ? w->n_employees : e;
    }
    /* start[c] is now the end of customer c's group, the start of c + 1's. */
    uint32_t from = 0;
    for (uint32_t c = 0; c < nc; c++) {
        for (uint32_t j = from; j < start[c]; j++) {
            uint32_t e = emp[j];
            if (stamp[e] != c + 1) {
                stamp[e] = c + 1;
                w->staff[e].customers++;
            }
        }
        from = start[c];
    }
    free(start);
    free(emp);
    free(stamp);
    return BB_OK;
}

static bb_err retention(bb_sales_cohorts *co)
{
    if (co->n_cohorts == 0)
        return BB_OK;
    if (ALLOC(co->retention, co->n_cohorts * co->n_offsets))
        return BB_ERR_NOMEM;
    for (size_t c = 0; c < co->n_cohorts; c++)
        for (size_t k = 0; k < co->n_offsets; k++) {
            int64_t a = co->active[c * co->n_offsets + k];
            co->retention[c * co->n_offsets + k] = a >= 0 && co->size[c] ? (double)a / co->size[c] : NAN;
        }
    return BB_OK;
}

static void trends(work *w)
{
    bb_sales *s = w->s;
    int64_t sum7 = 0, sum28 = 0;
    for (size_t i = 0; i < s->n_days; i++) {
        bb_sales_day *d = &s->days[i];
        /* Running sums: exact integers, so no drift over long ranges. */
        sum7 += s->has_revenue ? d->revenue_cents : d->visits;
        sum28 += s->has_revenue ? d->revenue_cents : d->visits;
        if (i >= 7)
            sum7 -= s->has_revenue ? s->days[i - 7].revenue_cents : s->days[i - 7].visits;
        if (i >= 28)
            sum28 -= s->has_revenue ? s->days[i - 28].revenue_cents : s->days[i - 28].visits;
        d->ma7 = i >= 6 ? (double)sum7 / 7.0 : NAN;
        d->ma28 = i >= 27 ? (double)sum28 / 28.0 : NAN;

        s->revenue_cents += d->revenue_cents;
        s->units += d->units;
        s->rows += d->rows;
        s->visits += d->visits;
        bb_sales_bucket *wk = &s->weeks[(d->day - w->w0) / 7];
        bb_sales_bucket *mo = &s->months[bb_date_month_index(d->day) - w->m0];
        bb_sales_bucket *b[2] = {wk, mo};
        for (int k = 0; k < 2; k++) {
            b[k]->revenue_cents += d->revenue_cents;
            b[k]->visits += d->visits;
            b[k]->units += d->units;
            b[k]->rows += d->rows;
        }
        bb_sales_weekday *wd = &s->weekdays[bb_date_weekday(d->day)];
        wd->revenue_cents += d->revenue_cents;
        wd->visits += d->visits;
        wd->units += d->units;
        wd->rows += d->rows;
        wd->days++;
    }
    for (size_t m = 12; m < s->n_months; m++) {
        s->months[m].has_prev_year = true;
        s->months[m].prev_year_revenue_cents = s->months[m - 12].revenue_cents;
    }
    for (size_t m = 0; m < s->n_months; m++) {
        bb_sales_bucket *b = &s->months[m];
        b->prev_year_change_pct = b->has_prev_year && s->has_revenue
                                      ? ratio((double)(b->revenue_cents - b->prev_year_revenue_cents),
                                              (double)b->prev_year_revenue_cents)
                                      : NAN;
    }
    for (size_t k = 0; k < s->n_weeks; k++)
        s->weeks[k].prev_year_change_pct = NAN;
    double total = s->has_revenue ? (double)s->revenue_cents : (double)s->units;
    for (int k = 0; k < 7; k++) {
        bb_sales_weekday *wd = &s->weekdays[k];
        wd->revenue_share = ratio(s->has_revenue ? (double)wd->revenue_cents : (double)wd->units, total);
        wd->avg_revenue_cents = ratio((double)wd->revenue_cents, wd->days);
        wd->avg_visits = ratio((double)wd->visits, wd->days);
    }
}

static void set_kpi(bb_sales_kpi *k, const char *name, const char *definition, bb_sales_unit unit, bool known)
{
    k->name = name;
    k->definition = definition;
    k->unit = unit;
    k->known = known;
}

static void kpis(work *w)
{
    bb_sales *s = w->s;
    int64_t rev[BB_SALES_NPERIODS] = {0}, visits[BB_SALES_NPERIODS] = {0}, units[BB_SALES_NPERIODS] = {0};
    for (int j = 0; j < BB_SALES_NPERIODS && s->n_days > 0; j++) {
        for (int32_t d = s->period[j].first; d <= s->period[j].last; d++) {
            if (d < w->d0 || d > w->d1)
                continue;
            const bb_sales_day *day = &s->days[d - w->d0];
            rev[j] += day->revenue_cents;
            visits[j] += day->visits;
            units[j] += day->units;
        }
    }
    bool money = s->has_revenue;
    bb_sales_kpi *K = s->kpi;
    set_kpi(&K[BB_KPI_REVENUE], "Revenue",
            w->ds->price_source == BB_PRICE_LIST ? "list price x quantity" : "amounts paid", BB_SALES_MONEY, money);
    set_kpi(&K[BB_KPI_VISITS], "Visits", "purchases of one customer on one day", BB_SALES_COUNT, true);
    set_kpi(&K[BB_KPI_UNITS], "Units sold", "sum of quantities", BB_SALES_COUNT, true);
    set_kpi(&K[BB_KPI_ACTIVE], "Active customers", "customers with a purchase in the period", BB_SALES_COUNT, true);
    set_kpi(&K[BB_KPI_NEW], "New customers", "customers whose first purchase falls in the period", BB_SALES_COUNT,
            true);
    set_kpi(&K[BB_KPI_AVG_VISIT], "Average visit value", "revenue / visits", BB_SALES_MONEY, money);
    set_kpi(&K[BB_KPI_REV_PER_CUSTOMER], "Revenue per customer", "revenue / active customers", BB_SALES_MONEY,
            money);
    set_kpi(&K[BB_KPI_REPEAT_RATE], "Repeat-customer rate",
            "share of active customers with two or more visits in the period", BB_SALES_RATIO, true);
    for (int j = 0; j < BB_SALES_NPERIODS; j++) {
        bool has = s->period[j].has_data;
        double v[BB_KPI__COUNT] = {
            [BB_KPI_REVENUE] = (double)rev[j],
            [BB_KPI_VISITS] = (double)visits[j],
            [BB_KPI_UNITS] = (double)units[j],
            [BB_KPI_ACTIVE] = (double)w->kpi_active[j],
            [BB_KPI_NEW] = (double)w->kpi_new[j],
            [BB_KPI_AVG_VISIT] = visits[j] ? (double)div_round(rev[j], visits[j]) : NAN,
            [BB_KPI_REV_PER_CUSTOMER] = w->kpi_active[j] ? (double)div_round(rev[j], w->kpi_active[j]) : NAN,
            [BB_KPI_REPEAT_RATE] = ratio((double)w->kpi_repeat[j], (double)w->kpi_active[j]),
        };
        for (int k = 0; k < BB_KPI__COUNT; k++) {
            K[k].has[j] = has && K[k].known && !isnan(v[k]);
            K[k].value[j] = K[k].has[j] ? v[k] : NAN;
        }
    }
    for (int k = 0; k < BB_KPI__COUNT; k++) {
        K[k].change[0] = K[k].change_pct[0] = NAN;
        for (int j = 1; j < BB_SALES_NPERIODS; j++) {
            bool both = K[k].has[BB_SALES_CUR] && K[k].has[j];
            K[k].change[j] = both ? K[k].value[BB_SALES_CUR] - K[k].value[j] : NAN;
            K[k].change_pct[j] = both ? ratio(K[k].change[j], K[k].value[j]) : NAN;
        }
    }
}

/* Shares of a group list, then sorted by revenue (units), ties by text rank. */
static bb_err finish_groups(bb_sales *s, bb_sales_group *g, size_t n, const uint32_t *tie_rank,
                            const int64_t *period_total)
{
    sort_rec *r = malloc((n ? n : 1) * sizeof *r);
    bb_sales_group *sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!r || !sorted) {
        free(r);
        free(sorted);
        return BB_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        g[i].revenue_share = ratio((double)g[i].revenue_cents, (double)s->revenue_cents);
        g[i].units_share = ratio((double)g[i].units, (double)s->units);
        for (int j = 0; j < BB_SALES_NPERIODS; j++) {
            double v = s->has_revenue ? (double)g[i].period_revenue_cents[j] : (double)g[i].period_units[j];
            g[i].period_share[j] = s->period[j].has_data ? ratio(v, (double)period_total[j]) : NAN;
        }
        g[i].share_change = g[i].period_share[BB_SALES_CUR] - g[i].period_share[BB_SALES_PREV];
        r[i] = (sort_rec){s->has_revenue ? g[i].revenue_cents : g[i].units, tie_rank[i], (uint32_t)i};
    }
    qsort(r, n, sizeof *r, cmp_sort_rec);
    for (size_t i = 0; i < n; i++)
        sorted[i] = g[r[i].idx];
    memcpy(g, sorted, n * sizeof *g);
    free(r);
    free(sorted);
    return BB_OK;
}

static bb_err categories(work *w)
{
    const bb_dataset *ds = w->ds;
    bb_sales *s = w->s;
    uint32_t nc = bb_intern_count(ds->categories), ns = bb_intern_count(ds->subcategories);
    uint32_t *cat_rank = NULL, *sub_rank = NULL;
    text_rec *recs = NULL;
    bb_err e = BB_ERR_NOMEM;
    if (ALLOC(s->categories, nc) || ALLOC(s->subcategories, ns) || ALLOC(sub_rank, ns) || ALLOC(recs, ns))
        goto done;
    if ((e = intern_ranks(ds->categories, nc, &cat_rank)) != BB_OK)
        goto done;
    s->n_categories = nc;
    s->n_subcategories = ns;
    for (uint32_t c = 0; c < nc; c++)
        s->categories[c].id = s->categories[c].category = c;
    for (uint32_t c = 0; c < ns; c++)
        s->subcategories[c].id = c;
    int64_t period_total[BB_SALES_NPERIODS] = {0};
    for (uint32_t i = 0; i < w->n_items; i++) {
        const bb_sales_item *x = &w->item[i];
        bb_sales_group *g[2] = {&s->categories[ds->items.category[i]], &s->subcategories[ds->items.subcategory[i]]};
        g[1]->category = ds->items.category[i];
        for (int k = 0; k < 2; k++) {
            g[k]->items++;
            g[k]->revenue_cents += x->revenue_cents;
            g[k]->units += x->units;
            g[k]->rows += x->rows;
            for (int j = 0; j < BB_SALES_NPERIODS; j++) {
                g[k]->period_revenue_cents[j] += w->item_period_rev[(size_t)i * BB_SALES_NPERIODS + (size_t)j];
                g[k]->period_units[j] += w->item_period_units[(size_t)i * BB_SALES_NPERIODS + (size_t)j];
            }
        }
        for (int j = 0; j < BB_SALES_NPERIODS; j++)
            period_total[j] += s->has_revenue ? w->item_period_rev[(size_t)i * BB_SALES_NPERIODS + (size_t)j]
                                              : w->item_period_units[(size_t)i * BB_SALES_NPERIODS + (size_t)j];
    }
    /* Subcategories tie by category name, then their own name. */
    for (uint32_t c = 0; c < ns; c++)
        recs[c] = (text_rec){bb_intern_str(ds->categories, s->subcategories[c].category),
                             bb_dataset_subcategory_name(ds, c), c};
    text_ranks(recs, ns, sub_rank);
    e = finish_groups(s, s->categories, nc, cat_rank, period_total);
    if (e == BB_OK)
        e = finish_groups(s, s->subcategories, ns, sub_rank, period_total);
done:
    free(cat_rank);
    free(sub_rank);
    free(recs);
    return e;
}

static bb_err items(work *w)
{
    const bb_dataset *ds = w->ds;
    bb_sales *s = w->s;
    uint32_t n = w->n_items;
    uint32_t *id_rank = NULL, *pos = NULL;
    sort_rec *r = NULL;
    bb_err e = intern_ranks(ds->items.ids, n, &id_rank);
    if (e != BB_OK)
        return e;
    e = BB_ERR_NOMEM;
    if (ALLOC(r, n) || ALLOC(pos, n) || ALLOC(s->items, n) || ALLOC(s->items_by_units, n) || ALLOC(s->unsold, n))
        goto done;
    s->n_items = n;
    for (uint32_t i = 0; i < n; i++) {
        bb_sales_item *x = &w->item[i];
        x->item = i;
        x->period_revenue_cents = w->item_period_rev[(size_t)i * BB_SALES_NPERIODS + BB_SALES_CUR];
        x->period_units = w->item_period_units[(size_t)i * BB_SALES_NPERIODS + BB_SALES_CUR];
        int64_t price = ds->items.unit_price_cents[i];
        x->list_cents = -1;
        x->paid_vs_list = NAN;
        if (price >= 0 && !__builtin_mul_overflow(price, x->units, &x->list_cents)) {
            if (s->paid_prices && x->list_cents > 0)
                x->paid_vs_list = (double)x->revenue_cents / (double)x->list_cents;
            s->list_cents += x->list_cents;
            s->list_paid_cents += x->revenue_cents;
        } else {
            x->list_cents = -1;
        }
    }
    s->paid_vs_list = s->paid_prices && s->list_cents > 0 ? (double)s->list_paid_cents / (double)s->list_cents : NAN;

    for (uint32_t i = 0; i < n; i++)
        r[i] = (sort_rec){w->item[i].units, id_rank[i], i};
    qsort(r, n, sizeof *r, cmp_sort_rec);
    for (uint32_t k = 0; k < n; k++)
        w->item[r[k].idx].units_rank = k + 1;
    for (uint32_t i = 0; i < n; i++)
        r[i] = (sort_rec){s->has_revenue ? w->item[i].revenue_cents : w->item[i].units, id_rank[i], i};
    qsort(r, n, sizeof *r, cmp_sort_rec);
    for (uint32_t k = 0; k < n; k++) {
        bb_sales_item *x = &w->item[r[k].idx];
        x->revenue_rank = s->has_revenue ? k + 1 : 0;
        s->items[k] = *x;
        pos[r[k].idx] = k;
    }
    for (uint32_t i = 0; i < n; i++)
        s->items_by_units[w->item[i].units_rank - 1] = pos[i];
    size_t top = (size_t)s->opts.top_n;
    s->n_top = n < top ? n : top;
    size_t rest = n - s->n_top;
    s->bottom_first = n - (rest < top ? rest : top);

    /* Unsold in the current period, by ItemID: walk the items in id-rank order
     * (r, no longer needed, is reused as the inverse of id_rank). */
    if (s->period[BB_SALES_CUR].has_data) {
        for (uint32_t i = 0; i < n; i++)
            r[id_rank[i]].idx = i;
        for (uint32_t k = 0; k < n; k++) {
            uint32_t i = r[k].idx;
            if (w->item[i].period_units == 0 && w->item[i].period_revenue_cents == 0)
                s->unsold[s->n_unsold++] = pos[i];
        }
    }
    e = BB_OK;
done:
    free(id_rank);
    free(pos);
    free(r);
    return e;
}

/* Sorts segments[0..n) by revenue (active customers without revenue), ties
 * by the text rank of their id; an unknown segment (id BB_UNKNOWN) goes last. */
static bb_err sort_segments(bb_sales *s, bb_sales_segment *g, size_t n, const uint32_t *rank)
{
    sort_rec *r = malloc((n ? n : 1) * sizeof *r);
    bb_sales_segment *sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!r || !sorted) {
        free(r);
        free(sorted);
        return BB_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        bool unknown = g[i].id == BB_UNKNOWN;
        int64_t key = s->has_revenue ? g[i].revenue_cents : g[i].active;
        r[i] = (sort_rec){unknown ? INT64_MIN : key, unknown ? UINT32_MAX : rank[g[i].id], (uint32_t)i};
    }
    qsort(r, n, sizeof *r, cmp_sort_rec);
    for (size_t i = 0; i < n; i++)
        sorted[i] = g[r[i].idx];
    memcpy(g, sorted, n * sizeof *g);
    free(r);
    free(sorted);
    return BB_OK;
}

static void add_segment(bb_sales_segment *g, bool active, int64_t spend, uint32_t visits)
{
    g->customers++;
    g->active += active;
    g->revenue_cents += spend;
    g->visits += visits;
}

static void segment_shares(const bb_sales *s, bb_sales_segment *g, size_t n, uint32_t customers)
{
    for (size_t i = 0; i < n; i++) {
        g[i].customer_share = ratio(g[i].customers, customers);
        g[i].revenue_share = ratio((double)g[i].revenue_cents, (double)s->revenue_cents);
    }
}

static void reach_add(bb_sales_reach *r, int email, int sms)
{
    r->customers++;
    r->email += email == 1;
    r->sms += sms == 1;
    r->either += email == 1 || sms == 1;
    r->both += email == 1 && sms == 1;
    r->email_unknown += email < 0;
    r->sms_unknown += sms < 0;
}

static void reach_shares(bb_sales_reach *r)
{
    r->email_share = ratio(r->email, r->customers);
    r->sms_share = ratio(r->sms, r->customers);
    r->either_share = ratio(r->either, r->customers);
    r->both_share = ratio(r->both, r->customers);
}

static bb_err customers(work *w)
{
    const bb_dataset *ds = w->ds;
    const bb_customers *cu = &ds->customers;
    bb_sales *s = w->s;
    uint32_t n = w->n_customers, ng = bb_intern_count(ds->genders), nz = bb_intern_count(ds->zips);
    double *spend = NULL, *value = NULL;
    uint32_t *g_rank = NULL, *z_rank = NULL;
    bb_err e = BB_ERR_NOMEM;
    if (ALLOC(spend, s->active_customers) || ALLOC(value, s->active_customers) || ALLOC(s->genders, ng + 1) ||
        ALLOC(s->zips, nz + 1))
        goto done;
    if ((e = intern_ranks(ds->genders, ng, &g_rank)) != BB_OK || (e = intern_ranks(ds->zips, nz, &z_rank)) != BB_OK)
        goto done;
    s->n_genders = ng + 1;
    s->n_zips = nz + 1;
    for (uint32_t g = 0; g <= ng; g++)
        s->genders[g].id = g < ng ? g : BB_UNKNOWN;
    for (uint32_t z = 0; z <= nz; z++)
        s->zips[z].id = z < nz ? z : BB_UNKNOWN;
    for (int b = 0; b < BB_SALES_AGE_BANDS; b++)
        s->age[b].id = b == BB_SALES_AGE_BANDS - 1 ? BB_UNKNOWN : (uint32_t)b;

    size_t k = 0;
    for (uint32_t c = 0; c < n; c++) {
        const cust_state *cs = &w->cust[c];
        bool active = cs->visits > 0;
        if (active) {
            spend[k] = (double)cs->spend;
            value[k] = (double)cs->spend / (double)cs->visits;
            k++;
        }
        add_segment(&s->age[age_band(cu->age[c])], active, cs->spend, cs->visits);
        add_segment(&s->genders[cu->gender[c] == BB_UNKNOWN ? ng : cu->gender[c]], active, cs->spend, cs->visits);
        add_segment(&s->zips[cu->zip[c] == BB_UNKNOWN ? nz : cu->zip[c]], active, cs->spend, cs->visits);
        reach_add(&s->reach_all, cu->email[c], cu->sms[c]);
        if (active)
            reach_add(&s->reach_active, cu->email[c], cu->sms[c]);
    }
    reach_shares(&s->reach_all);
    reach_shares(&s->reach_active);
    distribution(spend, k, &s->spend);
    distribution(value, k, &s->visit_value);
    segment_shares(s, s->age, BB_SALES_AGE_BANDS, n);
    segment_shares(s, s->genders, s->n_genders, n);
    segment_shares(s, s->zips, s->n_zips, n);
    /* An unknown group nobody falls in is left out. */
    if (s->genders[ng].customers == 0)
        s->n_genders--;
    if (s->zips[nz].customers == 0)
        s->n_zips--;
    e = sort_segments(s, s->genders, s->n_genders, g_rank);
    if (e == BB_OK)
        e = sort_segments(s, s->zips, s->n_zips, z_rank);
done:
    free(spend);
    free(value);
    free(g_rank);
    free(z_rank);
    return e;
}

static bb_err staff(work *w)
{
    const bb_dataset *ds = w->ds;
    bb_sales *s = w->s;
    uint32_t ne = w->n_employees;
    uint32_t *rank = NULL;
    sort_rec *r = NULL;
    bb_err e = intern_ranks(ds->employees, ne, &rank);
    if (e != BB_OK)
        return e;
    if (ALLOC(r, ne) || ALLOC(s->staff, (size_t)ne + 1)) {
        e = BB_ERR_NOMEM;
        goto done;
    }
    for (uint32_t i = 0; i <= ne; i++) {
        bb_sales_staff *st = &w->staff[i];
        st->employee = i < ne ? i : BB_UNKNOWN;
        st->revenue_share = ratio((double)st->revenue_cents, (double)s->revenue_cents);
        st->top_category = BB_UNKNOWN;
        st->top_category_share = NAN;
    }
    /* What the sales without an employee are: their most common category. */
    bb_sales_staff *none = &w->staff[ne];
    uint32_t ncat = bb_intern_count(ds->categories);
    for (uint32_t c = 0; c < ncat; c++) {
        if (w->none_categories[c] > 0 &&
            (none->top_category == BB_UNKNOWN || w->none_categories[c] > w->none_categories[none->top_category]))
            none->top_category = c;
    }
    if (none->top_category != BB_UNKNOWN)
        none->top_category_share = ratio((double)w->none_categories[none->top_category], (double)none->services);

    for (uint32_t i = 0; i < ne; i++)
        r[i] = (sort_rec){s->has_revenue ? w->staff[i].revenue_cents : w->staff[i].services, rank[i], i};
    qsort(r, ne, sizeof *r, cmp_sort_rec);
    for (uint32_t i = 0; i < ne; i++)
        s->staff[i] = w->staff[r[i].idx];
    s->n_staff = ne;
    if (none->services > 0)
        s->staff[s->n_staff++] = *none;
    e = BB_OK;
done:
    free(rank);
    free(r);
    return e;
}

/* ---- findings ------------------------------------------------------------ */

static void money_text(char *buf, size_t size, double cents)
{
    bb_fmt_money(buf, size, (int64_t)llround(cents));
}

/* "up 4.2 % vs November 2023" into buf; "" when the change is unknown. */
static void change_text(char *buf, size_t size, double pct, const char *vs)
{
    char p[32];
    if (isnan(pct))
        buf[0] = '\0';
    else if (fabs(pct) < 0.0005)
        snprintf(buf, size, "unchanged vs %s", vs);
    else
        snprintf(buf, size, "%s %s vs %s", pct > 0 ? "up" : "down", bb_fmt_pct(p, sizeof p, fabs(pct), 1), vs);
}

/* "up 2.3 points vs November 2023" for shares (ratios). */
static void points_text(char *buf, size_t size, double delta, const char *vs)
{
    char p[32];
    if (isnan(delta))
        buf[0] = '\0';
    else if (fabs(delta) < 0.0005)
        snprintf(buf, size, "unchanged vs %s", vs);
    else
        snprintf(buf, size, "%s %s points vs %s", delta > 0 ? "up" : "down",
                 bb_fmt_fixed(p, sizeof p, fabs(delta) * 100.0, 1), vs);
}

/* Appends a finding (cut to the slot's size; further ones are dropped). */
static void add_finding(bb_sales *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_finding(bb_sales *s, const char *fmt, ...)
{
    if (s->n_findings == BB_SALES_MAX_FINDINGS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->findings[s->n_findings++], sizeof s->findings[0], fmt, ap);
    va_end(ap);
}

static const char *group_name(const bb_dataset *ds, const bb_sales_group *g, bool sub, char *buf, size_t size)
{
    const char *cat = bb_intern_str(ds->categories, g->category);
    if (!cat[0])
        cat = "no category";
    if (!sub)
        snprintf(buf, size, "%s", cat);
    else
        snprintf(buf, size, "%s (%s)",
                 bb_dataset_subcategory_name(ds, g->id)[0] ? bb_dataset_subcategory_name(ds, g->id) : "no subcategory",
                 cat);
    return buf;
}

static void finding_headline(bb_sales *s)
{
    const bb_sales_period *P = s->period;
    const bb_sales_kpi *k = &s->kpi[s->has_revenue ? BB_KPI_REVENUE : BB_KPI_VISITS];
    if (!k->has[BB_SALES_CUR])
        return;
    char v[48], a[96], b[96];
    if (k->unit == BB_SALES_MONEY)
        money_text(v, sizeof v, k->value[BB_SALES_CUR]);
    else
        bb_fmt_int(v, sizeof v, (int64_t)k->value[BB_SALES_CUR]);
    change_text(a, sizeof a, k->change_pct[BB_SALES_PREV], P[BB_SALES_PREV].label);
    change_text(b, sizeof b, k->change_pct[BB_SALES_YEAR_AGO], P[BB_SALES_YEAR_AGO].label);
    add_finding(s, "%s in %s: %s%s%s%s%s.", k->name, P[BB_SALES_CUR].label, v, a[0] || b[0] ? ", " : "",
                 a, a[0] && b[0] ? " and " : "", b);
}

static void finding_customers(bb_sales *s)
{
    const bb_sales_kpi *act = &s->kpi[BB_KPI_ACTIVE], *nw = &s->kpi[BB_KPI_NEW], *vis = &s->kpi[BB_KPI_VISITS];
    if (!act->has[BB_SALES_CUR])
        return;
    char a[32], n[32], v[32], prev[96] = "";
    if (nw->has[BB_SALES_PREV])
        snprintf(prev, sizeof prev, " (%s: %s)", s->period[BB_SALES_PREV].label,
                 bb_fmt_int(a, sizeof a, (int64_t)nw->value[BB_SALES_PREV]));
    bb_fmt_int(a, sizeof a, (int64_t)act->value[BB_SALES_CUR]);
    bb_fmt_int(n, sizeof n, (int64_t)nw->value[BB_SALES_CUR]);
    bb_fmt_int(v, sizeof v, (int64_t)vis->value[BB_SALES_CUR]);
    add_finding(s, "%s customers made %s visits in %s; %s of them %s new%s.", a, v, s->period[BB_SALES_CUR].label,
                nw->value[BB_SALES_CUR] > 0 ? n : "none", nw->value[BB_SALES_CUR] == 1 ? "was" : "were", prev);
}

static void finding_categories(const bb_dataset *ds, bb_sales *s)
{
    /* With one subcategory (no items file, say) a share says nothing. */
    if (!s->period[BB_SALES_CUR].has_data || s->n_subcategories < 2)
        return;
    const char *what = s->has_revenue ? "revenue" : "units sold";
    /* The largest subcategory of the period, and the one whose share moved most. */
    const bb_sales_group *top = NULL, *mover = NULL;
    double best_move = 0.005;
    for (size_t i = 0; i < s->n_subcategories; i++) {
        const bb_sales_group *g = &s->subcategories[i];
        double cur = g->period_share[BB_SALES_CUR];
        if (isnan(cur))
            continue;
        if (!top || cur > top->period_share[BB_SALES_CUR])
            top = g;
    }
    if (!top || !(top->period_share[BB_SALES_CUR] > 0))
        return;
    for (size_t i = 0; i < s->n_subcategories; i++) {
        const bb_sales_group *g = &s->subcategories[i];
        double d = g->share_change;
        if (g != top && !isnan(d) && fabs(d) > best_move) {
            best_move = fabs(d);
            mover = g;
        }
    }
    char name[256], share[32], ch[128];
    const bb_sales_group *list[2] = {top, mover};
    for (int k = 0; k < 2; k++) {
        const bb_sales_group *g = list[k];
        if (!g)
            continue;
        points_text(ch, sizeof ch, g->share_change, s->period[BB_SALES_PREV].label);
        add_finding(s, "%s %s %s of %s in %s%s%s.", group_name(ds, g, true, name, sizeof name),
                     k == 0 ? "is" : "moved most:", bb_fmt_pct(share, sizeof share, g->period_share[BB_SALES_CUR], 1),
                     what,
                     s->period[BB_SALES_CUR].label, ch[0] ? ", " : "", ch);
    }
}

static void finding_top_item(const bb_dataset *ds, bb_sales *s)
{
    if (!s->period[BB_SALES_CUR].has_data)
        return;
    /* The period's best seller; ties by ItemID. */
    const bb_sales_item *best = NULL;
    int64_t best_v = 0;
    for (size_t i = 0; i < s->n_items; i++) {
        const bb_sales_item *x = &s->items[i];
        int64_t v = s->has_revenue ? x->period_revenue_cents : x->period_units;
        if (v > best_v ||
            (best && v == best_v &&
             strcmp(bb_intern_str(ds->items.ids, x->item), bb_intern_str(ds->items.ids, best->item)) < 0)) {
            best = x;
            best_v = v;
        }
    }
    if (!best)
        return;
    char v[48], share[32];
    const bb_sales_kpi *k = &s->kpi[s->has_revenue ? BB_KPI_REVENUE : BB_KPI_UNITS];
    bb_fmt_pct(share, sizeof share, ratio((double)best_v, k->value[BB_SALES_CUR]), 1);
    if (s->has_revenue)
        add_finding(s, "Best seller in %s: %s, %s in revenue (%s).", s->period[BB_SALES_CUR].label,
                 bb_intern_str(ds->item_names, ds->items.name[best->item]), bb_fmt_money(v, sizeof v, best_v), share);
    else
        add_finding(s, "Best seller in %s: %s, %s units (%s).", s->period[BB_SALES_CUR].label,
                 bb_intern_str(ds->item_names, ds->items.name[best->item]), bb_fmt_int(v, sizeof v, best_v), share);
}

static void finding_unsold(bb_sales *s)
{
    if (!s->period[BB_SALES_CUR].has_data || s->n_unsold == 0)
        return;
    char a[32], b[32];
    add_finding(s, "%s of %s items sold nothing in %s.", bb_fmt_int(a, sizeof a, (int64_t)s->n_unsold),
                 bb_fmt_int(b, sizeof b, (int64_t)s->n_items), s->period[BB_SALES_CUR].label);
}

static void finding_repeat(bb_sales *s)
{
    const bb_sales_kpi *k = &s->kpi[BB_KPI_REPEAT_RATE];
    if (!k->has[BB_SALES_CUR])
        return;
    char a[32], b[32], prev[96] = "";
    if (k->has[BB_SALES_PREV])
        snprintf(prev, sizeof prev, " (%s: %s)", s->period[BB_SALES_PREV].label,
                 bb_fmt_pct(b, sizeof b, k->value[BB_SALES_PREV], 1));
    add_finding(s, "%s of the customers of %s came more than once in it%s.",
                 bb_fmt_pct(a, sizeof a, k->value[BB_SALES_CUR], 1), s->period[BB_SALES_CUR].label, prev);
}

static void finding_staff(const bb_dataset *ds, bb_sales *s)
{
    if (!s->has_revenue || !s->period[BB_SALES_CUR].has_data)
        return;
    /* The employee with the most revenue in the period; ties by EmployeeID. */
    const bb_sales_staff *best = NULL;
    for (size_t i = 0; i < s->n_staff; i++) {
        const bb_sales_staff *st = &s->staff[i];
        if (st->employee == BB_UNKNOWN)
            continue;
        int64_t v = st->period_revenue_cents[BB_SALES_CUR];
        int64_t bv = best ? best->period_revenue_cents[BB_SALES_CUR] : 0;
        if (v > bv || (best && v == bv &&
                       strcmp(bb_intern_str(ds->employees, st->employee),
                              bb_intern_str(ds->employees, best->employee)) < 0))
            best = st;
    }
    if (!best)
        return;
    char v[48], share[32];
    add_finding(s, "%s took the most revenue in %s: %s (%s of it).",
                 bb_intern_str(ds->employees, best->employee), s->period[BB_SALES_CUR].label,
                 bb_fmt_money(v, sizeof v, best->period_revenue_cents[BB_SALES_CUR]),
                 bb_fmt_pct(share, sizeof share,
                            ratio((double)best->period_revenue_cents[BB_SALES_CUR],
                                  s->kpi[BB_KPI_REVENUE].value[BB_SALES_CUR]),
                            1));
}

static void finding_weekdays(bb_sales *s)
{
    static const char *const names[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
    int hi = -1, lo = -1;
    for (int k = 0; k < 7; k++) {
        double v = s->has_revenue ? s->weekdays[k].avg_revenue_cents : s->weekdays[k].avg_visits;
        if (isnan(v))
            continue;
        double vh = hi < 0 ? 0 : s->has_revenue ? s->weekdays[hi].avg_revenue_cents : s->weekdays[hi].avg_visits;
        double vl = lo < 0 ? 0 : s->has_revenue ? s->weekdays[lo].avg_revenue_cents : s->weekdays[lo].avg_visits;
        if (hi < 0 || v > vh)
            hi = k;
        if (lo < 0 || v < vl)
            lo = k;
    }
    if (hi < 0 || hi == lo)
        return;
    char a[48], b[48];
    if (s->has_revenue) {
        money_text(a, sizeof a, s->weekdays[hi].avg_revenue_cents);
        money_text(b, sizeof b, s->weekdays[lo].avg_revenue_cents);
        add_finding(s, "%s is the busiest day with %s of revenue on average, %s the quietest with %s.",
                 names[hi], a, names[lo], b);
    } else {
        bb_fmt_fixed(a, sizeof a, s->weekdays[hi].avg_visits, 1);
        bb_fmt_fixed(b, sizeof b, s->weekdays[lo].avg_visits, 1);
        add_finding(s, "%s is the busiest day with %s visits on average, %s the quietest with %s.",
                 names[hi], a, names[lo], b);
    }
}

static void finding_spend(bb_sales *s)
{
    if (!s->has_revenue || s->spend.n < 2)
        return;
    char a[48], b[48], c[48];
    money_text(a, sizeof a, s->spend.p50);
    money_text(b, sizeof b, s->spend.p90);
    money_text(c, sizeof c, s->visit_value.p50);
    add_finding(s, "Half of the customers spent more than %s in total, the top tenth more than %s; the median "
                 "customer's mean visit value is %s.",
                 a, b, c);
}

static void finding_retention(bb_sales *s)
{
    const bb_sales_cohorts *co = &s->cohorts;
    int64_t size0 = 0, act0 = 0, size1 = 0, act1 = 0;
    for (size_t c = 0; c < co->n_cohorts; c++) {
        if (co->active[c * co->n_offsets] >= 0)
            size0 += co->size[c], act0 += co->active[c * co->n_offsets];
        if (co->n_offsets > 1 && co->active[c * co->n_offsets + 1] >= 0)
            size1 += co->size[c], act1 += co->active[c * co->n_offsets + 1];
    }
    if (size0 == 0 || size1 == 0)
        return;
    char a[32], b[32];
    add_finding(s, "Of the customers who registered in the data's range, %s bought in their registration month "
                 "and %s in the month after.",
                 bb_fmt_pct(a, sizeof a, (double)act0 / (double)size0, 1),
                 bb_fmt_pct(b, sizeof b, (double)act1 / (double)size1, 1));
}

static void finding_list_price(bb_sales *s)
{
    if (isnan(s->paid_vs_list))
        return;
    char a[32];
    add_finding(s, "Customers paid %s of list prices overall (amounts paid against unit price x "
                                  "quantity).",
                 bb_fmt_pct(a, sizeof a, s->paid_vs_list, 1));
}

static void findings(const bb_dataset *ds, bb_sales *s)
{
    finding_headline(s);
    finding_categories(ds, s);
    finding_top_item(ds, s);
    finding_customers(s);
    finding_repeat(s);
    finding_unsold(s);
    finding_staff(ds, s);
    finding_weekdays(s);
    finding_spend(s);
    finding_retention(s);
    finding_list_price(s);
}

bb_err bb_sales_compute(const bb_dataset *ds, const bb_sales_opts *o, bb_sales **out)
{
    *out = NULL;
    bb_sales_opts def;
    bb_sales_defaults(&def);
    if (!o)
        o = &def;
    if ((unsigned)o->period > BB_PERIOD_QUARTER || o->top_n < 1 || o->top_n > 1000)
        return BB_ERR_CONFIG;
    if (ds->purchases.n > UINT32_MAX)
        return BB_ERR_NOMEM;
    bb_sales *s = calloc(1, sizeof *s);
    if (!s)
        return BB_ERR_NOMEM;
    s->opts = *o;
    s->has_revenue = ds->price_source != BB_PRICE_NONE;
    s->paid_prices = ds->price_source == BB_PRICE_TOTAL;
    s->has_quantity = ds->has_quantity;
    s->as_of = ds->as_of;
    s->first_day = ds->purchases.n ? ds->first_day : BB_DATE_NONE;
    s->last_day = ds->purchases.n ? ds->last_day : BB_DATE_NONE;
    set_periods(s, ds);

    work w = {.ds = ds, .s = s};
    w.n_customers = ds->customers.n;
    w.n_items = ds->items.n;
    w.n_employees = bb_intern_count(ds->employees);
    bb_err e = BB_ERR_NOMEM;
    if (ALLOC(w.cust, w.n_customers) || ALLOC(w.item, w.n_items) ||
        ALLOC(w.item_period_rev, (size_t)w.n_items * BB_SALES_NPERIODS) ||
        ALLOC(w.item_period_units, (size_t)w.n_items * BB_SALES_NPERIODS) ||
        ALLOC(w.staff, (size_t)w.n_employees + 1) || ALLOC(w.none_categories, bb_intern_count(ds->categories)))
        goto fail;
    for (uint32_t i = 0; i < w.n_items; i++)
        w.item[i].last_day = BB_DATE_NONE;
    for (uint32_t c = 0; c < w.n_customers; c++) {
        cust_state *cs = &w.cust[c];
        cs->last_day = cs->last_week = cs->last_month = BB_DATE_NONE;
        cs->cohort = -1;
    }
    w.use_mask = w.n_employees < MASK_EMPLOYEES;
    if (ds->purchases.n > 0) {
        w.d0 = ds->first_day;
        w.d1 = ds->as_of > ds->last_day ? ds->as_of : ds->last_day;
        if ((e = alloc_range(&w)) != BB_OK || (e = setup_cohorts(&w)) != BB_OK)
            goto fail;
        pass_rows(&w);
        if ((e = pass_days(&w)) != BB_OK || (e = pass_staff_customers(&w)) != BB_OK ||
            (e = retention(&s->cohorts)) != BB_OK)
            goto fail;
        trends(&w);
    }
    kpis(&w);
    if ((e = categories(&w)) != BB_OK || (e = items(&w)) != BB_OK || (e = customers(&w)) != BB_OK ||
        (e = staff(&w)) != BB_OK)
        goto fail;
    findings(ds, s);
    work_free(&w);
    *out = s;
    return BB_OK;
fail:
    work_free(&w);
    bb_sales_free(s);
    return e;
}

void bb_sales_free(bb_sales *s)
{
    if (!s)
        return;
    free(s->days);
    free(s->weeks);
    free(s->months);
    free(s->categories);
    free(s->subcategories);
    free(s->items);
    free(s->items_by_units);
    free(s->unsold);
    free(s->genders);
    free(s->zips);
    free(s->cohorts.month);
    free(s->cohorts.size);
    free(s->cohorts.active);
    free(s->cohorts.retention);
    free(s->staff);
    free(s);
}
