/*
 * section_recs.h - the Recommendations section: charts, PDF, workbook, HTML.
 *
 * Lays out what the recommendation stage computed (r->recs, recommend.h):
 * the model comparison on the hold-out, the autoencoder's training curve,
 * coverage, breakdowns by segment and activity, and a plain statement when
 * no model beats popularity. Nothing is computed here. Every function is a
 * no-op (BB_OK) when r->recs is NULL, so the pipeline can call them always.
 *
 * Call order in a run:
 *
 *     bb_report_charts(&r, log);           then
 *     bb_section_recs_charts(&r, log);     charts/recs_models, recs_training, recs_loss
 *     bb_customer_sheets_write(&r, ...);   before the workbook, which links the sheets made
 *     ... bb_section_recs_pdf(r, pdf) inside bb_report_pdf(), after the sales/segment sections
 *     ... bb_section_recs_xlsx(r, wb, log) inside bb_report_xlsx()
 *     ... bb_section_recs_html(r, model, log) inside build_model() of report_html.c:
 *         sets model["recs"], which templates/recs.html (partial "recs") renders.
 */
#ifndef BB_SECTION_RECS_H
#define BB_SECTION_RECS_H

#include <cjson/cJSON.h>

#include "render/pdf.h"
#include "render/report.h"
#include "render/xlsx.h"
#include "util/err.h"
#include "util/log.h"

/* Customers listed on the Recommendations sheet at most (in dataset order);
 * recommendations.csv has them all. Keeps the workbook within memory in
 * libxlsxwriter's default mode (about 140 bytes a cell). */
#define BB_RECS_SHEET_MAX_CUSTOMERS 20000u

/* Registers and draws charts/recs_models (Recall@K and NDCG@K per model),
 * and when the autoencoder trained, recs_training (validation NDCG@K per
 * epoch) and recs_loss (training loss per epoch). */
bb_err bb_section_recs_charts(bb_report *r, bb_log *log);
/* Heading 1 "Recommendations" and its subsections. */
bb_err bb_section_recs_pdf(const bb_report *r, bb_pdf *pdf);
/* Sheets "Recommendations" (customer x rank with reasons; a link to
 * customers/<id>.pdf where that file exists) and "Recommender Models". */
bb_err bb_section_recs_xlsx(const bb_report *r, bb_xlsx *wb, bb_log *log);
/* model["recs"] for templates/recs.html. */
bb_err bb_section_recs_html(const bb_report *r, cJSON *model, bb_log *log);

#endif
