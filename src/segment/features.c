/*
 * features.c - one pass over the purchases in day order builds every
 * customer's visits; a second pass scales the selected features.
 */
#include "segment/features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/summary.h"
#include "util/date.h"

static const struct {
    const char *key, *label, *shortname;
    bb_seg_unit unit;
    bool log;
} features[BB_SEG_FEATURES] = {
    [BB_SEG_RECENCY] = {"recency", "Days since last visit", "Last visit", BB_SEG_UNIT_DAYS, true},
    [BB_SEG_FREQUENCY] = {"frequency", "Visits", "Visits", BB_SEG_UNIT_COUNT, true},
    [BB_SEG_MONETARY] = {"monetary", "Total spend", "Spend", BB_SEG_UNIT_MONEY, true},
    [BB_SEG_AVG_VISIT_VALUE] = {"avg_visit_value", "Average visit value", "Per visit", BB_SEG_UNIT_MONEY, true},
    [BB_SEG_MEAN_GAP] = {"mean_gap", "Mean days between visits", "Gap (days)", BB_SEG_UNIT_DAYS, true},
    [BB_SEG_LONGEST_STREAK] = {"longest_streak", "Longest run of months with a visit", "Streak (mo)",
                               BB_SEG_UNIT_MONTHS, true},
    [BB_SEG_SERVICE_SHARE] = {"service_share", "Share of spend on services", "Services", BB_SEG_UNIT_SHARE, false},
    [BB_SEG_TENURE] = {"tenure", "Days since first known", "Tenure", BB_SEG_UNIT_DAYS, false},
    [BB_SEG_UNITS_PER_VISIT] = {"units_per_visit", "Units per visit", "Units/visit", BB_SEG_UNIT_COUNT, true},
};

const char *bb_features_key(bb_seg_feature f)
{
    return (unsigned)f < BB_SEG_FEATURES ? features[f].key : "?";
}

const char *bb_features_label(bb_seg_feature f)
{
    return (unsigned)f < BB_SEG_FEATURES ? features[f].label : "?";
}

const char *bb_features_short(bb_seg_feature f)
{
    return (unsigned)f < BB_SEG_FEATURES ? features[f].shortname : "?";
}

bb_seg_unit bb_features_unit(bb_seg_feature f)
{
    return (unsigned)f < BB_SEG_FEATURES ? features[f].unit : BB_SEG_UNIT_COUNT;
}

unsigned bb_features_default_log(void)
{
    unsigned m = 0;
    for (int f = 0; f < BB_SEG_FEATURES; f++)
        if (features[f].log)
            m |= 1u << f;
    return m;
}

static int lower_ascii(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static bool same_ascii_nocase(const char *a, size_t n, const char *b)
{
    size_t m = strlen(b);
    if (n != m)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower_ascii((unsigned char)a[i]) != lower_ascii((unsigned char)b[i]))
            return false;
    return true;
}

bb_err bb_features_parse(const char *list, unsigned fallback, unsigned *mask, char *err, size_t errsize)
{
    if (err && errsize)
        err[0] = '\0';
    if (!list) {
        *mask = fallback;
        return BB_OK;
    }
    unsigned m = 0;
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        size_t n = (size_t)(end - start);
        if (n == 0)
            continue;
        if (same_ascii_nocase(start, n, "all")) {
            m |= BB_SEG_ALL_FEATURES;
        } else if (!same_ascii_nocase(start, n, "none")) {
            int f = 0;
            while (f < BB_SEG_FEATURES && !same_ascii_nocase(start, n, features[f].key))
                f++;
            if (f == BB_SEG_FEATURES) {
                if (err && errsize) {
                    int len = snprintf(err, errsize, "unknown feature \"%.*s\"; known:",
                                       (int)(n > 40 ? 40 : n), start);
                    for (int g = 0; g < BB_SEG_FEATURES && len >= 0 && (size_t)len < errsize; g++)
                        len += snprintf(err + len, errsize - (size_t)len, "%s %s", g ? "," : "", features[g].key);
                }
                return BB_ERR_CONFIG;
            }
            m |= 1u << f;
        }
    }
    *mask = m;
    return BB_OK;
}

