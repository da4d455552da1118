/*
 * report_pdf.c - report.pdf: the report model laid out with the PDF layer.
 * Sections: cover, contents, summary, sales by month, data quality, about.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/pdf.h"
#include "render/report.h"
#include "render/section_changes.h"
#include "render/section_recs.h"
#include "render/section_sales.h"
#include "render/section_segments.h"
#include "util/buf.h"
#include "util/date.h"
#include "util/fmt.h"

typedef bb_pdf_cells cells;

static bb_err cell_int(cells *c, int64_t v)
{
    char b[32];
    return bb_pdf_cells_add(c, bb_fmt_int(b, sizeof b, v));
}

static bb_err cell_money(cells *c, int64_t cents)
{
    char b[40];
    return bb_pdf_cells_add(c, bb_fmt_money(b, sizeof b, cents));
}

static bb_err summary_section(const bb_report *r, bb_pdf *pdf)
{
    const bb_summary *s = r->summary;
    const bb_dataset *ds = r->ds;
    char v[8][48];
    bb_pdf_kpi k[8];
    size_t n = 0;
    if (ds->price_source != BB_PRICE_NONE) {
        k[n] = (bb_pdf_kpi){"Revenue", bb_fmt_money(v[n], sizeof v[n], s->revenue_cents), NULL, 0};
        n++;
    }
    k[n] = (bb_pdf_kpi){"Visits", bb_fmt_int(v[n], sizeof v[n], s->visits), NULL, 0};
    n++;
    k[n] = (bb_pdf_kpi){"Units sold", bb_fmt_int(v[n], sizeof v[n], s->units), NULL, 0};
    n++;
    if (ds->price_source != BB_PRICE_NONE && s->visits > 0) {
        int64_t avg = (s->revenue_cents + s->visits / 2) / s->visits;
        k[n] = (bb_pdf_kpi){"Average visit value", bb_fmt_money(v[n], sizeof v[n], avg), NULL, 0};
        n++;
    }
    k[n] = (bb_pdf_kpi){"Customers", bb_fmt_int(v[n], sizeof v[n], s->customers), NULL, 0};
    n++;
    k[n] = (bb_pdf_kpi){"Active customers", bb_fmt_int(v[n], sizeof v[n], s->active_customers), NULL, 0};
    n++;
    k[n] = (bb_pdf_kpi){"Items", bb_fmt_int(v[n], sizeof v[n], s->items), NULL, 0};
    n++;

    bb_err e = bb_pdf_heading(pdf, 1, "Summary");
    if (e == BB_OK && r->sales) {
        /* KPIs of the last complete period with their changes, and findings. */
        e = bb_section_sales_summary_pdf(r, pdf);
    } else if (e == BB_OK) {
        char first[11], last[11], text[512];
        bb_date_format(s->first_day, first);
        bb_date_format(s->last_day, last);
        snprintf(text, sizeof text,
                 "This report covers %s purchase rows from %s to %s, as of %s. Figures are for the "
                 "whole period.",
                 bb_fmt_int(v[7], sizeof v[7], (int64_t)s->purchases), first, last, r->as_of);
        e = bb_pdf_paragraph(pdf, text);
        if (e == BB_OK)
            e = bb_pdf_kpis(pdf, k, n);
    }
    if (e == BB_OK)
        e = bb_section_changes_pdf(r, pdf);
    if (e == BB_OK && ds->price_source == BB_PRICE_NONE)
        e = bb_pdf_note(pdf, "The purchases file has no prices: revenue is not reported.");
    if (e == BB_OK && ds->price_source == BB_PRICE_LIST)
        e = bb_pdf_note(pdf, "The purchases file has no amounts paid: revenue is list price times quantity.");
    if (e == BB_OK && !ds->has_quantity)
        e = bb_pdf_note(pdf, "The purchases file has no quantities: every row counts as one unit.");
    if (e == BB_OK && ds->quality[BB_FILE_CUSTOMERS].derived)
        e = bb_pdf_note(pdf, "No customers file: customers are known by their IDs in purchases only.");
    if (e == BB_OK && ds->quality[BB_FILE_ITEMS].derived)
        e = bb_pdf_note(pdf, "No items file: items are known by their IDs in purchases only.");
    return e;
}

