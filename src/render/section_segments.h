/*
 * section_segments.h - the customer segments section of every report:
 * charts, the PDF chapter, the workbook sheets, the HTML model for
 * templates/segments.html.
 *
 * Reads r->segments (segment/segment.h) and lays it out; it computes
 * nothing. Every function is a no-op returning BB_OK when r->segments is
 * NULL (the stage did not run). Charts are registered in r as
 * "segments_<name>" by bb_section_segments_charts(); the other functions
 * look them up and leave out a chart that is not there.
 *
 * What a reader gets: the segments in value order with the "No purchases
 * yet" group last; sizes and revenue shares; the median and mean customer
 * of each segment on the features the clustering used (each customer counts
 * once); demographics (age bands, gender, e-mail and SMS reach); the PCA map
 * of customers with the segment centres; the k scan (inertia, silhouette,
 * Davies-Bouldin, Calinski-Harabasz) with the k the scores favour next to
 * the k in use; and per segment its description and marketing actions
 * (templates/segments.json, set by bb_segment_set_texts()).
 *
 *     e = bb_section_segments_charts(&r, log);        (with the other charts)
 *     e = bb_section_segments_pdf(&r, pdf);           (heading 1 "Customer segments")
 *     e = bb_section_segments_xlsx(&r, wb, log);      (sheets Segments, Segment k, Customers)
 *     e = bb_section_segments_html(&r, model, log);   (model["segments"])
 *
 * The Customers sheet has one row per customer, in customer order (rows
 * only ever go forward, as the workbook's streaming mode needs); with more
 * than BB_XLSX_STREAM_CELLS cells (bb_segment_sheet_cells()) the workbook
 * should be opened with opts.streaming. Rows past Excel's limit are left
 * out by the workbook layer, which says so on the sheet; the run's
 * segments.csv (bb_segment_save_assignments()) always has every customer.
 */
#ifndef BB_SECTION_SEGMENTS_H
#define BB_SECTION_SEGMENTS_H

#include <cjson/cJSON.h>

#include "render/pdf.h"
#include "render/report.h"
#include "render/xlsx.h"
#include "util/err.h"
#include "util/log.h"

/* Draws segments_sizes, segments_pca, segments_elbow and segments_quality
 * (one bb_chart_render batch) into r->run_dir/charts and registers them. */
bb_err bb_section_segments_charts(bb_report *r, bb_log *log);

/* Heading 1 "Customer segments": overview tiles, sizes and value, profiles
 * (medians and means), demographics, the segment map, how many segments
 * (the k scan and which k the scores favour), then each segment with its
 * description and actions. */
bb_err bb_section_segments_pdf(const bb_report *r, bb_pdf *pdf);

/* Sheets "Segments" (one row per segment: size, value, medians and means,
 * demographics, description, with a native chart of sizes), "Segment k"
 * (the scan) and "Customers" (every customer: ID, segment, distance to the
 * centre, every feature). */
bb_err bb_section_segments_xlsx(const bb_report *r, bb_xlsx *wb, bb_log *log);

/* Adds model["segments"]: everything templates/segments.html shows, as text
 * for people, with the charts' SVG inline. */
bb_err bb_section_segments_html(const bb_report *r, cJSON *model, bb_log *log);

#endif
