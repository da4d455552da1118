/*
 * xlsx.h - the report workbook: typed sheets, filters, formats, charts, links.
 *
 * The only module that sees libxlsxwriter (1.1.4). A workbook is a set of
 * sheets; every sheet is filled strictly in order, one row at a time, through
 * a cell cursor: bb_xlsx_text()/_int()/... fill the next cell of the current
 * row, bb_xlsx_row_end() moves to the next row. Several sheets may be open
 * at once (a Summary can be finished after the sheets it links to). Because
 * rows always arrive in order, the same calls work in both memory modes:
 *
 *   - default: libxlsxwriter keeps every cell in memory until the file is
 *     closed (measured: ~140 bytes a cell, 1.6 GB for 1M rows x 12), and a
 *     table sheet becomes a real Excel table (filter buttons, banded rows,
 *     a name usable in formulas).
 *   - streaming (opts.streaming): libxlsxwriter's constant_memory mode. Each
 *     row goes to a temp file as soon as the next one starts, so memory stays
 *     flat (1M rows x 12: 5 MB peak RSS, about twice as fast; numbers in
 *     test_xlsx.c's header). Excel tables cannot be made in that mode
 *     (libxlsxwriter refuses them), so a table sheet becomes a formatted
 *     range with the same look: bold shaded header, autofilter, banded rows
 *     by conditional format. Column widths and formats, frozen panes,
 *     conditional formats, hyperlinks, charts and properties work in both
 *     modes; strings are stored inline instead of shared (Apple Numbers
 *     does not show inline strings; Excel and LibreOffice do).
 *   Use streaming when a sheet may exceed BB_XLSX_STREAM_CELLS cells.
 *
 * Sheet layout (rows from the top):
 *   title lines (the title split at '\n'; the first bold), a blank row when
 *   there is a title, the header row (when any column has a header), data.
 * A table sheet freezes everything above the first data row and sets column
 * widths from what was written (libxlsxwriter 1.1.4 has no autofit).
 *
 * Limits are never hit silently: a sheet holds at most row_limit rows
 * (Excel: 1,048,576) and its last row is kept for a note, so data rows past
 * the limit are counted in bb_xlsx_sheet_info.rows_dropped and the sheet's
 * last row says how many were left out. Likewise texts longer than Excel's
 * 32,767 characters are cut (texts_cut), and links past opts.link_limit per
 * sheet become HYPERLINK() formulas (links_as_formula).
 *
 * Text from customer data is always written as a string cell (a value
 * starting with '=' stays text), with control characters replaced by spaces,
 * invalid UTF-8 by U+FFFD, and Excel's "_xHHHH_" escapes protected. Numbers
 * are written in the "C" locale whatever the process locale is. The same
 * calls with the same created_epoch give a byte-identical file.
 *
 * Ownership: the workbook owns its sheets; a bb_xlsx_sheet pointer stays
 * valid until bb_xlsx_close() or bb_xlsx_free(). Strings passed in are
 * copied. The file is written to "<path>.part" and renamed to path only when
 * complete, so a reader never sees half a workbook.
 *
 *     bb_xlsx *wb;
 *     bb_xlsx_opts o = {.title = "Sales report", .created_epoch = as_of_epoch};
 *     if (bb_xlsx_new(&wb, "out/workbook.xlsx", &o) != BB_OK) ...
 *     const bb_xlsx_col cols[] = {{"Customer", BB_XCOL_TEXT},
 *                                 {"Revenue", BB_XCOL_MONEY, .data_bar = true}};
 *     bb_xlsx_sheet *s;
 *     bb_xlsx_table_begin(wb, "Customers", "Customers\nby revenue", cols, 2, &s);
 *     for (...) {
 *         bb_xlsx_link(s, "customers/Cust0001.pdf", "Cust0001");
 *         bb_xlsx_money(s, revenue_cents);
 *         bb_xlsx_row_end(s);
 *     }
 *     bb_xlsx_sheet_info info;
 *     bb_xlsx_sheet_end(s, &info);          (info.rows_dropped > 0: say so)
 *     e = bb_xlsx_close(wb);                (frees wb in all cases)
 */
#ifndef BB_XLSX_H
#define BB_XLSX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/log.h"

/* Cells in one sheet above which streaming mode is advisable (~140 MB). */
#define BB_XLSX_STREAM_CELLS 1000000u
/* Native hyperlinks a sheet gets by default (~26 MB in libxlsxwriter). */
#define BB_XLSX_LINKS_DEFAULT 10000u
/* Buffer size for a sheet name: 31 UTF-16 units, up to 4 bytes each, NUL. */
#define BB_XLSX_NAME_SIZE 128

