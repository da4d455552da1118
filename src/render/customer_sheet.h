/*
 * customer_sheet.h - one A4 page per customer for the front desk:
 * customers/<safe id>.pdf in the run directory (util/fs.h bb_fs_safe_name).
 *
 * A sheet shows the customer's profile (demographics, subscriptions,
 * segment), four tiles (visits, spent, first and last visit), the
 * recommendations with their reasons, and the most recent purchases (date,
 * item, quantity, amount). All of it comes from r->ds and r->recs; nothing
 * is computed here.
 *
 * Which customers (`sheets` in the config, `--sheets`):
 *   "all"             every customer
 *   "none"            no sheet (and no customers/ directory)
 *   "segment:<name>"  the customers of that segment (its name as the report shows it)
 *   "ids:<file>"      the IDs listed in the file, one a line; blank lines and
 *                     lines starting with '#' are skipped; unknown IDs are
 *                     logged and skipped
 *
 * Speed. A one-page bb_pdf document costs about 25 ms, nearly all of it the
 * two TrueType subsets libharu builds and compresses, and that work is per
 * document by design (each file must stand alone). So the sheets are
 * written by worker processes (fork) over the cores, each taking every
 * n-th customer of the list; a worker reports how many it wrote and its
 * first failure through a pipe. Fewer than BB_SHEETS_FORK_MIN sheets are
 * written in-process. Files are written to "<name>.tmp" and renamed, so a
 * sheet is either whole or absent.
 *
 *     size_t n;
 *     bb_err e = bb_customer_sheets_write(&r, "segment:Champions", log, &n);
 */
#ifndef BB_CUSTOMER_SHEET_H
#define BB_CUSTOMER_SHEET_H

#include <stddef.h>

#include "render/report.h"
#include "util/err.h"
#include "util/log.h"

#define BB_SHEETS_FORK_MIN 16
/* Rows shown per sheet, so that every sheet stays one page. */
#define BB_SHEET_MAX_RECS 10
#define BB_SHEET_MAX_PURCHASES 12

/* Writes the sheets `which` selects; *written is how many were made.
 * BB_ERR_CONFIG for an unknown `which`, a missing ids file or an unknown
 * segment; BB_ERR_CANTCREAT / BB_ERR_IO when files cannot be written;
 * BB_OK with *written 0 when r->recs is NULL or `which` is "none". */
bb_err bb_customer_sheets_write(const bb_report *r, const char *which, bb_log *log, size_t *written);

/* Worker processes to use: online cores, at most 8. */
int bb_customer_sheets_workers(void);

#endif
