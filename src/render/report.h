/*
 * report.h - the report model and the renderers that lay it out.
 *
 * bb_report holds everything a reader sees, already computed by the stages
 * (dataset quality, summary, ...); renderers only lay it out and never
 * compute statistics. Each renderer writes one file into the run directory:
 *
 *     bb_report_charts()  charts/<name>.png and .svg (PLplot, in a child process)
 *     bb_report_pdf()     report.pdf (libharu)
 *     bb_report_xlsx()    workbook.xlsx (libxlsxwriter)
 *     bb_report_html()    report.html (Mustache template, charts inlined)
 *
 * Wall-clock facts never reach these files: dates come from the as-of date,
 * document timestamps from `epoch` (SOURCE_DATE_EPOCH or the as-of date), so
 * identical inputs give byte-identical files.
 */
#ifndef BB_REPORT_H
#define BB_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "analytics/summary.h"
#include "ingest/dataset.h"
#include "util/err.h"
#include "util/log.h"

#define BB_REPORT_MAX_CHARTS 64

typedef struct bb_report_chart {
    char name[64];          /* file stem under charts/ */
    char title[128];
    char png[512];          /* path relative to the run directory */
    char svg[512];
} bb_report_chart;

/* Results of the analysis stages; each section renderer reads its own. */
struct bb_sales;
struct bb_segmentation;
struct bb_recs;
struct bb_changes;

typedef struct bb_report {
    const bb_dataset *ds;
    const bb_summary *summary;
    const struct bb_sales *sales;           /* NULL: the stage did not run */
    const struct bb_segmentation *segments; /* NULL: the stage did not run */
    const struct bb_recs *recs;             /* NULL: the stage did not run */
    const struct bb_changes *changes;       /* NULL: the stage did not run */
    const char *title;          /* "Sales report" */
    const char *business_name;  /* may be "" */
    const char *version;
    const char *run_id;
    uint64_t seed;
    const char *data_dir;
    char as_of[11];
    long long epoch;            /* document timestamps, seconds since 1970 */
    const char *run_dir;        /* where the outputs are written */
    const char *templates_dir;  /* NULL or "": the built-in templates */
    bb_report_chart charts[BB_REPORT_MAX_CHARTS];
    size_t n_charts;
} bb_report;

bb_err bb_report_charts(bb_report *r, bb_log *log);
bb_err bb_report_pdf(const bb_report *r, bb_log *log);
bb_err bb_report_xlsx(const bb_report *r, bb_log *log);
bb_err bb_report_html(const bb_report *r, bb_log *log);

/* Registers a chart: charts/<name>.png and .svg in the run directory, with
 * the title used for captions. png_path and svg_path (may be NULL) receive
 * the full paths to pass to bb_chart_render(). NULL when the registry is full
 * or the name is taken. */
bb_report_chart *bb_report_add_chart(bb_report *r, const char *name, const char *title,
                                     char *png_path, char *svg_path, size_t path_size);
/* The SVG of a registered chart, ready to sit inside HTML: without its XML
 * prolog, and with every id (and reference to one) prefixed by the chart's
 * name, because PLplot numbers ids from 0 in every file and ids are global
 * to a page. malloc'd; NULL when the chart or its SVG is missing. */
char *bb_report_inline_svg(const bb_report *r, const char *name);
/* The chart of that name, or NULL. */
const bb_report_chart *bb_report_find_chart(const bb_report *r, const char *name);
/* The text of a template file: from r->templates_dir when set, else built
 * in. *text is malloc'd. BB_ERR_CONFIG when a configured file is missing. */
bb_err bb_report_template(const bb_report *r, const char *name, char **text, bb_log *log);
/* Whether a template file exists (configured directory or built in). */
bool bb_report_has_template(const bb_report *r, const char *name);
/* The report title line: "Sales report" or "Sales report: <business>". */
void bb_report_heading(const bb_report *r, char *out, size_t size);
/* Versions of the libraries the renderers use, for the manifest. */
cJSON *bb_report_library_versions(void);

#endif
