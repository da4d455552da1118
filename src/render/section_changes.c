/*
 * section_changes.c - "Since the previous run": KPI values of this run and
 * the previous one, items that entered or left the top list, and segment
 * migrations when the segmentation stage computed them. Laid out in the
 * PDF's summary, a workbook sheet "Changes" and the HTML summary.
 */
#include "render/section_changes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/changes.h"
#include "segment/segment.h"
#include "util/fmt.h"

static char *value_text(char *buf, size_t size, const bb_change_kpi *k, bool prev)
{
    bool has = prev ? k->has_prev : k->has_cur;
    double v = prev ? k->prev : k->cur;
    if (!has)
        return snprintf(buf, size, "–"), buf;
    switch (k->unit) {
    case BB_SALES_MONEY:
        return bb_fmt_money(buf, size, (int64_t)llround(v));
    case BB_SALES_RATIO:
        return bb_fmt_pct(buf, size, v, 1);
    default:
        return bb_fmt_int(buf, size, (int64_t)llround(v));
    }
}

/* Relative change for amounts, points for rates. */
static char *change_text(char *buf, size_t size, const bb_change_kpi *k)
{
    if (!k->has_prev || !k->has_cur)
        return snprintf(buf, size, "–"), buf;
    double d = k->cur - k->prev;
    char num[48];
    if (k->unit == BB_SALES_RATIO) {
        bb_fmt_fixed(num, sizeof num, fabs(d) * 100.0, 1);
        snprintf(buf, size, "%s%s pts", d > 0 ? "+" : d < 0 ? "-" : "", num);
    } else if (d == 0) {
        snprintf(buf, size, "no change");
    } else if (k->prev != 0) {
        bb_fmt_pct(num, sizeof num, fabs(d / k->prev), 1);
        snprintf(buf, size, "%s%s", d > 0 ? "+" : "-", num);
    } else {
        if (k->unit == BB_SALES_MONEY)
            bb_fmt_money(num, sizeof num, (int64_t)llround(fabs(d)));
        else
            bb_fmt_int(num, sizeof num, (int64_t)llround(fabs(d)));
        snprintf(buf, size, "%s%s", d > 0 ? "+" : "-", num);
    }
    return buf;
}

static const bb_seg_migrations *migrations(const bb_report *r)
{
    return r->segments ? r->segments->migrations : NULL;
}

/* The column names of the migration matrix: this run's segments, then the
 * no-purchase group. */
static const char *to_name(const bb_report *r, int j)
{
    return bb_segment_name(r->segments, j < r->segments->k ? j : BB_SEG_NONE);
}

static void intro(const bb_report *r, char *buf, size_t size)
{
    const bb_changes *c = r->changes;
    if (c->same_period)
        snprintf(buf, size,
                 "Compared with the previous run (as of %s, run %s). Both report on %s, so the KPI "
                 "figures differ only where the data changed.",
                 c->prev_as_of, c->prev_run_id, c->cur_period);
    else
        snprintf(buf, size, "Compared with the previous run (as of %s, run %s): %s then, %s now.",
                 c->prev_as_of, c->prev_run_id, c->prev_period, c->cur_period);
}

static void item_line(const bb_change_item *it, char *buf, size_t size)
{
    if (it->name[0])
        snprintf(buf, size, "%s (%s)", it->name, it->id);
    else
        snprintf(buf, size, "%s", it->id);
}

