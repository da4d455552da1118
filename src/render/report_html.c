/*
 * report_html.c - report.html: the report model as cJSON, rendered through
 * templates/report.html. One self-contained file: CSS in the template, the
 * charts' SVG inlined, no external requests. Every string from the data is
 * escaped by the template engine ({{name}}); only the SVG, which PLplot wrote
 * with its own escaping, goes in raw.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/report.h"
#include "render/section_changes.h"
#include "render/section_recs.h"
#include "render/section_sales.h"
#include "render/section_segments.h"
#include "render/template.h"
#include "util/buf.h"
#include "util/date.h"
#include "util/fmt.h"
#include "util/fs.h"

static void add_text(cJSON *o, const char *key, const char *v)
{
    cJSON_AddStringToObject(o, key, v ? v : "");
}

static void add_int(cJSON *o, const char *key, int64_t v)
{
    char b[32];
    add_text(o, key, bb_fmt_int(b, sizeof b, v));
}

static void add_money(cJSON *o, const char *key, int64_t cents)
{
    char b[40];
    add_text(o, key, bb_fmt_money(b, sizeof b, cents));
}

static cJSON *build_model(const bb_report *r, bb_log *log)
{
    const bb_summary *s = r->summary;
    const bb_dataset *ds = r->ds;
    cJSON *m = cJSON_CreateObject();
    char heading[512], d[11];
    bb_report_heading(r, heading, sizeof heading);
    add_text(m, "heading", heading);
    add_text(m, "version", r->version);
    add_text(m, "run_id", r->run_id);
    add_text(m, "as_of", r->as_of);
    add_text(m, "as_of_source", ds->as_of_derived ? "the last purchase date" : "configured");

    cJSON *sum = cJSON_AddObjectToObject(m, "summary");
    bb_date_format(s->first_day, d);
    add_text(sum, "first", d);
    bb_date_format(s->last_day, d);
    add_text(sum, "last", d);

    cJSON *tiles = cJSON_AddArrayToObject(m, "tiles");
    struct {
        const char *label;
        int64_t v;
        int money;
    } t[] = {
        {"Revenue", s->revenue_cents, 1},    {"Visits", s->visits, 0},
        {"Units sold", s->units, 0},         {"Purchase rows", (int64_t)s->purchases, 0},
        {"Customers", s->customers, 0},      {"Active customers", s->active_customers, 0},
        {"Items", s->items, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (t[i].money && ds->price_source == BB_PRICE_NONE)
            continue;
        cJSON *o = cJSON_CreateObject();
        add_text(o, "label", t[i].label);
        if (t[i].money)
            add_money(o, "value", t[i].v);
        else
            add_int(o, "value", t[i].v);
        cJSON_AddItemToArray(tiles, o);
    }

    cJSON *notes = cJSON_AddArrayToObject(m, "notes");
    if (ds->price_source == BB_PRICE_NONE)
        cJSON_AddItemToArray(notes, cJSON_CreateString("The purchases file has no prices: revenue is not reported."));
    else if (ds->price_source == BB_PRICE_LIST)
        cJSON_AddItemToArray(notes, cJSON_CreateString("The purchases file has no amounts paid: revenue is list price times quantity."));
    if (!ds->has_quantity)
        cJSON_AddItemToArray(notes, cJSON_CreateString("The purchases file has no quantities: every row counts as one unit."));
    if (ds->quality[BB_FILE_CUSTOMERS].derived)
        cJSON_AddItemToArray(notes, cJSON_CreateString("No customers file: customers are known by their IDs in purchases only."));
    if (ds->quality[BB_FILE_ITEMS].derived)
        cJSON_AddItemToArray(notes, cJSON_CreateString("No items file: items are known by their IDs in purchases only."));

    cJSON *charts = cJSON_AddArrayToObject(m, "charts");
    for (size_t i = 0; i < r->n_charts; i++) {
        /* Only the overview's own charts; the sections lay out theirs. */
        if (strncmp(r->charts[i].name, "sales_", 6) == 0 ||
            strncmp(r->charts[i].name, "segments_", 9) == 0 ||
            strncmp(r->charts[i].name, "recs_", 5) == 0)
            continue;
        char *svg = bb_report_inline_svg(r, r->charts[i].name);
        if (!svg)
            continue;
        cJSON *o = cJSON_CreateObject();
        add_text(o, "title", r->charts[i].title);
        add_text(o, "svg", svg);
        free(svg);
        cJSON_AddItemToArray(charts, o);
    }

    cJSON *months = cJSON_AddArrayToObject(m, "months");
    for (size_t i = 0; i < s->n_months; i++) {
        const bb_month *mo = &s->months[i];
        cJSON *o = cJSON_CreateObject();
        char label[16];
        snprintf(label, sizeof label, "%04d-%02d", mo->month / 12 % 10000, mo->month % 12 + 1);
        add_text(o, "month", label);
        add_money(o, "revenue", mo->revenue_cents);
        add_int(o, "visits", mo->visits);
        add_int(o, "customers", mo->customers);
        add_int(o, "units", mo->units);
        cJSON_AddItemToArray(months, o);
    }

    cJSON *files = cJSON_AddArrayToObject(m, "files");
    cJSON *reasons = cJSON_AddArrayToObject(m, "reasons");
    cJSON *inputs = cJSON_AddArrayToObject(m, "inputs");
    bool any_rejects = false;
    for (int f = 0; f < BB_FILE__COUNT; f++) {
        const bb_file_quality *q = &ds->quality[f];
        cJSON *o = cJSON_CreateObject();
        static const char *const roles[] = {"Customers", "Items", "Purchases"};
        add_text(o, "role", roles[f]);
        add_text(o, "name", q->name);
        cJSON_AddBoolToObject(o, "derived", q->derived);
        cJSON_AddBoolToObject(o, "has_rejects", q->rejected > 0);
        if (q->present) {
            add_int(o, "rows", (int64_t)q->rows);
            add_int(o, "accepted", (int64_t)q->accepted);
            add_int(o, "rejected", (int64_t)q->rejected);
            char b[32];
            add_text(o, "share", bb_fmt_pct(b, sizeof b, q->rows ? (double)q->rejected / (double)q->rows : 0, 2));
            cJSON *in = cJSON_CreateObject();
            add_text(in, "name", q->name);
            add_text(in, "sha256", q->sha256);
            cJSON_AddItemToArray(inputs, in);
        } else {
            add_text(o, "rows", "–");
            add_text(o, "accepted", "–");
            add_text(o, "rejected", "–");
            add_text(o, "share", "–");
        }
        cJSON_AddItemToArray(files, o);
        for (int k = 0; k < BB_REJ__COUNT; k++) {
            if (!q->by_reason[k])
                continue;
            any_rejects = true;
            cJSON *rr = cJSON_CreateObject();
            add_text(rr, "file", q->name);
            add_text(rr, "label", bb_reject_label((bb_reject_reason)k));
            add_int(rr, "count", (int64_t)q->by_reason[k]);
            cJSON_AddItemToArray(reasons, rr);
        }
    }
    cJSON_AddBoolToObject(m, "has_rejects", any_rejects);

    if (bb_section_sales_html(r, m, log) != BB_OK || bb_section_segments_html(r, m, log) != BB_OK ||
        bb_section_recs_html(r, m, log) != BB_OK || bb_section_changes_html(r, m) != BB_OK) {
        cJSON_Delete(m);
        return NULL;
    }

    /* Contents: the fixed sections and those whose stage added a model. */
    cJSON *toc = cJSON_AddArrayToObject(m, "toc");
    static const struct {
        const char *id, *title, *model_key;
    } sections[] = {
        {"summary", "Summary", NULL},        {"sales", "Sales", "sales"},
        {"segments", "Customer segments", "segments"}, {"recs", "Recommendations", "recs"},
        {"monthly", "Sales by month", NULL}, {"data-quality", "Data quality", NULL},
        {"about", "About this report", NULL},
    };
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        if (sections[i].model_key && !cJSON_GetObjectItemCaseSensitive(m, sections[i].model_key))
            continue;
        cJSON *o = cJSON_CreateObject();
        add_text(o, "id", sections[i].id);
        add_text(o, "title", sections[i].title);
        cJSON_AddItemToArray(toc, o);
    }
    cJSON_AddBoolToObject(m, "has_revenue", ds->price_source != BB_PRICE_NONE);
    return m;
}