typedef struct bb_xlsx bb_xlsx;
typedef struct bb_xlsx_sheet bb_xlsx_sheet;

typedef enum bb_xcol_type {
    BB_XCOL_TEXT,     /* string */
    BB_XCOL_INT,      /* int64 -> number "#,##0" (exact up to 2^53) */
    BB_XCOL_MONEY,    /* int64 cents -> number with opts.money_format */
    BB_XCOL_NUMBER,   /* double -> "#,##0.00" */
    BB_XCOL_PERCENT,  /* ratio (0.123) -> "0.0 %" */
    BB_XCOL_DATE,     /* day number since 1970-01-01 -> Excel date yyyy-mm-dd */
    BB_XCOL_ANY,      /* mixed (key/value sheets): each cell typed by its setter */
    BB_XCOL__COUNT
} bb_xcol_type;

typedef struct bb_xlsx_col {
    const char *header;  /* NULL or "": no header text (a table gets "Column N") */
    bb_xcol_type type;
    bool data_bar;       /* in-cell bars over the column (revenue) */
    bool delta_colors;   /* > 0 green, < 0 red (changes, deltas) */
} bb_xlsx_col;

typedef struct bb_xlsx_opts {
    /* Document properties (File > Info); each may be NULL. */
    const char *title, *subject, *author, *company, *keywords, *comments;
    /* Created/modified time in docProps, seconds since 1970 UTC: the run's
     * as-of time. <= 0 gives 1980-01-01, never the wall clock. */
    int64_t created_epoch;
    bool streaming;            /* constant-memory mode, see the top of this file */
    const char *money_format;  /* Excel number format for money; NULL: "#,##0.00" */
    const char *tmpdir;        /* libxlsxwriter's temp files; NULL: the system's */
    /* Rows per sheet including title and header; 0: Excel's 1,048,576. Lower
     * values cap sheet sizes (and let tests reach the limit). */
    uint32_t row_limit;
    /* Native hyperlinks per sheet; 0: BB_XLSX_LINKS_DEFAULT; at most Excel's
     * 65,530. Each costs libxlsxwriter about 2.6 KB until the file is
     * closed, so further links are written as HYPERLINK() formulas, which
     * Excel and LibreOffice follow just the same. */
    uint32_t link_limit;
    bb_log *log;               /* details of failures and cuts; may be NULL */
} bb_xlsx_opts;

/* What a sheet could not hold, filled by bb_xlsx_sheet_end(). */
typedef struct bb_xlsx_sheet_info {
    uint32_t rows_written;      /* data rows on the sheet */
    uint64_t rows_dropped;      /* data rows past the row limit: not written */
    uint64_t texts_cut;         /* texts cut to 32,767 characters */
    uint64_t links_as_formula;  /* links past link_limit: HYPERLINK() formulas */
    uint64_t links_dropped;     /* links too long for Excel: written as text */
} bb_xlsx_sheet_info;

typedef enum bb_xchart_type {
    BB_XCHART_COLUMN,
    BB_XCHART_BAR,
    BB_XCHART_LINE,
    BB_XCHART_PIE,
} bb_xchart_type;

/* A native Excel chart over cells of a sheet (it references the range, so
 * Excel recomputes it when the analyst edits the data). */
typedef struct bb_xlsx_chart {
    bb_xchart_type type;
    const char *title;         /* may be NULL */
    const char *cat_title;     /* category axis title; may be NULL */
    const char *value_title;   /* value axis title; may be NULL */
    const bb_xlsx_sheet *data; /* sheet holding the data */
    uint32_t first_row;        /* first data row (0 = the row under the header) */
    uint32_t n_rows;           /* 0: through the last data row written */
    int cat_col;               /* column of the category labels */
    const int *value_cols;     /* one series per column; a pie takes exactly one */
    int n_values;
    const char *const *series_names;  /* NULL: the columns' header cells */
    bb_xlsx_sheet *at;         /* sheet the chart is drawn on */
    uint32_t at_row;           /* its top-left cell, 0-based from the sheet's top */
    int at_col;
    int width_px, height_px;   /* 0: 640 x 320 */
} bb_xlsx_chart;

/* Creates the workbook (checks at once that path's directory is writable:
 * BB_ERR_CANTCREAT). opts may be NULL. *out is NULL on failure. */
bb_err bb_xlsx_new(bb_xlsx **out, const char *path, const bb_xlsx_opts *opts);

/* Writes the file and frees wb, also on failure (then no file is left).
 * BB_ERR_INTERNAL when a sheet was not ended. */
