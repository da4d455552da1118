/*
 * section_sales.h - the sales section of every report: charts, the PDF's
 * summary tiles and "Sales" chapter, the workbook's sales sheets, the HTML
 * report's model for templates/sales.html.
 *
 * Reads r->sales (analytics/sales.h) and lays it out; it computes nothing.
 * Every function is a no-op returning BB_OK when r->sales is NULL (the stage
 * did not run). Charts are registered in r under names "sales_<name>" by
 * bb_section_sales_charts(); the other functions look them up and leave out
 * a chart that is not there.
 *
 * Without revenue (data without prices) revenue columns, tiles and charts
 * are left out and the text says why; rankings then use units or visits.
 *
 *     e = bb_section_sales_charts(&r, log);              (with the other charts)
 *     e = bb_section_sales_summary_pdf(&r, pdf);         (after heading "Summary")
 *     e = bb_section_sales_pdf(&r, pdf);                 (heading 1 "Sales" and more)
 *     e = bb_section_sales_xlsx(&r, wb, log);            (sheets KPIs ... Cohorts)
 *     e = bb_section_sales_html(&r, model, log);         (model["sales"])
 */
#ifndef BB_SECTION_SALES_H
#define BB_SECTION_SALES_H

#include <cjson/cJSON.h>

#include "analytics/sales.h"
#include "render/pdf.h"
#include "render/report.h"
#include "render/xlsx.h"
#include "util/err.h"
#include "util/log.h"

/* Draws the sales charts (one bb_chart_render batch) into r->run_dir/charts
 * and registers each: sales_daily, sales_monthly, sales_weekdays,
 * sales_categories, sales_subcategories, sales_top_items,
 * sales_bottom_items, sales_age, sales_cohorts. */
bb_err bb_section_sales_charts(bb_report *r, bb_log *log);

/* Executive summary content: the period, KPI tiles with the change against
 * the previous period (green when better, red when worse), the top findings
 * as bullets. No heading. */
bb_err bb_section_sales_summary_pdf(const bb_report *r, bb_pdf *pdf);

/* Heading 1 "Sales" with subsections Trends, Categories, Items, Customers,
 * Staff, Cohorts. */
bb_err bb_section_sales_pdf(const bb_report *r, bb_pdf *pdf);

/* Sheets KPIs, Monthly, Weekly, Daily, Categories, Subcategories, Items,
 * Customer Profile, Staff, Cohorts, with native charts on Monthly, Categories and
 * Subcategories. Monthly has the columns of the report's monthly sheet
 * (Month, Revenue, Visits, Customers, Units, Purchase rows) plus the revenue
 * a year earlier and the change against it. */
bb_err bb_section_sales_xlsx(const bb_report *r, bb_xlsx *wb, bb_log *log);

/* The sheets bb_section_sales_xlsx() adds, for links and charts from other
 * sheets (a Summary linking to Monthly, charting its Revenue column 1 or
 * Units column 4 as before). NULL where a sheet was not made. */
typedef struct bb_section_sales_sheets {
    bb_xlsx_sheet *kpis, *monthly, *weekly, *daily, *categories, *subcategories, *items, *customers, *staff,
        *cohorts;
} bb_section_sales_sheets;

/* bb_section_sales_xlsx() that also hands back its sheets (out may be NULL;
 * zeroed first). */
bb_err bb_section_sales_xlsx_sheets(const bb_report *r, bb_xlsx *wb, bb_log *log, bb_section_sales_sheets *out);

/* Adds model["sales"]: everything templates/sales.html shows, as text for
 * people, with the charts' SVG inline. */
bb_err bb_section_sales_html(const bb_report *r, cJSON *model, bb_log *log);

/* A KPI of the current period as text for people, and its change against
 * the previous period ("+4.2 %", "+1.5 pts", "no change", "–"), as the
 * tiles show them. */
void bb_section_sales_kpi_text(const bb_sales_kpi *k, char *value, size_t value_size, char *change,
                               size_t change_size);

#endif
