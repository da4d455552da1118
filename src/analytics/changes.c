#include "analytics/changes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"

static const char *const kpi_ids[BB_KPI__COUNT] = {
    [BB_KPI_REVENUE] = "revenue",
    [BB_KPI_VISITS] = "visits",
    [BB_KPI_UNITS] = "units",
    [BB_KPI_ACTIVE] = "active_customers",
    [BB_KPI_NEW] = "new_customers",
    [BB_KPI_AVG_VISIT] = "average_visit_value",
    [BB_KPI_REV_PER_CUSTOMER] = "revenue_per_customer",
    [BB_KPI_REPEAT_RATE] = "repeat_rate",
};

static const char *const unit_names[] = {"money", "count", "ratio"};

const char *bb_changes_kpi_id(bb_sales_kpi_id k)
{
    return (unsigned)k < BB_KPI__COUNT ? kpi_ids[k] : "";
}

/* The top list the report shows: by revenue, or by units without prices. */
static size_t top_list(const bb_sales *s, uint32_t *out, size_t max)
{
    size_t n = s->n_top < max ? s->n_top : max;
    for (size_t i = 0; i < n; i++)
        out[i] = s->has_revenue ? s->items[i].item : s->items[s->items_by_units[i]].item;
    return n;
}

bb_err bb_changes_manifest(const bb_sales *s, const bb_dataset *ds, cJSON *manifest)
{
    if (!s)
        return BB_OK;
    cJSON *o = cJSON_AddObjectToObject(manifest, "sales");
    if (!o)
        return BB_ERR_NOMEM;
    cJSON_AddStringToObject(o, "period", s->period[BB_SALES_CUR].label);
    cJSON_AddStringToObject(o, "ranked_by", s->has_revenue ? "revenue" : "units");
    cJSON *kpis = cJSON_AddArrayToObject(o, "kpis");
    for (int k = 0; k < BB_KPI__COUNT; k++) {
        const bb_sales_kpi *q = &s->kpi[k];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "id", kpi_ids[k]);
        cJSON_AddStringToObject(j, "name", q->name);
        cJSON_AddStringToObject(j, "unit", unit_names[q->unit]);
        if (q->known && q->has[BB_SALES_CUR])
            cJSON_AddNumberToObject(j, "value", q->value[BB_SALES_CUR]);
        else
            cJSON_AddNullToObject(j, "value");
        cJSON_AddItemToArray(kpis, j);
    }
    cJSON *top = cJSON_AddArrayToObject(o, "top_items");
    uint32_t ids[1024];
    size_t n = top_list(s, ids, sizeof ids / sizeof ids[0]);
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(top, cJSON_CreateString(bb_intern_str(ds->items.ids, ids[i])));
    return BB_OK;
}

void bb_changes_free(bb_changes *c)
{
    if (!c)
        return;
    free(c->entered);
    free(c->left);
    free(c);
}

static void set_item(bb_change_item *it, const bb_dataset *ds, const char *id)
{
    snprintf(it->id, sizeof it->id, "%s", id);
    uint32_t iid;
    it->name[0] = '\0';
    if (bb_intern_get(ds->items.ids, id, strlen(id), &iid))
        snprintf(it->name, sizeof it->name, "%s", bb_intern_str(ds->item_names, ds->items.name[iid]));
}