static bb_err monthly_section(const bb_report *r, bb_pdf *pdf)
{
    const bb_summary *s = r->summary;
    bool money = r->ds->price_source != BB_PRICE_NONE;
    bb_err e = bb_pdf_heading(pdf, 1, "Sales by month");
    const bb_report_chart *ch = r->n_charts ? &r->charts[0] : NULL;
    if (e == BB_OK && ch) {
        char path[2600];
        snprintf(path, sizeof path, "%s/%s", r->run_dir, ch->png);
        e = bb_pdf_image(pdf, path, ch->title, 0);
    }
    /* Without prices the revenue column is left out rather than shown empty. */
    bb_pdf_column all_cols[] = {{"Month", BB_PDF_LEFT, 1.2}, {"Revenue", BB_PDF_RIGHT, 1.5},
                                {"Visits", BB_PDF_RIGHT, 1},  {"Customers", BB_PDF_RIGHT, 1},
                                {"Units", BB_PDF_RIGHT, 1}};
    bb_pdf_column cols[5];
    size_t ncols = 0;
    for (size_t i = 0; i < 5; i++)
        if (money || i != 1)
            cols[ncols++] = all_cols[i];
    cells c = {0};
    int64_t revenue = 0, visits = 0, units = 0;
    for (size_t i = 0; i < s->n_months && e == BB_OK; i++) {
        const bb_month *m = &s->months[i];
        char label[16];
        snprintf(label, sizeof label, "%04d-%02d", m->month / 12 % 10000, m->month % 12 + 1);
        e = bb_pdf_cells_add(&c, label);
        if (e == BB_OK && money)
            e = cell_money(&c, m->revenue_cents);
        if (e == BB_OK)
            e = cell_int(&c, m->visits);
        if (e == BB_OK)
            e = cell_int(&c, m->customers);
        if (e == BB_OK)
            e = cell_int(&c, m->units);
        revenue += m->revenue_cents, visits += m->visits, units += m->units;
    }
    if (e == BB_OK)
        e = bb_pdf_cells_add(&c, "Total");
    if (e == BB_OK && money)
        e = cell_money(&c, revenue);
    if (e == BB_OK)
        e = cell_int(&c, visits);
    if (e == BB_OK)
        e = cell_int(&c, s->active_customers);
    if (e == BB_OK)
        e = cell_int(&c, units);
    if (e == BB_OK)
        e = bb_pdf_cells_table(pdf, cols, ncols, &c, true);
    if (e == BB_OK)
        e = bb_pdf_note(pdf, "A visit is all purchases of one customer on one day. Customers per "
                             "month counts each customer once; the total counts each once over the period.");
    bb_pdf_cells_free(&c);
    return e;
}