bb_err bb_section_changes_pdf(const bb_report *r, bb_pdf *pdf)
{
    const bb_changes *c = r->changes;
    if (!c || !c->has_previous)
        return BB_OK;
    char text[600];
    bb_err e = bb_pdf_heading(pdf, 2, "Since the previous run");
    intro(r, text, sizeof text);
    if (e == BB_OK)
        e = bb_pdf_paragraph(pdf, text);
    bb_pdf_column cols[] = {{"KPI", BB_PDF_LEFT, 2}, {"Previous run", BB_PDF_RIGHT, 1.2},
                            {"This run", BB_PDF_RIGHT, 1.2}, {"Change", BB_PDF_RIGHT, 1}};
    char cells[BB_KPI__COUNT][4][64];
    const char *ptr[BB_KPI__COUNT * 4];
    size_t rows = 0;
    for (size_t i = 0; i < c->n_kpi; i++) {
        const bb_change_kpi *k = &c->kpi[i];
        if (!k->has_prev && !k->has_cur)
            continue;
        snprintf(cells[rows][0], sizeof cells[rows][0], "%s", k->name);
        value_text(cells[rows][1], sizeof cells[rows][1], k, true);
        value_text(cells[rows][2], sizeof cells[rows][2], k, false);
        change_text(cells[rows][3], sizeof cells[rows][3], k);
        for (int j = 0; j < 4; j++)
            ptr[rows * 4 + (size_t)j] = cells[rows][j];
        rows++;
    }
    if (e == BB_OK && rows)
        e = bb_pdf_table(pdf, cols, 4, ptr, rows, false);
    const char *what = c->by_revenue ? "revenue" : "units";
    for (int pass = 0; pass < 2 && e == BB_OK; pass++) {
        const bb_change_item *list = pass ? c->left : c->entered;
        size_t n = pass ? c->n_left : c->n_entered;
        if (n == 0)
            continue;
        size_t len = (size_t)snprintf(text, sizeof text, "%s the top list by %s: ",
                                      pass ? "Left" : "New in", what);
        for (size_t i = 0; i < n && len < sizeof text; i++) {
            char item[300];
            item_line(&list[i], item, sizeof item);
            len += (size_t)snprintf(text + len, sizeof text - len, "%s%s", i ? "; " : "", item);
        }
        e = bb_pdf_paragraph(pdf, text);
    }
    if (e == BB_OK && c->n_entered == 0 && c->n_left == 0) {
        snprintf(text, sizeof text, "The top list by %s has the same items as in the previous run.", what);
        e = bb_pdf_paragraph(pdf, text);
    }
    const bb_seg_migrations *mg = migrations(r);
    if (e == BB_OK && mg) {
        char a[32], b[32], d[32], f[32];
        snprintf(text, sizeof text,
                 "Segments: %s of %s customers seen in both runs changed segment; %s customers are "
                 "new and %s are no longer in the data (the moves are in the segments chapter).",
                 bb_fmt_int(a, sizeof a, mg->moved), bb_fmt_int(b, sizeof b, mg->matched),
                 bb_fmt_int(d, sizeof d, mg->new_customers), bb_fmt_int(f, sizeof f, mg->gone));
        e = bb_pdf_paragraph(pdf, text);
    }
    return e;
}

bb_err bb_section_changes_xlsx(const bb_report *r, bb_xlsx *wb, bb_log *log)
{
    (void)log;
    const bb_changes *c = r->changes;
    if (!c || !c->has_previous)
        return BB_OK;
    bb_xlsx_col cols[] = {{"Item", BB_XCOL_TEXT, false, false},
                          {"Previous run", BB_XCOL_ANY, false, false},
                          {"This run", BB_XCOL_ANY, false, false},
                          {"Change", BB_XCOL_TEXT, false, true}};
    char title[700];
    intro(r, title, sizeof title);
    char full[800];
    snprintf(full, sizeof full, "Since the previous run\n%s", title);
    bb_xlsx_sheet *sh;
    bb_err e = bb_xlsx_list_begin(wb, "Changes", full, cols, 4, &sh);
    if (e == BB_OK)
        e = bb_xlsx_section(sh, "KPIs");
    for (size_t i = 0; i < c->n_kpi && e == BB_OK; i++) {
        const bb_change_kpi *k = &c->kpi[i];
        if (!k->has_prev && !k->has_cur)
            continue;
        e = bb_xlsx_text(sh, k->name);
        for (int pass = 0; pass < 2 && e == BB_OK; pass++) {
            bool has = pass ? k->has_cur : k->has_prev;
            double v = pass ? k->cur : k->prev;
            if (!has)
                e = bb_xlsx_text(sh, NULL);
            else if (k->unit == BB_SALES_MONEY)
                e = bb_xlsx_money(sh, (int64_t)llround(v));
            else if (k->unit == BB_SALES_RATIO)
                e = bb_xlsx_percent(sh, v);
            else
                e = bb_xlsx_int(sh, (int64_t)llround(v));
        }
        char ch[64];
        if (e == BB_OK)
            e = bb_xlsx_text(sh, change_text(ch, sizeof ch, k));
        if (e == BB_OK)
            e = bb_xlsx_row_end(sh);
    }
    for (int pass = 0; pass < 2 && e == BB_OK; pass++) {
        const bb_change_item *list = pass ? c->left : c->entered;
        size_t n = pass ? c->n_left : c->n_entered;
        e = bb_xlsx_section(sh, pass ? "Left the top list" : "New in the top list");
        for (size_t i = 0; i < n && e == BB_OK; i++) {
            e = bb_xlsx_text(sh, list[i].name[0] ? list[i].name : list[i].id);
            if (e == BB_OK)
                e = bb_xlsx_text(sh, list[i].id);
            if (e == BB_OK)
                e = bb_xlsx_row_end(sh);
        }
        if (e == BB_OK && n == 0) {
            e = bb_xlsx_text(sh, "none");
            if (e == BB_OK)
                e = bb_xlsx_row_end(sh);
        }
    }
    const bb_seg_migrations *mg = migrations(r);
    if (e == BB_OK && mg) {
        e = bb_xlsx_section(sh, "Segment migrations: previous segment, segment now, customers");
        int k = r->segments->k;
        for (int i = 0; i < mg->n_from && e == BB_OK; i++) {
            for (int j = 0; j <= k && e == BB_OK; j++) {
                uint32_t n = mg->counts[(size_t)i * (size_t)(k + 1) + (size_t)j];
                if (n == 0)
                    continue;
                e = bb_xlsx_text(sh, mg->from[i]);
                if (e == BB_OK)
                    e = bb_xlsx_text(sh, to_name(r, j));
                if (e == BB_OK)
                    e = bb_xlsx_int(sh, n);
                if (e == BB_OK)
                    e = bb_xlsx_row_end(sh);
            }
        }
    }
    if (e == BB_OK)
        e = bb_xlsx_sheet_end(sh, NULL);
    return e;
}

