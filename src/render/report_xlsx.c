/*
 * report_xlsx.c - workbook.xlsx: Summary, Monthly and Data Quality sheets
 * with a native chart of the monthly series on the Summary sheet.
 */
#include <stdio.h>
#include <string.h>

#include "render/report.h"
#include "render/section_changes.h"
#include "render/section_recs.h"
#include "render/section_sales.h"
#include "render/section_segments.h"
#include "render/xlsx.h"
#include "util/date.h"

static bb_err kv_int(bb_xlsx_sheet *s, const char *label, int64_t v, const char *note)
{
    bb_err e = bb_xlsx_text(s, label);
    if (e == BB_OK)
        e = bb_xlsx_int(s, v);
    if (e == BB_OK)
        e = bb_xlsx_text(s, note);
    return e == BB_OK ? bb_xlsx_row_end(s) : e;
}

static bb_err kv_text(bb_xlsx_sheet *s, const char *label, const char *v, const char *note)
{
    bb_err e = bb_xlsx_text(s, label);
    if (e == BB_OK)
        e = bb_xlsx_text(s, v);
    if (e == BB_OK)
        e = bb_xlsx_text(s, note);
    return e == BB_OK ? bb_xlsx_row_end(s) : e;
}

static bb_err kv_date(bb_xlsx_sheet *s, const char *label, int32_t day, const char *note)
{
    bb_err e = bb_xlsx_text(s, label);
    if (e == BB_OK)
        e = bb_xlsx_date(s, day);
    if (e == BB_OK)
        e = bb_xlsx_text(s, note);
    return e == BB_OK ? bb_xlsx_row_end(s) : e;
}

static bb_err monthly_sheet(const bb_report *r, bb_xlsx *wb, bb_xlsx_sheet **out)
{
    const bb_summary *s = r->summary;
    bool money = r->ds->price_source != BB_PRICE_NONE;
    bb_xlsx_col cols[] = {{"Month", BB_XCOL_DATE, false, false},
                          {"Revenue", BB_XCOL_MONEY, true, false},
                          {"Visits", BB_XCOL_INT, false, false},
                          {"Customers", BB_XCOL_INT, false, false},
                          {"Units", BB_XCOL_INT, false, false},
                          {"Purchase rows", BB_XCOL_INT, false, false}};
    bb_xlsx_sheet *sh;
    bb_err e = bb_xlsx_table_begin(wb, "Monthly", "Sales per calendar month\nA visit is all purchases of one customer on one day.",
                                   cols, 6, &sh);
    for (size_t i = 0; i < s->n_months && e == BB_OK; i++) {
        const bb_month *m = &s->months[i];
        e = bb_xlsx_date(sh, bb_date_month_start(m->month));
        if (e == BB_OK)
            e = money ? bb_xlsx_money(sh, m->revenue_cents) : bb_xlsx_text(sh, NULL);
        if (e == BB_OK)
            e = bb_xlsx_int(sh, m->visits);
        if (e == BB_OK)
            e = bb_xlsx_int(sh, m->customers);
        if (e == BB_OK)
            e = bb_xlsx_int(sh, m->units);
        if (e == BB_OK)
            e = bb_xlsx_int(sh, m->rows);
        if (e == BB_OK)
            e = bb_xlsx_row_end(sh);
    }
    if (e == BB_OK)
        e = bb_xlsx_sheet_end(sh, NULL);
    *out = sh;
    return e;
}