/* Section partials: templates/<name>.html, included by report.html as {{>name}}. */
static const char *const partial_names[] = {"sales", "segments", "recs", "changes"};

static bb_err load_partials(const bb_report *r, cJSON **out, bb_log *log)
{
    *out = cJSON_CreateObject();
    if (!*out)
        return BB_ERR_NOMEM;
    for (size_t i = 0; i < sizeof partial_names / sizeof partial_names[0]; i++) {
        char file[64];
        snprintf(file, sizeof file, "%s.html", partial_names[i]);
        if (!bb_report_has_template(r, file))
            continue;
        char *text = NULL;
        bb_err e = bb_report_template(r, file, &text, log);
        if (e != BB_OK)
            return e;
        cJSON_AddStringToObject(*out, partial_names[i], text);
        free(text);
    }
    return BB_OK;
}

bb_err bb_report_html(const bb_report *r, bb_log *log)
{
    char *tpl = NULL;
    cJSON *partials = NULL;
    bb_err e = bb_report_template(r, "report.html", &tpl, log);
    if (e == BB_OK)
        e = load_partials(r, &partials, log);
    cJSON *model = e == BB_OK ? build_model(r, log) : NULL;
    bb_buf out;
    bb_buf_init(&out, (size_t)512 << 20);
    char err[512] = "";
    if (e == BB_OK && !model)
        e = BB_ERR_NOMEM;
    if (e == BB_OK)
        e = bb_tpl_render(tpl, strlen(tpl), model, partials, &out, err, sizeof err);
    if (e != BB_OK) {
        bb_error(log, "report.html: %s", err[0] ? err : bb_strerror(e));
    } else {
        char path[2048];
        snprintf(path, sizeof path, "%s/report.html", r->run_dir);
        e = bb_fs_write_file(path, out.data, out.len);
        if (e != BB_OK)
            bb_error(log, "cannot write %s", path);
    }
    bb_buf_free(&out);
    cJSON_Delete(model);
    cJSON_Delete(partials);
    free(tpl);
    return e;
}
