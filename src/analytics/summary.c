#include "analytics/summary.h"

#include <stdlib.h>
#include <string.h>

#include "util/date.h"

bb_err bb_purchases_by_day(const bb_dataset *ds, uint32_t **order)
{
    *order = NULL;
    const bb_purchases *p = &ds->purchases;
    if (p->n > UINT32_MAX)
        return BB_ERR_NOMEM;
    uint32_t *out = malloc((p->n ? p->n : 1) * sizeof *out);
    if (!out)
        return BB_ERR_NOMEM;
    if (p->n == 0) {
        *order = out;
        return BB_OK;
    }
    size_t span = (size_t)(ds->last_day - ds->first_day) + 1;
    size_t *start = calloc(span + 1, sizeof *start);
    if (!start) {
        free(out);
        return BB_ERR_NOMEM;
    }
    for (size_t i = 0; i < p->n; i++)
        start[p->day[i] - ds->first_day + 1]++;
    for (size_t d = 0; d < span; d++)
        start[d + 1] += start[d];
    for (size_t i = 0; i < p->n; i++)
        out[start[p->day[i] - ds->first_day]++] = (uint32_t)i;
    free(start);
    *order = out;
    return BB_OK;
}

bb_err bb_summary_compute(const bb_dataset *ds, bb_summary *s)
{
    memset(s, 0, sizeof *s);
    const bb_purchases *p = &ds->purchases;
    s->customers = ds->customers.n;
    s->items = ds->items.n;
    s->employees = bb_intern_count(ds->employees);
    s->categories = bb_intern_count(ds->categories);
    s->subcategories = bb_intern_count(ds->subcategories);
    s->purchases = p->n;
    s->first_day = ds->first_day;
    s->last_day = ds->last_day;
    s->as_of = ds->as_of;
    if (p->n == 0)
        return BB_OK;

    int32_t m0 = bb_date_month_index(ds->first_day);
    int32_t m1 = bb_date_month_index(ds->last_day);
    s->n_months = (size_t)(m1 - m0 + 1);
    s->months = calloc(s->n_months, sizeof *s->months);
    uint32_t *order = NULL;
    int32_t *last_visit = malloc((ds->customers.n ? ds->customers.n : 1) * sizeof *last_visit);
    int32_t *last_month = malloc((ds->customers.n ? ds->customers.n : 1) * sizeof *last_month);
    bb_err e = s->months && last_visit && last_month ? bb_purchases_by_day(ds, &order) : BB_ERR_NOMEM;
    if (e != BB_OK)
        goto fail;
    for (size_t m = 0; m < s->n_months; m++)
        s->months[m].month = m0 + (int32_t)m;
    for (uint32_t c = 0; c < ds->customers.n; c++)
        last_visit[c] = last_month[c] = BB_DATE_NONE;

    int32_t cur_day = BB_DATE_NONE;
    int32_t cur_month = 0;
    for (size_t k = 0; k < p->n; k++) {
        uint32_t i = order[k];
        if (p->day[i] != cur_day) {
            cur_day = p->day[i];
            cur_month = bb_date_month_index(cur_day);
        }
        bb_month *mo = &s->months[cur_month - m0];
        uint32_t c = p->customer[i];
        mo->revenue_cents += p->total_cents[i];
        mo->units += p->quantity[i];
        mo->rows++;
        if (last_visit[c] != cur_day) {
            if (last_visit[c] == BB_DATE_NONE)
                s->active_customers++;
            last_visit[c] = cur_day;
            mo->visits++;
            if (last_month[c] != cur_month) {
                last_month[c] = cur_month;
                mo->customers++;
            }
        }
    }
    for (size_t m = 0; m < s->n_months; m++) {
        s->revenue_cents += s->months[m].revenue_cents;
        s->units += s->months[m].units;
        s->visits += s->months[m].visits;
    }
    free(order);
    free(last_visit);
    free(last_month);
    return BB_OK;
fail:
    free(order);
    free(last_visit);
    free(last_month);
    bb_summary_free(s);
    return e;
}

void bb_summary_free(bb_summary *s)
{
    if (!s)
        return;
    free(s->months);
    s->months = NULL;
    s->n_months = 0;
}