static bb_err quality_section(const bb_report *r, bb_pdf *pdf)
{
    const bb_dataset *ds = r->ds;
    bb_err e = bb_pdf_heading(pdf, 1, "Data quality");
    uint64_t rejected = 0;
    for (int f = 0; f < BB_FILE__COUNT; f++)
        rejected += ds->quality[f].rejected;
    if (e == BB_OK) {
        char text[512], n[32];
        if (rejected == 0)
            snprintf(text, sizeof text, "Every row of the input files was read and accepted.");
        else
            snprintf(text, sizeof text,
                     "%s input rows were rejected and left out of every figure in this report. "
                     "Each is listed with its line, column and reason in the quarantine folder of "
                     "this run.",
                     bb_fmt_int(n, sizeof n, (int64_t)rejected));
        e = bb_pdf_paragraph(pdf, text);
    }
    bb_pdf_column cols[] = {{"Input", BB_PDF_LEFT, 1},    {"File", BB_PDF_LEFT, 2.2},
                            {"Rows", BB_PDF_RIGHT, 1},    {"Accepted", BB_PDF_RIGHT, 1},
                            {"Rejected", BB_PDF_RIGHT, 1}, {"Share", BB_PDF_RIGHT, 0.9}};
    static const char *const roles[] = {"Customers", "Items", "Purchases"};
    cells c = {0};
    for (int f = 0; f < BB_FILE__COUNT && e == BB_OK; f++) {
        const bb_file_quality *q = &ds->quality[f];
        e = bb_pdf_cells_add(&c, roles[f]);
        if (e == BB_OK)
            e = bb_pdf_cells_add(&c, q->present ? q->name : q->derived ? "none (derived)" : "none");
        if (q->present) {
            char pct[32];
            if (e == BB_OK)
                e = cell_int(&c, (int64_t)q->rows);
            if (e == BB_OK)
                e = cell_int(&c, (int64_t)q->accepted);
            if (e == BB_OK)
                e = cell_int(&c, (int64_t)q->rejected);
            if (e == BB_OK)
                e = bb_pdf_cells_add(&c, bb_fmt_pct(pct, sizeof pct, q->rows ? (double)q->rejected / (double)q->rows : 0, 2));
        } else {
            for (int k = 0; k < 4 && e == BB_OK; k++)
                e = bb_pdf_cells_add(&c, "–");
        }
    }
    if (e == BB_OK)
        e = bb_pdf_cells_table(pdf, cols, 6, &c, false);
    bb_pdf_cells_free(&c);

    if (e == BB_OK && rejected > 0) {
        cells rc = {0};
        size_t rows = 0;
        for (int f = 0; f < BB_FILE__COUNT && e == BB_OK; f++) {
            const bb_file_quality *q = &ds->quality[f];
            for (int k = 0; k < BB_REJ__COUNT && e == BB_OK; k++) {
                if (!q->by_reason[k])
                    continue;
                e = bb_pdf_cells_add(&rc, q->name);
                if (e == BB_OK)
                    e = bb_pdf_cells_add(&rc, bb_reject_label((bb_reject_reason)k));
                if (e == BB_OK)
                    e = cell_int(&rc, (int64_t)q->by_reason[k]);
                rows++;
            }
        }
        bb_pdf_column rcols[] = {{"File", BB_PDF_LEFT, 2}, {"Reason", BB_PDF_LEFT, 2}, {"Rows", BB_PDF_RIGHT, 1}};
        if (e == BB_OK)
            e = bb_pdf_heading(pdf, 2, "Rejected rows by reason");
        if (e == BB_OK)
            e = bb_pdf_cells_table(pdf, rcols, 3, &rc, false);
        bb_pdf_cells_free(&rc);
    }
    return e;
}

/* How the figures are made, in a few lines a reader can check them against. */
static bb_err methods_section(const bb_report *r, bb_pdf *pdf)
{
    bb_err e = bb_pdf_heading(pdf, 1, "Methods");
    const char *items[8];
    size_t n = 0;
    items[n++] = "Input: every row is checked (field count, UTF-8, types, ranges, known IDs, unique IDs); "
                 "a row that fails is left out of every figure and listed in the quarantine folder.";
    items[n++] = "Visits: all purchases of one customer on one day are one visit. Units are the sum of "
                 "quantities; revenue is the amount paid (or list price x quantity when the export has "
                 "no amounts).";
    if (r->sales)
        items[n++] = "KPIs compare the last complete period before the as-of date with the one before "
                     "and the same period a year earlier; rates change in percentage points.";
    if (r->segments)
        items[n++] = "Segments: k-means (k-means++ seeding, 10 restarts, the lowest inertia kept) on "
                     "standardized behavioural features, skewed ones log-transformed; segments are named "
                     "by rules on their profiles and keep last night's name when most of their customers "
                     "had it.";
    if (r->recs)
        items[n++] = "Recommendations: every model learns from purchases before a validation period, is "
                     "chosen on it, and is measured on the last days before the as-of date, which it has "
                     "not seen; a model serves only when clearly better than recommending the most "
                     "popular items.";
    items[n++] = "Every random choice draws from the run's seed: the same input and settings give the "
                 "same report.";
    if (e == BB_OK)
        e = bb_pdf_bullets(pdf, items, n);
    return e;
}