/* Categories that are services: named "Service" or "Services", any case. */
static bb_err service_categories(const bb_dataset *ds, bool **out)
{
    uint32_t nc = bb_intern_count(ds->categories);
    bool *svc = calloc(nc ? nc : 1, sizeof *svc);
    if (!svc)
        return BB_ERR_NOMEM;
    for (uint32_t c = 0; c < nc; c++) {
        const char *s = bb_intern_str(ds->categories, c);
        size_t n = bb_intern_len(ds->categories, c);
        svc[c] = same_ascii_nocase(s, n, "service") || same_ascii_nocase(s, n, "services");
    }
    *out = svc;
    return BB_OK;
}

/* Per-customer state of the pass over purchases. */
typedef struct visit_state {
    int32_t first, last;       /* visit days, BB_DATE_NONE before the first */
    int32_t last_month;        /* month index of the last visit */
    int32_t streak, best_streak;
    int64_t visits, units, cents, service_cents, service_units;
} visit_state;

bb_err bb_features_compute(const bb_dataset *ds, double **raw, uint32_t *n_active)
{
    *raw = NULL;
    *n_active = 0;
    const bb_customers *cu = &ds->customers;
    const bb_purchases *p = &ds->purchases;
    uint32_t n = cu->n;
    double *out = malloc((size_t)(n ? n : 1) * BB_SEG_FEATURES * sizeof *out);
    visit_state *vs = malloc((size_t)(n ? n : 1) * sizeof *vs);
    uint32_t *order = NULL;
    bool *svc = NULL;
    bb_err e = out && vs ? BB_OK : BB_ERR_NOMEM;
    if (e == BB_OK)
        e = bb_purchases_by_day(ds, &order);
    if (e == BB_OK)
        e = service_categories(ds, &svc);
    if (e != BB_OK)
        goto fail;

    for (uint32_t c = 0; c < n; c++)
        vs[c] = (visit_state){.first = BB_DATE_NONE, .last = BB_DATE_NONE, .last_month = INT32_MIN};
    for (size_t k = 0; k < p->n; k++) {
        uint32_t i = order[k];
        uint32_t c = p->customer[i];
        if (c >= n)
            continue;
        visit_state *v = &vs[c];
        int32_t day = p->day[i];
        if (v->last != day) {
            if (v->first == BB_DATE_NONE)
                v->first = day;
            v->last = day;
            v->visits++;
            int32_t month = bb_date_month_index(day);
            if (month != v->last_month) {
                v->streak = month == v->last_month + 1 ? v->streak + 1 : 1;
                if (v->streak > v->best_streak)
                    v->best_streak = v->streak;
                v->last_month = month;
            }
        }
        v->units += p->quantity[i];
        v->cents += p->total_cents[i];
        uint32_t item = p->item[i];
        if (item < ds->items.n && ds->items.category[item] != BB_UNKNOWN &&
            ds->items.category[item] < bb_intern_count(ds->categories) && svc[ds->items.category[item]]) {
            v->service_cents += p->total_cents[i];
            v->service_units += p->quantity[i];
        }
    }

    bool prices = ds->price_source != BB_PRICE_NONE;
    int32_t as_of = ds->as_of;
    uint32_t active = 0;
    for (uint32_t c = 0; c < n; c++) {
        const visit_state *v = &vs[c];
        double *row = out + (size_t)c * BB_SEG_FEATURES;
        int32_t reg = cu->registered ? cu->registered[c] : BB_DATE_NONE;
        bool reg_known = reg != BB_DATE_NONE && reg <= as_of;
        for (int f = 0; f < BB_SEG_FEATURES; f++)
            row[f] = NAN;
        row[BB_SEG_FREQUENCY] = (double)v->visits;
        row[BB_SEG_MONETARY] = (double)v->cents / 100.0;
        row[BB_SEG_LONGEST_STREAK] = (double)v->best_streak;
        if (v->visits == 0) {
            if (reg_known)
                row[BB_SEG_TENURE] = (double)(as_of - reg);
            continue;
        }
        active++;
        int32_t since = reg_known && reg < v->first ? reg : v->first;
        row[BB_SEG_RECENCY] = (double)(as_of - v->last);
        row[BB_SEG_AVG_VISIT_VALUE] = row[BB_SEG_MONETARY] / (double)v->visits;
        row[BB_SEG_MEAN_GAP] = v->visits > 1 ? (double)(v->last - v->first) / (double)(v->visits - 1)
                                             : (double)(as_of - v->first);
        if (prices)
            row[BB_SEG_SERVICE_SHARE] = v->cents > 0 ? (double)v->service_cents / (double)v->cents : 0.0;
        else
            row[BB_SEG_SERVICE_SHARE] = v->units > 0 ? (double)v->service_units / (double)v->units : 0.0;
        row[BB_SEG_TENURE] = (double)(as_of - since);
        row[BB_SEG_UNITS_PER_VISIT] = (double)v->units / (double)v->visits;
    }
    free(vs);
    free(order);
    free(svc);
    *raw = out;
    *n_active = active;
    return BB_OK;
fail:
    free(out);
    free(vs);
    free(order);
    free(svc);
    return e;
}

