/*
 * pdf.h - a small flow-layout engine for PDF reports (A4 portrait).
 *
 * The caller says what comes next ("heading, paragraph, KPI tiles, table,
 * image"); this module decides where it goes. Content flows down the page
 * from a cursor; a block that does not fit starts a new page. Rules kept:
 *
 *   - Headings are never left alone at a page bottom: a heading waits for the
 *     next block and moves to a new page together with its first lines, first
 *     table rows or the whole image. Each heading gets a bookmark (level 2
 *     nested under the level 1 before it) and an entry on the contents page.
 *   - Paragraphs wrap by measured glyph width; a word wider than the line is
 *     broken. A paragraph does not leave its first line alone at a page
 *     bottom, nor (when it can help it) its last line at a page top.
 *   - Table cells are cut with "…" when too wide; they never spill into the
 *     next column. Long tables repeat their header row on every page, and a
 *     total row is never alone on a page.
 *   - Images keep their aspect ratio, fit the text width and the page. A PNG
 *     is checked in full (chunks, CRCs, image data) before libharu reads it:
 *     libharu 2.3.0 lets libpng abort() the process on a corrupt file.
 *
 * All text is UTF-8 (any data: it is cleaned, never rejected). Control
 * characters become spaces (a paragraph keeps '\n' as a line break), invalid
 * bytes and characters outside the Basic Multilingual Plane become U+FFFD.
 * Glyphs missing from the font (DejaVu Sans: no CJK) show as empty boxes.
 * A string is cut after 1 MiB, a heading or cover title after 240 characters.
 *
 * The page header (title left, header_right right), the footer "Page X of Y"
 * and the contents page need the final page count, so they are drawn by
 * bb_pdf_save() (or bb_pdf_bytes()), which finishes the document once; after
 * that only more saves are allowed. Page numbers are physical pages: the
 * cover is page 1, so they match what a viewer shows.
 *
 * Same inputs give a byte-identical file: the dates in the document info come
 * from opts.epoch, never from the clock, and libharu writes no /ID.
 *
 * Errors: functions return bb_err; bb_pdf_last_error() gives the details.
 * Misuse (a heading level other than 1 or 2, a cover after other content,
 * content after saving) gives BB_ERR_INTERNAL. Bad arguments, unreadable or
 * corrupt images and unwritable paths leave the document usable. A failure inside libharu (out of memory, say) or of an
 * allocation here is sticky: every later call returns the same code, and the
 * handle can only be freed.
 *
 *     bb_pdf_opts o = {.title = "Sales report", .author = "Salon Zoë",
 *                      .header_right = "As of 2023-12-31", .epoch = 1704067199,
 *                      .toc = true};
 *     bb_pdf *pdf = NULL;
 *     bb_err e = bb_pdf_new(&pdf, &o);
 *     if (e == BB_OK) e = bb_pdf_cover(pdf, "Sales report", "Salon Zoë", lines, 2);
 *     if (e == BB_OK) e = bb_pdf_heading(pdf, 1, "Overview");
 *     if (e == BB_OK) e = bb_pdf_kpis(pdf, kpis, 4);
 *     if (e == BB_OK) e = bb_pdf_table(pdf, cols, 3, cells, nrows, true);
 *     if (e == BB_OK) e = bb_pdf_save(pdf, "out/report.pdf");
 *     if (e != BB_OK) bb_error(log, "report.pdf: %s", bb_pdf_last_error(pdf));
 *     bb_pdf_free(pdf);
 *
 * Sizes are in PDF points (1/72 inch); the text column is about 493 pt wide.
 * A one-page document with both fonts embedded takes 25-50 ms to build and
 * render and is about 180 KB, nearly all of it the two font subsets libharu
 * writes (it keeps whole font tables), so per-customer sheets cost about
 * 30 s and 180 MB per thousand.
 */
#ifndef BB_PDF_H
#define BB_PDF_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

typedef struct bb_pdf bb_pdf;

typedef struct bb_pdf_opts {
    const char *title;        /* Info /Title and the page header's left side */
    const char *subject;      /* Info /Subject; NULL: none */
    const char *author;       /* Info /Author, e.g. the business; NULL: none */
    const char *header_right; /* page header's right side ("As of 2023-12-31"); NULL: none */
    long long epoch;          /* CreationDate and ModDate, seconds since 1970 UTC */
    bool toc;                 /* insert a contents page (after the cover) when there are headings */
    const char *font_regular; /* TrueType files; NULL: DejaVu Sans found at build time */
    const char *font_bold;
} bb_pdf_opts;

/* Starts an empty document. The strings in opts are copied. BB_ERR_NOINPUT
 * when a font file is missing, BB_ERR_DATA when it is no usable TrueType. */
bb_err bb_pdf_new(bb_pdf **out, const bb_pdf_opts *opts);
void bb_pdf_free(bb_pdf *pdf);

/* The cover page: must come before any other content. It has no header or
 * footer. subtitle and lines may be NULL. */
bb_err bb_pdf_cover(bb_pdf *pdf, const char *title, const char *subtitle,
                    const char *const *lines, size_t nlines);