static bb_err about_section(const bb_report *r, bb_pdf *pdf)
{
    const bb_dataset *ds = r->ds;
    bb_err e = bb_pdf_heading(pdf, 1, "About this report");
    char text[1024];
    if (e == BB_OK) {
        snprintf(text, sizeof text,
                 "As-of date %s (%s). Run %s, made by bbreport %s from the files in %s with seed %llu. "
                 "The same input files and settings give the same run id and the same report; every "
                 "setting is recorded in the run's manifest.json.",
                 r->as_of, ds->as_of_derived ? "the last purchase date" : "configured", r->run_id,
                 r->version, r->data_dir, (unsigned long long)r->seed);
        e = bb_pdf_paragraph(pdf, text);
    }
    cJSON *libs = bb_report_library_versions();
    if (e == BB_OK && libs) {
        size_t len = (size_t)snprintf(text, sizeof text, "Libraries:");
        const cJSON *l;
        cJSON_ArrayForEach(l, libs)
        {
            if (cJSON_IsString(l) && len < sizeof text)
                len += (size_t)snprintf(text + len, sizeof text - len, "%s %s", len > 10 ? "," : "",
                                        l->valuestring);
        }
        e = bb_pdf_note(pdf, text);
    }
    cJSON_Delete(libs);
    for (int f = 0; f < BB_FILE__COUNT && e == BB_OK; f++) {
        const bb_file_quality *q = &ds->quality[f];
        if (!q->present)
            continue;
        char size[32];
        snprintf(text, sizeof text, "%s: %s, SHA-256 %s", q->name, bb_fmt_bytes(size, sizeof size, q->bytes),
                 q->sha256);
        e = bb_pdf_note(pdf, text);
    }
    return e;
}

bb_err bb_report_pdf(const bb_report *r, bb_log *log)
{
    char heading[512], header_right[64], first[11], last[11];
    bb_report_heading(r, heading, sizeof heading);
    snprintf(header_right, sizeof header_right, "As of %s", r->as_of);
    bb_date_format(r->summary->first_day, first);
    bb_date_format(r->summary->last_day, last);
    bb_pdf_opts o = {
        .title = heading,
        .subject = "Sales, customers and data quality",
        .author = r->business_name && r->business_name[0] ? r->business_name : NULL,
        .header_right = header_right,
        .epoch = r->epoch,
        .toc = true,
    };
    bb_pdf *pdf = NULL;
    bb_err e = bb_pdf_new(&pdf, &o);
    if (e != BB_OK) {
        bb_error(log, "report.pdf: %s", pdf ? bb_pdf_last_error(pdf) : bb_strerror(e));
        bb_pdf_free(pdf);
        return e;
    }
    char l0[64], l1[96], l2[64], l3[64];
    snprintf(l0, sizeof l0, "As of %s", r->as_of);
    snprintf(l1, sizeof l1, "Purchases from %s to %s", first, last);
    snprintf(l2, sizeof l2, "Run %s", r->run_id);
    snprintf(l3, sizeof l3, "bbreport %s", r->version);
    const char *lines[] = {l0, l1, l2, l3};
    e = bb_pdf_cover(pdf, r->title, r->business_name && r->business_name[0] ? r->business_name : NULL,
                     lines, 4);
    if (e == BB_OK)
        e = summary_section(r, pdf);
    /* The sales chapter has the monthly figures; without it, this overview. */
    if (e == BB_OK)
        e = r->sales ? bb_section_sales_pdf(r, pdf) : monthly_section(r, pdf);
    if (e == BB_OK)
        e = bb_section_segments_pdf(r, pdf);
    if (e == BB_OK)
        e = bb_section_recs_pdf(r, pdf);
    if (e == BB_OK)
        e = quality_section(r, pdf);
    if (e == BB_OK)
        e = methods_section(r, pdf);
    if (e == BB_OK)
        e = about_section(r, pdf);
    char path[2600];
    snprintf(path, sizeof path, "%s/report.pdf", r->run_dir);
    if (e == BB_OK)
        e = bb_pdf_save(pdf, path);
    if (e != BB_OK)
        bb_error(log, "report.pdf: %s", bb_pdf_last_error(pdf)[0] ? bb_pdf_last_error(pdf) : bb_strerror(e));
    bb_pdf_free(pdf);
    return e;
}