double bb_features_scaled(const bb_seg_scale *s, double raw)
{
    double t = s->log1p ? log1p(raw) : raw;
    return s->sd > 0 ? (t - s->mean) / s->sd : 0.0;
}

bb_err bb_features_standardize(const double *raw, uint32_t n_customers, unsigned select_mask,
                               unsigned log_mask, bb_seg_scale scale[BB_SEG_FEATURES],
                               int dims[BB_SEG_FEATURES], int *n_dims, double **z, uint32_t **rows,
                               size_t *n_rows)
{
    *z = NULL;
    *rows = NULL;
    *n_rows = 0;
    *n_dims = 0;
    size_t m = 0;
    for (uint32_t c = 0; c < n_customers; c++)
        if (raw[(size_t)c * BB_SEG_FEATURES + BB_SEG_FREQUENCY] > 0)
            m++;
    uint32_t *r = malloc((m ? m : 1) * sizeof *r);
    if (!r)
        return BB_ERR_NOMEM;
    m = 0;
    for (uint32_t c = 0; c < n_customers; c++)
        if (raw[(size_t)c * BB_SEG_FEATURES + BB_SEG_FREQUENCY] > 0)
            r[m++] = c;

    int nd = 0;
    for (int f = 0; f < BB_SEG_FEATURES; f++) {
        bb_seg_scale *s = &scale[f];
        *s = (bb_seg_scale){.selected = (select_mask >> f) & 1u, .log1p = (log_mask >> f) & 1u};
        if (!s->selected || m == 0)
            continue;
        /* Two passes (mean, then squared deviations) in customer order. */
        double sum = 0.0, scale_abs = 0.0;
        for (size_t i = 0; i < m; i++) {
            double v = raw[(size_t)r[i] * BB_SEG_FEATURES + f];
            double t = s->log1p ? log1p(v) : v;
            sum += t;
            if (fabs(t) > scale_abs)
                scale_abs = fabs(t);
        }
        s->mean = sum / (double)m;
        double ss = 0.0;
        for (size_t i = 0; i < m; i++) {
            double v = raw[(size_t)r[i] * BB_SEG_FEATURES + f];
            double t = (s->log1p ? log1p(v) : v) - s->mean;
            ss += t * t;
        }
        s->sd = sqrt(ss / (double)m);
        s->used = isfinite(s->sd) && s->sd > 1e-9 * (scale_abs > 1.0 ? scale_abs : 1.0);
        if (s->used)
            dims[nd++] = f;
    }
    double *zz = malloc((m && nd ? m * (size_t)nd : 1) * sizeof *zz);
    if (!zz) {
        free(r);
        return BB_ERR_NOMEM;
    }
    for (size_t i = 0; i < m; i++)
        for (int d = 0; d < nd; d++)
            zz[i * (size_t)nd + (size_t)d] =
                bb_features_scaled(&scale[dims[d]], raw[(size_t)r[i] * BB_SEG_FEATURES + dims[d]]);
    *z = zz;
    *rows = r;
    *n_rows = m;
    *n_dims = nd;
    return BB_OK;
}