bb_err bb_changes_compute(const char *prev_run_dir, const bb_dataset *ds, const bb_sales *s,
                          bb_log *log, bb_changes **out)
{
    *out = NULL;
    bb_changes *c = calloc(1, sizeof *c);
    if (!c)
        return BB_ERR_NOMEM;
    if (!prev_run_dir || !s) {
        *out = c;
        return BB_OK;
    }
    char path[4200], *text = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/manifest.json", prev_run_dir);
    if (bb_fs_read_file(path, (size_t)64 << 20, &text, &len) != BB_OK) {
        bb_info(log, "no previous run to compare with (%s not readable)", path);
        *out = c;
        return BB_OK;
    }
    cJSON *m = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *sales = cJSON_GetObjectItemCaseSensitive(m, "sales");
    const cJSON *kpis = cJSON_GetObjectItemCaseSensitive(sales, "kpis");
    const cJSON *top = cJSON_GetObjectItemCaseSensitive(sales, "top_items");
    const cJSON *run_id = cJSON_GetObjectItemCaseSensitive(m, "run_id");
    const cJSON *as_of = cJSON_GetObjectItemCaseSensitive(m, "as_of");
    const cJSON *period = cJSON_GetObjectItemCaseSensitive(sales, "period");
    const cJSON *ranked = cJSON_GetObjectItemCaseSensitive(sales, "ranked_by");
    if (!cJSON_IsArray(kpis) || !cJSON_IsArray(top) || !cJSON_IsString(run_id) ||
        !cJSON_IsString(as_of) || !cJSON_IsString(period)) {
        bb_info(log, "the previous run's manifest has no sales figures: nothing to compare with");
        cJSON_Delete(m);
        *out = c;
        return BB_OK;
    }
    c->has_previous = true;
    snprintf(c->prev_run_id, sizeof c->prev_run_id, "%s", run_id->valuestring);
    snprintf(c->prev_as_of, sizeof c->prev_as_of, "%s", as_of->valuestring);
    snprintf(c->prev_period, sizeof c->prev_period, "%s", period->valuestring);
    snprintf(c->cur_period, sizeof c->cur_period, "%s", s->period[BB_SALES_CUR].label);
    c->same_period = strcmp(c->prev_period, c->cur_period) == 0;

    for (int k = 0; k < BB_KPI__COUNT; k++) {
        const bb_sales_kpi *q = &s->kpi[k];
        bb_change_kpi *ck = &c->kpi[c->n_kpi++];
        snprintf(ck->id, sizeof ck->id, "%s", kpi_ids[k]);
        snprintf(ck->name, sizeof ck->name, "%s", q->name);
        ck->unit = q->unit;
        ck->has_cur = q->known && q->has[BB_SALES_CUR];
        ck->cur = ck->has_cur ? q->value[BB_SALES_CUR] : NAN;
        ck->prev = NAN;
        const cJSON *j;
        cJSON_ArrayForEach(j, kpis)
        {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "value");
            if (cJSON_IsString(id) && strcmp(id->valuestring, kpi_ids[k]) == 0 && cJSON_IsNumber(v)) {
                ck->has_prev = true;
                ck->prev = v->valuedouble;
            }
        }
    }

    /* Top lists are comparable only when ranked the same way. */
    c->by_revenue = s->has_revenue;
    uint32_t cur[1024];
    size_t ncur = top_list(s, cur, sizeof cur / sizeof cur[0]);
    bool comparable = cJSON_IsString(ranked) &&
                      strcmp(ranked->valuestring, s->has_revenue ? "revenue" : "units") == 0;
    size_t nprev = comparable ? (size_t)cJSON_GetArraySize(top) : 0;
    c->entered = calloc(ncur ? ncur : 1, sizeof *c->entered);
    c->left = calloc(nprev ? nprev : 1, sizeof *c->left);
    if (!c->entered || !c->left) {
        cJSON_Delete(m);
        bb_changes_free(c);
        return BB_ERR_NOMEM;
    }
    if (comparable) {
        for (size_t i = 0; i < ncur; i++) {
            const char *id = bb_intern_str(ds->items.ids, cur[i]);
            bool was = false;
            const cJSON *j;
            cJSON_ArrayForEach(j, top) was |= cJSON_IsString(j) && strcmp(j->valuestring, id) == 0;
            if (!was)
                set_item(&c->entered[c->n_entered++], ds, id);
        }
        const cJSON *j;
        cJSON_ArrayForEach(j, top)
        {
            if (!cJSON_IsString(j))
                continue;
            bool is = false;
            for (size_t i = 0; i < ncur && !is; i++)
                is = strcmp(bb_intern_str(ds->items.ids, cur[i]), j->valuestring) == 0;
            if (!is)
                set_item(&c->left[c->n_left++], ds, j->valuestring);
        }
    }
    cJSON_Delete(m);
    *out = c;
    return BB_OK;
}
