/*
 * report_charts.c - the report's charts, drawn once into charts/ as PNG (for
 * the PDF and the workbook) and SVG (for the HTML report).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/chart.h"
#include "render/report.h"
#include "render/section_recs.h"
#include "render/section_sales.h"
#include "render/section_segments.h"
#include "util/fs.h"

bb_err bb_report_charts(bb_report *r, bb_log *log)
{
    const bb_summary *s = r->summary;
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/charts", r->run_dir);
    if (bb_fs_mkdirs(dir) != BB_OK) {
        bb_error(log, "cannot create %s", dir);
        return BB_ERR_CANTCREAT;
    }
    r->n_charts = 0;

    size_t n = s->n_months;
    double *values = calloc(n ? n : 1, sizeof *values);
    char (*labels)[16] = calloc(n ? n : 1, sizeof *labels);
    const char **label_ptrs = calloc(n ? n : 1, sizeof *label_ptrs);
    bb_err e = values && labels && label_ptrs ? BB_OK : BB_ERR_NOMEM;
    if (e != BB_OK)
        goto done;

    bool money = r->ds->price_source != BB_PRICE_NONE;
    for (size_t i = 0; i < n; i++) {
        const bb_month *m = &s->months[i];
        snprintf(labels[i], sizeof labels[i], "%04d-%02d", m->month / 12 % 10000, m->month % 12 + 1);
        label_ptrs[i] = labels[i];
        values[i] = money ? (double)m->revenue_cents / 100.0 : (double)m->units;
    }
    const char *title = money ? "Revenue per month" : "Units sold per month";
    char png[2600], svg[2600];
    if (!bb_report_add_chart(r, money ? "monthly_revenue" : "monthly_units", title, png, svg, sizeof png)) {
        e = BB_ERR_INTERNAL;
        goto done;
    }
    bb_chart_series series = {.name = money ? "Revenue" : "Units", .values = values, .n = n};
    bb_chart charts[] = {{
        .kind = BB_CHART_BARS,
        .title = title,
        .x_label = "Month",
        .y_label = money ? "Revenue" : "Units",
        .categories = label_ptrs,
        .n_categories = n,
        .series = &series,
        .n_series = 1,
        .value_format = money ? BB_AXIS_MONEY : BB_AXIS_NUMBER,
        .png_path = png,
        .svg_path = svg,
    }};
    char err[1024] = "";
    e = bb_chart_render(charts, sizeof charts / sizeof charts[0], err, sizeof err);
    if (e != BB_OK)
        bb_error(log, "charts: %s", err);
    else if (err[0])
        bb_warn(log, "charts: %s", err);
    if (e == BB_OK)
        e = bb_section_sales_charts(r, log);
    if (e == BB_OK)
        e = bb_section_segments_charts(r, log);
    if (e == BB_OK)
        e = bb_section_recs_charts(r, log);
done:
    free(values);
    free(labels);
    free(label_ptrs);
    return e;
}