static bb_err quality_sheet(const bb_report *r, bb_xlsx *wb, bb_xlsx_sheet **out)
{
    const bb_dataset *ds = r->ds;
    bb_xlsx_col cols[] = {{"File", BB_XCOL_TEXT, false, false},    {"Input", BB_XCOL_TEXT, false, false},
                          {"Rows", BB_XCOL_INT, false, false},     {"Accepted", BB_XCOL_INT, false, false},
                          {"Rejected", BB_XCOL_INT, false, false}, {"Rejected share", BB_XCOL_PERCENT, false, false},
                          {"Note", BB_XCOL_TEXT, false, false}};
    bb_xlsx_sheet *sh;
    bb_err e = bb_xlsx_table_begin(wb, "Data Quality",
                                   "Data quality\nRejected rows are left out of every figure; each is listed in the run's quarantine folder.",
                                   cols, 7, &sh);
    static const char *const roles[] = {"Customers", "Items", "Purchases"};
    for (int f = 0; f < BB_FILE__COUNT && e == BB_OK; f++) {
        const bb_file_quality *q = &ds->quality[f];
        e = bb_xlsx_text(sh, q->name);
        if (e == BB_OK)
            e = bb_xlsx_text(sh, roles[f]);
        if (q->present) {
            if (e == BB_OK)
                e = bb_xlsx_int(sh, (int64_t)q->rows);
            if (e == BB_OK)
                e = bb_xlsx_int(sh, (int64_t)q->accepted);
            if (e == BB_OK)
                e = bb_xlsx_int(sh, (int64_t)q->rejected);
            if (e == BB_OK)
                e = bb_xlsx_percent(sh, q->rows ? (double)q->rejected / (double)q->rows : 0);
            char note[1200] = "";
            for (int k = 0; k < BB_REJ__COUNT; k++) {
                if (!q->by_reason[k])
                    continue;
                size_t n = strlen(note);
                snprintf(note + n, sizeof note - n, "%s%s: %llu", n ? "; " : "",
                         bb_reject_label((bb_reject_reason)k), (unsigned long long)q->by_reason[k]);
            }
            if (e == BB_OK)
                e = bb_xlsx_text(sh, note[0] ? note : "no rows rejected");
        } else {
            for (int k = 0; k < 4 && e == BB_OK; k++)
                e = bb_xlsx_text(sh, NULL);
            if (e == BB_OK)
                e = bb_xlsx_text(sh, q->derived ? "not found: derived from purchases (IDs only)" : "not found");
        }
        if (e == BB_OK)
            e = bb_xlsx_row_end(sh);
    }
    if (e == BB_OK)
        e = bb_xlsx_sheet_end(sh, NULL);
    *out = sh;
    return e;
}