/* A section heading, level 1 or 2. */
bb_err bb_pdf_heading(bb_pdf *pdf, int level, const char *text);
/* Body text, wrapped; '\n' breaks the line. */
bb_err bb_pdf_paragraph(bb_pdf *pdf, const char *text);
/* Small grey text, e.g. a definition or a data caveat. */
bb_err bb_pdf_note(bb_pdf *pdf, const char *text);
bb_err bb_pdf_bullets(bb_pdf *pdf, const char *const *items, size_t n);

/* How the delta line of a KPI tile is coloured; the caller decides whether a
 * change is good (a fall in churn is). */
typedef enum bb_pdf_tone {
    BB_PDF_TONE_NEUTRAL = 0, /* grey */
    BB_PDF_TONE_GOOD,        /* green */
    BB_PDF_TONE_BAD,         /* red */
} bb_pdf_tone;

typedef struct bb_pdf_kpi {
    const char *label; /* "Revenue" */
    const char *value; /* "12,345.67 €": shrunk to fit the tile */
    const char *delta; /* "+4.2 % vs previous 30 days"; NULL: no line */
    bb_pdf_tone tone;
} bb_pdf_kpi;

/* A grid of tiles: up to four share one row, more go three or four to a
 * row; one or two tiles are as wide as when three share a row. Long labels and deltas are cut with
 * "…"; long values are set smaller first. */
bb_err bb_pdf_kpis(bb_pdf *pdf, const bb_pdf_kpi *kpis, size_t n);

typedef enum bb_pdf_align {
    BB_PDF_LEFT = 0,
    BB_PDF_RIGHT, /* for numbers */
    BB_PDF_CENTER,
} bb_pdf_align;

typedef struct bb_pdf_column {
    const char *header;
    bb_pdf_align align; /* applies to the header and the cells */
    double width;       /* relative to the other columns; <= 0 counts as 1 */
} bb_pdf_column;

/* A full-width table. cells is row-major, nrows x ncols; a NULL cell is
 * empty. With last_row_is_total the last row is set apart in bold. */
bb_err bb_pdf_table(bb_pdf *pdf, const bb_pdf_column *cols, size_t ncols,
                    const char *const *cells, size_t nrows, bool last_row_is_total);

/* Table cells built one at a time (each kept in a slot of BB_PDF_CELL_SIZE
 * bytes, longer text cut), then laid out by bb_pdf_cells_table(). Zero-
 * initialise; the first failure sticks in e and later adds do nothing.
 *
 *     bb_pdf_cells c = {0};
 *     bb_pdf_cells_add(&c, "Revenue");
 *     bb_pdf_cells_add(&c, "1,234.56");
 *     e = bb_pdf_cells_table(pdf, cols, 2, &c, false);   (empties c)
 */
#define BB_PDF_CELL_SIZE 160
typedef struct bb_pdf_cells {
    char (*text)[BB_PDF_CELL_SIZE];
    const char **ptr;
    size_t n, cap;
    bb_err e;
} bb_pdf_cells;

/* Adds the next cell (NULL: empty); returns the sticky error. */
bb_err bb_pdf_cells_add(bb_pdf_cells *c, const char *text);
/* bb_pdf_table() over the cells (row-major, ncols a row; BB_ERR_INTERNAL
 * when they do not fill whole rows), then empties c. An empty c lays out
 * nothing. */
bb_err bb_pdf_cells_table(bb_pdf *pdf, const bb_pdf_column *cols, size_t ncols, bb_pdf_cells *c,
                          bool last_row_is_total);
void bb_pdf_cells_free(bb_pdf_cells *c);

/* A PNG at the text width, keeping its aspect ratio, at most max_height_pt
 * tall (<= 0: up to a full page), centred, with an optional caption below.
 * BB_ERR_NOINPUT when the file cannot be read, BB_ERR_DATA when it is not a
 * valid PNG (or over 64 MiB); the document stays usable in both cases. */
bb_err bb_pdf_image(bb_pdf *pdf, const char *png_path, const char *caption,
                    double max_height_pt);

/* The next block starts on a new page (no empty pages: repeated breaks and a
 * break at the end are harmless). */
bb_err bb_pdf_page_break(bb_pdf *pdf);

/* Finishes the document (first call only) and writes it to path through
 * "<path>.tmp", renamed into place. BB_ERR_CANTCREAT when the file cannot be
 * created, BB_ERR_IO when writing fails. */
bb_err bb_pdf_save(bb_pdf *pdf, const char *path);
/* Finishes the document (first call only) and lends its bytes; they live as
 * long as pdf. */
bb_err bb_pdf_bytes(bb_pdf *pdf, const unsigned char **data, size_t *len);

/* Pages so far; after saving, including the contents pages. */
size_t bb_pdf_page_count(const bb_pdf *pdf);
/* What went wrong last ("" when nothing did); never NULL. */
const char *bb_pdf_last_error(const bb_pdf *pdf);

/* "libharu 2.3.0", for the manifest. */
const char *bb_pdf_library_version(void);

#endif
