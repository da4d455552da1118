/*
 * section_changes.h - "Since the previous run" in the PDF summary, the
 * workbook (sheet Changes) and the HTML summary (model["changes"]).
 *
 * Reads r->changes (analytics/changes.h) and, for segment migrations,
 * r->segments->migrations. Each function does nothing when there is no
 * previous run to compare with.
 */
#ifndef BB_SECTION_CHANGES_H
#define BB_SECTION_CHANGES_H

#include <cjson/cJSON.h>

#include "render/pdf.h"
#include "render/report.h"
#include "render/xlsx.h"

bb_err bb_section_changes_pdf(const bb_report *r, bb_pdf *pdf);
bb_err bb_section_changes_xlsx(const bb_report *r, bb_xlsx *wb, bb_log *log);
bb_err bb_section_changes_html(const bb_report *r, cJSON *model);

#endif