bb_err bb_report_xlsx(const bb_report *r, bb_log *log)
{
    const bb_summary *s = r->summary;
    const bb_dataset *ds = r->ds;
    char heading[512], path[2600];
    bb_report_heading(r, heading, sizeof heading);
    snprintf(path, sizeof path, "%s/workbook.xlsx", r->run_dir);
    bb_xlsx_opts o = {
        .title = heading,
        .subject = "Sales, customers and data quality",
        .author = "bbreport",
        .company = r->business_name && r->business_name[0] ? r->business_name : NULL,
        .comments = "Written by bbreport; see the Summary sheet for the run.",
        .created_epoch = r->epoch,
        .log = log,
        /* Per-customer sheets (Customers, Segments' members, Recommendations)
         * grow with the customer base: stream them past a million cells. */
        .streaming = (uint64_t)ds->customers.n * 16 > BB_XLSX_STREAM_CELLS,
    };
    bb_xlsx *wb = NULL;
    bb_err e = bb_xlsx_new(&wb, path, &o);
    if (e != BB_OK) {
        bb_error(log, "cannot create %s", path);
        return e;
    }
    bb_xlsx_col cols[] = {{"Item", BB_XCOL_TEXT, false, false},
                          {"Value", BB_XCOL_ANY, false, false},
                          {"Note", BB_XCOL_TEXT, false, false}};
    bb_xlsx_sheet *sum, *monthly = NULL, *quality = NULL;
    char title[700];
    snprintf(title, sizeof title, "%s\nAs of %s · run %s", heading, r->as_of, r->run_id);
    e = bb_xlsx_list_begin(wb, "Summary", title, cols, 3, &sum);
    /* Sheets are created in reading order; the Summary links to them. */
    if (e == BB_OK && r->sales) {
        bb_section_sales_sheets sheets;
        e = bb_section_sales_xlsx_sheets(r, wb, log, &sheets);
        monthly = sheets.monthly;
    } else if (e == BB_OK) {
        e = monthly_sheet(r, wb, &monthly);
    }
    if (e == BB_OK)
        e = bb_section_changes_xlsx(r, wb, log);
    if (e == BB_OK)
        e = bb_section_segments_xlsx(r, wb, log);
    if (e == BB_OK)
        e = bb_section_recs_xlsx(r, wb, log);
    if (e == BB_OK)
        e = quality_sheet(r, wb, &quality);

    if (e == BB_OK)
        e = bb_xlsx_section(sum, "Period");
    if (e == BB_OK)
        e = kv_date(sum, "As-of date", ds->as_of, ds->as_of_derived ? "the last purchase date" : "configured");
    if (e == BB_OK)
        e = kv_date(sum, "First purchase", s->first_day, NULL);
    if (e == BB_OK)
        e = kv_date(sum, "Last purchase", s->last_day, NULL);
    if (e == BB_OK)
        e = bb_xlsx_section(sum, "Sales over the period");
    if (e == BB_OK && ds->price_source != BB_PRICE_NONE) {
        e = bb_xlsx_text(sum, "Revenue");
        if (e == BB_OK)
            e = bb_xlsx_money(sum, s->revenue_cents);
        if (e == BB_OK)
            e = bb_xlsx_text(sum, ds->price_source == BB_PRICE_LIST ? "list price x quantity" : "amounts paid");
        if (e == BB_OK)
            e = bb_xlsx_row_end(sum);
    }
    if (e == BB_OK)
        e = kv_int(sum, "Visits", s->visits, "purchases of one customer on one day");
    if (e == BB_OK)
        e = kv_int(sum, "Units sold", s->units, ds->has_quantity ? NULL : "no quantities: one unit per row");
    if (e == BB_OK)
        e = kv_int(sum, "Purchase rows", (int64_t)s->purchases, NULL);
    if (e == BB_OK)
        e = kv_int(sum, "Customers", s->customers,
                   ds->quality[BB_FILE_CUSTOMERS].derived ? "derived from purchases" : NULL);
    if (e == BB_OK)
        e = kv_int(sum, "Customers with purchases", s->active_customers, NULL);
    if (e == BB_OK)
        e = kv_int(sum, "Items", s->items, ds->quality[BB_FILE_ITEMS].derived ? "derived from purchases" : NULL);
    /* A link to every other sheet, with what it holds. */
    static const struct {
        const char *name, *about;
    } about[] = {
        {"KPIs", "the last complete period against the one before and a year earlier"},
        {"Monthly", "revenue, visits and units per month, with the year before"},
        {"Weekly", "revenue, visits and units per week"},
        {"Daily", "revenue per day with 7- and 28-day averages"},
        {"Categories", "revenue and units by category"},
        {"Subcategories", "revenue and units by category and subcategory"},
        {"Items", "every item ranked by revenue and by units, realised against list price"},
        {"Customer Profile", "spending distributions, age bands, gender, zip codes, reach"},
        {"Staff", "revenue, services and customers per employee"},
        {"Cohorts", "registration cohorts by months since registration"},
        {"Changes", "since the previous run: KPIs, top items, segment moves"},
        {"Segments", "segment profiles, sizes and actions"},
        {"Segment k", "inertia and quality scores for each number of segments"},
        {"Customers", "every customer with behaviour, segment and distance to its centre"},
        {"Recommendations", "the top items for every customer, with reasons"},
        {"Recommender Models", "each model's validation and test metrics against popularity"},
        {"Data Quality", "rows read, accepted and rejected per input file"},
    };
    if (e == BB_OK)
        e = bb_xlsx_section(sum, "Sheets");
    for (size_t i = 0; i < bb_xlsx_sheet_count(wb) && e == BB_OK; i++) {
        const bb_xlsx_sheet *sh = bb_xlsx_sheet_at(wb, i);
        if (sh == sum)
            continue;
        const char *name = bb_xlsx_sheet_name(sh), *note = NULL;
        for (size_t k = 0; k < sizeof about / sizeof about[0] && !note; k++)
            if (strcmp(about[k].name, name) == 0)
                note = about[k].about;
        e = bb_xlsx_link_sheet(sum, sh, name);
        if (e == BB_OK)
            e = bb_xlsx_text(sum, NULL);
        if (e == BB_OK)
            e = bb_xlsx_text(sum, note);
        if (e == BB_OK)
            e = bb_xlsx_row_end(sum);
    }
    if (e == BB_OK)
        e = bb_xlsx_section(sum, "Run");
    if (e == BB_OK)
        e = kv_text(sum, "Run id", r->run_id, "same inputs and settings, same id");
    if (e == BB_OK)
        e = kv_text(sum, "Program", "bbreport", r->version);
    if (e == BB_OK) {
        char seed[32];
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)r->seed);
        e = kv_text(sum, "Seed", seed, "every random choice draws from it");
    }
    if (e == BB_OK)
        e = bb_xlsx_sheet_end(sum, NULL);

    if (e == BB_OK && s->n_months > 0) {
        int value_col = ds->price_source != BB_PRICE_NONE ? 1 : 4;
        bb_xlsx_chart ch = {
            .type = BB_XCHART_COLUMN,
            .title = value_col == 1 ? "Revenue per month" : "Units sold per month",
            .cat_title = "Month",
            .value_title = value_col == 1 ? "Revenue" : "Units",
            .data = monthly,
            .cat_col = 0,
            .value_cols = &value_col,
            .n_values = 1,
            .at = sum,
            .at_row = 1,
            .at_col = 4,
            .width_px = 720,
            .height_px = 360,
        };
        e = bb_xlsx_chart_add(wb, &ch);
    }
    if (e != BB_OK) {
        bb_error(log, "workbook.xlsx: %s", bb_strerror(e));
        bb_xlsx_free(wb);
        return e;
    }
    e = bb_xlsx_close(wb);
    if (e != BB_OK)
        bb_error(log, "cannot write %s: %s", path, bb_strerror(e));
    return e;
}