bb_err bb_section_changes_html(const bb_report *r, cJSON *model)
{
    const bb_changes *c = r->changes;
    if (!c || !c->has_previous)
        return BB_OK;
    cJSON *o = cJSON_AddObjectToObject(model, "changes");
    if (!o)
        return BB_ERR_NOMEM;
    char text[600];
    intro(r, text, sizeof text);
    cJSON_AddStringToObject(o, "intro", text);
    cJSON *kpis = cJSON_AddArrayToObject(o, "kpis");
    for (size_t i = 0; i < c->n_kpi; i++) {
        const bb_change_kpi *k = &c->kpi[i];
        if (!k->has_prev && !k->has_cur)
            continue;
        char a[64], b[64], d[64];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", k->name);
        cJSON_AddStringToObject(j, "prev", value_text(a, sizeof a, k, true));
        cJSON_AddStringToObject(j, "cur", value_text(b, sizeof b, k, false));
        cJSON_AddStringToObject(j, "change", change_text(d, sizeof d, k));
        cJSON_AddItemToArray(kpis, j);
    }
    for (int pass = 0; pass < 2; pass++) {
        const bb_change_item *list = pass ? c->left : c->entered;
        size_t n = pass ? c->n_left : c->n_entered;
        char joined[2048] = "";
        size_t len = 0;
        for (size_t i = 0; i < n && len < sizeof joined; i++) {
            char item[300];
            item_line(&list[i], item, sizeof item);
            len += (size_t)snprintf(joined + len, sizeof joined - len, "%s%s", i ? "; " : "", item);
        }
        cJSON_AddBoolToObject(o, pass ? "has_left" : "has_entered", n > 0);
        cJSON_AddStringToObject(o, pass ? "left_text" : "entered_text", joined);
    }
    cJSON_AddBoolToObject(o, "same_top", c->n_entered == 0 && c->n_left == 0);
    cJSON_AddStringToObject(o, "ranked_by", c->by_revenue ? "revenue" : "units");
    const bb_seg_migrations *mg = migrations(r);
    if (mg) {
        cJSON *m = cJSON_AddObjectToObject(o, "migrations");
        char a[32];
        cJSON_AddStringToObject(m, "moved", bb_fmt_int(a, sizeof a, mg->moved));
        cJSON_AddStringToObject(m, "matched", bb_fmt_int(a, sizeof a, mg->matched));
        cJSON_AddStringToObject(m, "new_customers", bb_fmt_int(a, sizeof a, mg->new_customers));
        cJSON_AddStringToObject(m, "gone", bb_fmt_int(a, sizeof a, mg->gone));
        int k = r->segments->k;
        cJSON *head = cJSON_AddArrayToObject(m, "columns");
        for (int j = 0; j <= k; j++)
            cJSON_AddItemToArray(head, cJSON_CreateString(to_name(r, j)));
        cJSON *rows = cJSON_AddArrayToObject(m, "rows");
        for (int i = 0; i < mg->n_from; i++) {
            cJSON *row = cJSON_CreateObject();
            cJSON_AddStringToObject(row, "from", mg->from[i]);
            cJSON *cells = cJSON_AddArrayToObject(row, "counts");
            for (int j = 0; j <= k; j++)
                cJSON_AddItemToArray(cells, cJSON_CreateString(
                                                bb_fmt_int(a, sizeof a, mg->counts[(size_t)i * (size_t)(k + 1) + (size_t)j])));
            cJSON_AddItemToArray(rows, row);
        }
    }
    return BB_OK;
}