bb_err bb_xlsx_close(bb_xlsx *wb);

/* Abandons the workbook without writing it. NULL is a no-op. */
void bb_xlsx_free(bb_xlsx *wb);

/* The name a sheet asked to be called `want` gets: Excel's rules applied
 * ([]:*?/\ and control characters become '_' or are dropped, no leading or
 * trailing apostrophe, not empty, not "History", at most 31 UTF-16 units),
 * then made unique in wb (ignoring ASCII case) by appending " (2)", " (3)"...
 * wb may be NULL (no de-duplication). */
void bb_xlsx_sheet_name_for(const bb_xlsx *wb, const char *want,
                            char out[static BB_XLSX_NAME_SIZE]);

/* A table sheet: title, header row with filter buttons, typed columns,
 * banded rows, frozen header. name is adjusted as bb_xlsx_sheet_name_for()
 * says; title may be NULL. 1 <= ncols <= 16384. */
bb_err bb_xlsx_table_begin(bb_xlsx *wb, const char *name, const char *title,
                           const bb_xlsx_col *cols, int ncols, bb_xlsx_sheet **out);
/* A list sheet (Summary: label, value, note): the same cells and widths,
 * without filter, banding or frozen rows; bb_xlsx_section() is allowed. */
bb_err bb_xlsx_list_begin(bb_xlsx *wb, const char *name, const char *title,
                          const bb_xlsx_col *cols, int ncols, bb_xlsx_sheet **out);

/* The workbook's sheets in order of creation: count and the i-th one. */
size_t bb_xlsx_sheet_count(const bb_xlsx *wb);
bb_xlsx_sheet *bb_xlsx_sheet_at(const bb_xlsx *wb, size_t i);

/* The sheet's final name (for links and for the report's text). */
const char *bb_xlsx_sheet_name(const bb_xlsx_sheet *s);

/* Cell setters: each fills the next cell of the current row. A setter must
 * match the column's type or the column must be BB_XCOL_ANY; text, links
 * and empty cells fit any column. More cells than columns: BB_ERR_INTERNAL. */
bb_err bb_xlsx_text(bb_xlsx_sheet *s, const char *v);     /* NULL: empty cell */
bb_err bb_xlsx_int(bb_xlsx_sheet *s, int64_t v);
bb_err bb_xlsx_money(bb_xlsx_sheet *s, int64_t cents);
bb_err bb_xlsx_number(bb_xlsx_sheet *s, double v);        /* NaN, inf: empty */
bb_err bb_xlsx_percent(bb_xlsx_sheet *s, double ratio);   /* NaN, inf: empty */
/* Days since 1970-01-01; BB_DATE_NONE: empty. Days before 1900-03-01 or
 * after 9999 (outside Excel's calendar) are written as "YYYY-MM-DD" text. */
bb_err bb_xlsx_date(bb_xlsx_sheet *s, int32_t day);
/* A hyperlink cell. target is "http://", "https://", "ftp://", "mailto:" (kept
 * as given) or a path relative to the workbook such as
 * "customers/Cust0001.pdf" (percent-encoded as needed); text NULL shows the
 * target. Other schemes: BB_ERR_INTERNAL. */
bb_err bb_xlsx_link(bb_xlsx_sheet *s, const char *target, const char *text);
/* A link to the top of another sheet of the workbook; text NULL: its name. */
bb_err bb_xlsx_link_sheet(bb_xlsx_sheet *s, const bb_xlsx_sheet *to, const char *text);
/* Ends the current row (cells not set stay empty). */
bb_err bb_xlsx_row_end(bb_xlsx_sheet *s);
/* List sheets only, at the start of a row: a bold heading row. */
bb_err bb_xlsx_section(bb_xlsx_sheet *s, const char *text);

/* Finishes the sheet: filter or table, banding, conditional formats, column
 * widths, frozen panes, the cut note. A row with cells but no row_end is
 * ended first. info (may be NULL) gets what the sheet could not hold. The
 * sheet takes no more cells afterwards. */
bb_err bb_xlsx_sheet_end(bb_xlsx_sheet *s, bb_xlsx_sheet_info *info);

/* Adds a chart. Rows past the data written are clamped; a chart over no
 * rows is not added (BB_OK, logged). Bad columns or sheets: BB_ERR_INTERNAL. */
bb_err bb_xlsx_chart_add(bb_xlsx *wb, const bb_xlsx_chart *c);

/* "libxlsxwriter 1.1.4", for the manifest. */
const char *bb_xlsx_library_version(void);

#endif
