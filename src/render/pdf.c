/*
 * pdf.c - flow layout over libharu 2.3.0; the only file that sees hpdf.h.
 *
 * Coordinates are PDF points with y growing upwards. The flow cursor y is the
 * top of the free space on the current page; blocks draw downwards from it
 * and move it down. `page == NULL` means the next block opens a new page
 * (after the cover, after a page break). `fresh` is true while nothing has
 * been drawn on the current page, so spacing before a block is dropped at
 * the top of a page and a block too tall for any page is drawn anyway
 * instead of opening page after page.
 *
 * Headings are queued in `pending` and drawn by the next block, which first
 * makes room for the headings plus its own first part ("keep"), so a heading
 * always shares its page with what follows it.
 *
 * pages[] keeps every page handle in reading order (the cover first). The
 * header, footer and contents pages are drawn in finish() once the page count
 * is known; contents pages are inserted before the first page after the
 * cover, so page numbers shift by their count from there on.
 *
 * libharu reports errors through on_hpdf_error(), which only records the
 * first code; public functions check it on the way out (check_hpdf()) and
 * turn it into a sticky bb_err. libharu calls in between are not checked one
 * by one: after a failure they are harmless no-ops or draw into a document
 * that will never be saved.
 */
#include "render/pdf.h"

#include <errno.h>
#include <hpdf.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bb_build_info.h"
#include "util/buf.h"
#include "util/date.h"
#include "util/fs.h"
#include "util/utf8.h"

/* A4 portrait, 18 mm side margins. */
#define PAGE_W 595.276
#define PAGE_H 841.89
#define LEFT 51.0
#define RIGHT (PAGE_W - 51.0)
#define TEXT_W (RIGHT - LEFT)
#define TOP (PAGE_H - 62.0)
#define BOTTOM 58.0
#define HEADER_BASE (PAGE_H - 34.0)
#define HEADER_RULE (PAGE_H - 41.0)
#define FOOTER_BASE 30.0
#define EPS 0.01

/* Type scale: size and line height. */
#define SIZE_TITLE 30.0
#define SIZE_SUBTITLE 15.0
#define SIZE_H1 15.0
#define SIZE_H2 11.5
#define SIZE_BODY 10.0
#define SIZE_SMALL 8.0
#define SIZE_TABLE 8.5
#define SIZE_KPI 17.0
#define SIZE_KPI_MIN 8.0
#define LH_BODY 14.5
#define LH_SMALL 11.0

#define GAP_BLOCK 9.0  /* between blocks */
#define GAP_H1 20.0    /* before a level-1 heading */
#define GAP_H2 13.0    /* before a level-2 heading */
#define GAP_STACKED 6.0 /* between two queued headings */
#define BULLET_INDENT 14.0
#define KEEP_LINES 3   /* body lines kept with a heading */

#define ROW_H 15.0
#define HEAD_ROW_H 18.0
#define CELL_PAD 5.0

#define TILE_H 60.0
#define TILE_GAP 8.0
#define TILE_PAD 10.0

#define TOC_ROW_H 17.0

/* DejaVu Sans vertical metrics, per em, for placing baselines in boxes. */
#define ASCENT 0.928
#define DESCENT 0.236

#define MAX_TEXT ((size_t)1 << 20)  /* bytes of one string kept; the rest is cut */
#define MAX_CLEAN (MAX_TEXT * 3 + 16) /* its cleaned form: a bad byte becomes 3 */
#define MAX_PNG ((size_t)64 << 20)
#define MAX_ITEMS ((size_t)1 << 22) /* pages, headings, lines of one block */
#define MAX_PENDING 4
#define OUTLINE_MAX_CP 200
#define HEADING_MAX_CP 240 /* a heading is cut after about five lines */

typedef struct rgb {
    float r, g, b;
} rgb;

static const rgb INK = {0.11f, 0.14f, 0.18f};
static const rgb MUTED = {0.40f, 0.44f, 0.49f};
static const rgb ACCENT = {0.10f, 0.29f, 0.46f};
static const rgb RULE = {0.80f, 0.82f, 0.85f};
static const rgb ZEBRA = {0.955f, 0.963f, 0.972f};
static const rgb TOTAL_BG = {0.89f, 0.91f, 0.93f};
static const rgb TILE_BG = {0.953f, 0.961f, 0.972f};
static const rgb WHITE = {1.0f, 1.0f, 1.0f};
static const rgb COVER_SUB = {0.80f, 0.87f, 0.93f};
static const rgb GOOD = {0.09f, 0.50f, 0.22f};
static const rgb BAD = {0.75f, 0.15f, 0.11f};

static const char ELLIPSIS[] = "\xE2\x80\xA6";
static const char BULLET[] = "\xE2\x80\xA2";
static const char REPLACEMENT[] = "\xEF\xBF\xBD";

typedef struct span {
    size_t off, len;
} span;

typedef struct spans {
    span *v;
    size_t n, cap;
} spans;

typedef struct heading {
    char *text; /* cleaned, owned */
    int level;
    spans lines;
} heading;

typedef struct toc_entry {
    char *text; /* owned */
    int level;
    size_t page; /* index into pages[] */
    double y;    /* top of the heading */
    size_t toc_page;
    double toc_y;
} toc_entry;

struct bb_pdf {
    HPDF_Doc doc;
    HPDF_Font regular, bold;
    char *title, *header_right; /* cleaned */
    bool toc;

    HPDF_Page *pages;
    size_t npages, pages_cap;
    bool has_cover;
    HPDF_Page page;
    double y;
    bool fresh;

    heading pending[MAX_PENDING];
    size_t npending;
    toc_entry *entries;
    size_t nentries, entries_cap;
    HPDF_Outline outline_h1;  /* parent of level-2 bookmarks */
    HPDF_Outline outline_toc; /* "Contents", pointed at its page by finish() */

    bb_buf scratch; /* NUL-terminated copies for TextOut */
    bb_buf cell;    /* one cleaned table cell */

    bool finished;
    HPDF_Page *toc_pages;
    size_t ntoc;
    unsigned char *bytes;
    size_t nbytes;

    bb_err failed;
    HPDF_STATUS hpdf_status, hpdf_detail;
    char msg[256];
};

/* ---- errors ------------------------------------------------------------ */

static void on_hpdf_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void *user_data)
{
    bb_pdf *pdf = user_data;
    if (pdf->hpdf_status == HPDF_OK) {
        pdf->hpdf_status = error_no;
        pdf->hpdf_detail = detail_no;
    }
}

static void set_msg(bb_pdf *pdf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_msg(bb_pdf *pdf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pdf->msg, sizeof pdf->msg, fmt, ap);
    va_end(ap);
}

/* Records a failure after which the document cannot be trusted. */
static bb_err poison(bb_pdf *pdf, bb_err e, const char *what)
{
    if (pdf->failed == BB_OK) {
        pdf->failed = e;
        set_msg(pdf, "%s: %s", what, bb_strerror(e));
    }
    return pdf->failed;
}

static bb_err map_hpdf(HPDF_STATUS s)
{
    switch (s) {
    case HPDF_FAILD_TO_ALLOC_MEM:
        return BB_ERR_NOMEM;
    case HPDF_FILE_OPEN_ERROR:
        return BB_ERR_NOINPUT;
    case HPDF_FILE_IO_ERROR:
        return BB_ERR_IO;
    case HPDF_INVALID_PNG_IMAGE:
    case HPDF_LIBPNG_ERROR:
    case HPDF_UNSUPPORTED_FUNC:
    case HPDF_INVALID_FONTDEF_DATA:
    case HPDF_TTF_INVALID_CMAP:
    case HPDF_TTF_INVALID_FOMAT:
    case HPDF_TTF_MISSING_TABLE:
    case HPDF_TTF_CANNOT_EMBEDDING_FONT:
        return BB_ERR_DATA;
    default:
        return BB_ERR_INTERNAL;
    }
}

static bb_err check_hpdf(bb_pdf *pdf, const char *what)
{
    if (pdf->hpdf_status != HPDF_OK && pdf->failed == BB_OK) {
        pdf->failed = map_hpdf(pdf->hpdf_status);
        set_msg(pdf, "%s: libharu error 0x%04lX (detail %lu): %s", what,
                (unsigned long)pdf->hpdf_status, (unsigned long)pdf->hpdf_detail,
                bb_strerror(pdf->failed));
    }
    return pdf->failed;
}

/* A libharu call returned nothing: its reported error, or an internal one
 * when it reported none. */
static bb_err fail_hpdf(bb_pdf *pdf, const char *what)
{
    if (check_hpdf(pdf, what) != BB_OK)
        return pdf->failed;
    return poison(pdf, BB_ERR_INTERNAL, what);
}

/* Entry check of every content function. */
static bb_err enter(bb_pdf *pdf, const char *what)
{
    if (!pdf)
        return BB_ERR_INTERNAL;
    if (pdf->failed != BB_OK)
        return pdf->failed;
    if (pdf->finished) {
        set_msg(pdf, "%s: the document is already finished", what);
        return BB_ERR_INTERNAL;
    }
    return BB_OK;
}

static bool grow(void **v, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    if (need > MAX_ITEMS)
        return false;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*v, ncap * size);
    if (!p)
        return false;
    *v = p;
    *cap = ncap;
    return true;
}

/* ---- text -------------------------------------------------------------- */

static size_t cp_len(unsigned char lead)
{
    return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

static uint32_t cp_decode(const unsigned char *p, size_t len)
{
    switch (len) {
    case 1:
        return p[0];
    case 2:
        return ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
    case 3:
        return ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    default:
        return 0x10000;
    }
}

/*
 * Appends s to b as text libharu can show: valid UTF-8 within the Basic
 * Multilingual Plane (its UTF-8 encoder is 16-bit and silently drops the
 * rest), no control characters (TextOut would print them as glyphs).
 */
static bb_err clean_into(bb_buf *b, const char *s, bool keep_newlines)
{
    if (!s)
        return BB_OK;
    size_t n = strlen(s);
    if (n > MAX_TEXT)
        n = MAX_TEXT;
    size_t i = 0;
    bb_err e = BB_OK;
    while (i < n && e == BB_OK) {
        size_t bad = n - i;
        size_t end = bb_utf8_valid(s + i, n - i, &bad) ? n : i + bad;
        while (i < end && e == BB_OK) {
            const unsigned char *p = (const unsigned char *)s + i;
            size_t len = cp_len(p[0]);
            uint32_t cp = cp_decode(p, len);
            if (cp == '\n' && keep_newlines)
                e = bb_buf_putc(b, '\n');
            else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || cp == 0x2028 ||
                     cp == 0x2029)
                e = bb_buf_putc(b, ' ');
            else if (cp > 0xFFFF)
                e = bb_buf_puts(b, REPLACEMENT);
            else
                e = bb_buf_append(b, p, len);
            i += len;
        }
        if (i < n && e == BB_OK) {
            e = bb_buf_puts(b, REPLACEMENT);
            i++;
        }
    }
    return e;
}

/* A cleaned malloc'd copy of s ("" for NULL); NULL when out of memory. */
static char *clean_text(const char *s, bool keep_newlines)
{
    bb_buf b;
    bb_buf_init(&b, MAX_CLEAN);
    if (clean_into(&b, s, keep_newlines) != BB_OK) {
        bb_buf_free(&b);
        return NULL;
    }
    return bb_buf_detach(&b);
}

/* Cleans s (a cell, label or value: one line) into pdf->cell and returns it
 * ("" when empty); NULL when out of memory, which poisons the document. */
static const char *cell_text(bb_pdf *pdf, const char *s, const char *what)
{
    bb_buf_clear(&pdf->cell);
    if (clean_into(&pdf->cell, s, false) != BB_OK) {
        poison(pdf, BB_ERR_NOMEM, what);
        return NULL;
    }
    return pdf->cell.data ? pdf->cell.data : "";
}

/* libharu measures at most 65535 bytes at a time, so longer text goes in
 * pieces cut at code point boundaries. */
static double text_width(HPDF_Font font, double size, const char *s, size_t n)
{
    double units = 0.0;
    while (n > 0) {
        size_t piece = n;
        if (piece > 60000) {
            piece = 60000;
            while (piece > 0 && ((unsigned char)s[piece] & 0xC0) == 0x80)
                piece--;
        }
        HPDF_TextWidth tw = HPDF_Font_TextWidth(font, (const HPDF_BYTE *)s, (HPDF_UINT)piece);
        units += tw.width;
        s += piece;
        n -= piece;
    }
    return units * size / 1000.0;
}

/* Bytes of the longest prefix of s[0..n) no wider than max_w, in whole code
 * points; at least one code point when force_one. */
static size_t fit_prefix(HPDF_Font font, double size, const char *s, size_t n, double max_w,
                         bool force_one)
{
    size_t i = 0;
    double w = 0.0;
    while (i < n) {
        size_t len = cp_len((unsigned char)s[i]);
        if (len > n - i)
            len = n - i;
        w += text_width(font, size, s + i, len);
        if (w > max_w + EPS && !(force_one && i == 0))
            break;
        i += len;
    }
    return i;
}

static bool fits(HPDF_Font font, double size, const char *s, size_t n, double max_w)
{
    return fit_prefix(font, size, s, n, max_w, false) == n;
}

static bool spans_push(spans *l, size_t off, size_t len)
{
    if (!grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v))
        return false;
    l->v[l->n++] = (span){off, len};
    return true;
}

static void spans_free(spans *l)
{
    free(l->v);
    *l = (spans){0};
}

/*
 * Greedy word wrap of cleaned text into lines no wider than max_w. Runs of
 * spaces separate words; '\n' ends a line (an empty line stays). A word wider
 * than a whole line is cut at code points.
 */
static bool wrap(HPDF_Font font, double size, const char *s, double max_w, spans *out)
{
    size_t n = strlen(s), a = 0;
    out->n = 0;
    while (a <= n) {
        size_t b = a;
        while (b < n && s[b] != '\n')
            b++;
        size_t line_start = 0, line_end = 0;
        bool have_line = false;
        size_t j = a;
        for (;;) {
            while (j < b && s[j] == ' ')
                j++;
            if (j >= b)
                break;
            size_t k = j;
            while (k < b && s[k] != ' ')
                k++;
            if (have_line && text_width(font, size, s + line_start, k - line_start) <= max_w + EPS) {
                line_end = k;
                j = k;
                continue;
            }
            if (have_line) {
                if (!spans_push(out, line_start, line_end - line_start))
                    return false;
                have_line = false;
            }
            for (;;) {
                size_t p = fit_prefix(font, size, s + j, k - j, max_w, true);
                if (p == k - j)
                    break;
                if (!spans_push(out, j, p))
                    return false;
                j += p;
            }
            line_start = j;
            line_end = k;
            have_line = true;
            j = k;
        }
        if (have_line || b == a || (b < n && s[b] == '\n')) {
            if (!have_line)
                line_start = line_end = a;
            if (!spans_push(out, line_start, line_end - line_start))
                return false;
        }
        if (b >= n)
            break;
        a = b + 1;
    }
    /* Trailing empty lines would only add space. */
    while (out->n > 0 && out->v[out->n - 1].len == 0)
        out->n--;
    return true;
}

/* y of the baseline that centres a line of font size `size` in a box of
 * height lh whose top is at `top`. */
static double baseline_in(double top, double lh, double size)
{
    return top - (lh - size * (ASCENT + DESCENT)) / 2.0 - size * ASCENT;
}

static void set_fill(HPDF_Page page, rgb c)
{
    HPDF_Page_SetRGBFill(page, c.r, c.g, c.b);
}

static void set_stroke(HPDF_Page page, rgb c)
{
    HPDF_Page_SetRGBStroke(page, c.r, c.g, c.b);
}

/* Shows s[0..n) followed by suffix at (x, baseline). */
static void draw_text(bb_pdf *pdf, HPDF_Page page, HPDF_Font font, double size, rgb color,
                      double x, double base, const char *s, size_t n, const char *suffix)
{
    if (!page || pdf->failed != BB_OK)
        return;
    bb_buf_clear(&pdf->scratch);
    if (bb_buf_append(&pdf->scratch, s, n) != BB_OK ||
        bb_buf_puts(&pdf->scratch, suffix ? suffix : "") != BB_OK) {
        poison(pdf, BB_ERR_NOMEM, "text");
        return;
    }
    if (pdf->scratch.len == 0)
        return;
    HPDF_Page_BeginText(page);
    HPDF_Page_SetFontAndSize(page, font, (HPDF_REAL)size);
    set_fill(page, color);
    HPDF_Page_TextOut(page, (HPDF_REAL)x, (HPDF_REAL)base, pdf->scratch.data);
    HPDF_Page_EndText(page);
}

/*
 * Shows s[0..n) inside [x, x + w), aligned, cut with an ellipsis when it is
 * too wide. Returns the width drawn.
 */
static double draw_fit(bb_pdf *pdf, HPDF_Page page, HPDF_Font font, double size, rgb color,
                       double x, double w, bb_pdf_align align, double base, const char *s,
                       size_t n)
{
    /* Measures no further than the width available, however long s is. */
    double tw;
    const char *suffix = "";
    if (fits(font, size, s, n, w)) {
        tw = text_width(font, size, s, n);
    } else {
        double ew = text_width(font, size, ELLIPSIS, sizeof ELLIPSIS - 1);
        if (ew > w + EPS)
            return 0.0;
        n = fit_prefix(font, size, s, n, w - ew, false);
        while (n > 0 && s[n - 1] == ' ')
            n--;
        suffix = ELLIPSIS;
        tw = text_width(font, size, s, n) + ew;
    }
    double dx = align == BB_PDF_RIGHT ? w - tw : align == BB_PDF_CENTER ? (w - tw) / 2.0 : 0.0;
    draw_text(pdf, page, font, size, color, x + dx, base, s, n, suffix);
    return tw;
}

static void fill_rect(HPDF_Page page, rgb c, double x, double y, double w, double h)
{
    if (!page)
        return;
    set_fill(page, c);
    HPDF_Page_Rectangle(page, (HPDF_REAL)x, (HPDF_REAL)y, (HPDF_REAL)w, (HPDF_REAL)h);
    HPDF_Page_Fill(page);
}

static void hline(HPDF_Page page, rgb c, double width, double x0, double x1, double y)
{
    if (!page)
        return;
    set_stroke(page, c);
    HPDF_Page_SetLineWidth(page, (HPDF_REAL)width);
    HPDF_Page_MoveTo(page, (HPDF_REAL)x0, (HPDF_REAL)y);
    HPDF_Page_LineTo(page, (HPDF_REAL)x1, (HPDF_REAL)y);
    HPDF_Page_Stroke(page);
}

/* A filled rectangle with corners of radius r (cubic Bézier quarter circles,
 * control points at 0.5523 r). */
static void fill_round_rect(HPDF_Page page, rgb c, double x, double y, double w, double h,
                            double r)
{
    const double k = 0.5523 * r;
    if (!page)
        return;
    set_fill(page, c);
    HPDF_Page_MoveTo(page, (HPDF_REAL)(x + r), (HPDF_REAL)y);
    HPDF_Page_LineTo(page, (HPDF_REAL)(x + w - r), (HPDF_REAL)y);
    HPDF_Page_CurveTo(page, (HPDF_REAL)(x + w - r + k), (HPDF_REAL)y, (HPDF_REAL)(x + w),
                      (HPDF_REAL)(y + r - k), (HPDF_REAL)(x + w), (HPDF_REAL)(y + r));
    HPDF_Page_LineTo(page, (HPDF_REAL)(x + w), (HPDF_REAL)(y + h - r));
    HPDF_Page_CurveTo(page, (HPDF_REAL)(x + w), (HPDF_REAL)(y + h - r + k),
                      (HPDF_REAL)(x + w - r + k), (HPDF_REAL)(y + h), (HPDF_REAL)(x + w - r),
                      (HPDF_REAL)(y + h));
    HPDF_Page_LineTo(page, (HPDF_REAL)(x + r), (HPDF_REAL)(y + h));
    HPDF_Page_CurveTo(page, (HPDF_REAL)(x + r - k), (HPDF_REAL)(y + h), (HPDF_REAL)x,
                      (HPDF_REAL)(y + h - r + k), (HPDF_REAL)x, (HPDF_REAL)(y + h - r));
    HPDF_Page_LineTo(page, (HPDF_REAL)x, (HPDF_REAL)(y + r));
    HPDF_Page_CurveTo(page, (HPDF_REAL)x, (HPDF_REAL)(y + r - k), (HPDF_REAL)(x + r - k),
                      (HPDF_REAL)y, (HPDF_REAL)(x + r), (HPDF_REAL)y);
    HPDF_Page_ClosePath(page);
    HPDF_Page_Fill(page);
}

/* ---- flow -------------------------------------------------------------- */

static HPDF_Page add_page(bb_pdf *pdf)
{
    if (!grow((void **)&pdf->pages, &pdf->pages_cap, pdf->npages + 1, sizeof *pdf->pages)) {
        poison(pdf, BB_ERR_NOMEM, "page");
        return NULL;
    }
    HPDF_Page page = HPDF_AddPage(pdf->doc);
    if (!page)
        return NULL;
    HPDF_Page_SetSize(page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
    pdf->pages[pdf->npages++] = page;
    return page;
}

static bb_err fail_hpdf(bb_pdf *pdf, const char *what);

static void new_page(bb_pdf *pdf)
{
    pdf->page = add_page(pdf);
    pdf->y = TOP;
    pdf->fresh = true;
    if (!pdf->page)
        fail_hpdf(pdf, "page");
}

/*
 * Makes room for a block of height h preceded by gap: stays on this page when
 * it fits, else opens a new one (where the gap is dropped). A block taller
 * than a page is drawn at the top of a fresh page.
 */
static void place(bb_pdf *pdf, double gap, double h)
{
    if (pdf->page && pdf->fresh)
        return;
    if (pdf->page && pdf->y - gap - h >= BOTTOM - EPS) {
        pdf->y -= gap;
        return;
    }
    new_page(pdf);
}

static double heading_size(int level)
{
    return level == 1 ? SIZE_H1 : SIZE_H2;
}

static double heading_lh(int level)
{
    return heading_size(level) * 1.3;
}

/* Height of a heading without the space before it. */
static double heading_height(const heading *h)
{
    double text_h = (double)h->lines.n * heading_lh(h->level);
    return h->level == 1 ? text_h + 4.0 + 9.0 : text_h + 5.0;
}

/* Space before the queued headings: that of the first one. */
static double pending_gap(const bb_pdf *pdf)
{
    return pdf->pending[0].level == 1 ? GAP_H1 : GAP_H2;
}

static double pending_height(const bb_pdf *pdf)
{
    double h = 0.0;
    for (size_t i = 0; i < pdf->npending; i++)
        h += (i > 0 ? GAP_STACKED : 0.0) + heading_height(&pdf->pending[i]);
    return h;
}

static void heading_free(heading *h)
{
    free(h->text);
    spans_free(&h->lines);
    h->text = NULL;
}

/* Draws a queued heading at the cursor and records its bookmark and
 * contents entry; the entry takes over the text. */
static void draw_heading(bb_pdf *pdf, heading *h)
{
    HPDF_Page page = pdf->page;
    double size = heading_size(h->level), lh = heading_lh(h->level);
    double top = pdf->y;
    HPDF_Font font = pdf->bold;
    rgb color = h->level == 1 ? ACCENT : INK;
    for (size_t i = 0; i < h->lines.n; i++) {
        draw_text(pdf, page, font, size, color, LEFT, baseline_in(pdf->y, lh, size),
                  h->text + h->lines.v[i].off, h->lines.v[i].len, NULL);
        pdf->y -= lh;
    }
    if (h->level == 1) {
        pdf->y -= 4.0;
        hline(page, ACCENT, 0.8, LEFT, RIGHT, pdf->y);
        pdf->y -= 9.0;
    } else {
        pdf->y -= 5.0;
    }
    pdf->fresh = false;

    HPDF_Encoder utf8 = HPDF_GetEncoder(pdf->doc, "UTF-8");
    char title[OUTLINE_MAX_CP * 3 + 4];
    size_t tn = strlen(h->text);
    tn = bb_utf8_prefix(h->text, tn, OUTLINE_MAX_CP);
    if (tn >= sizeof title)
        tn = sizeof title - 1;
    memcpy(title, h->text, tn);
    title[tn] = '\0';
    if (pdf->toc && !pdf->outline_toc)
        pdf->outline_toc = HPDF_CreateOutline(pdf->doc, NULL, "Contents", utf8);
    HPDF_Outline parent = h->level == 2 ? pdf->outline_h1 : NULL;
    HPDF_Outline o = HPDF_CreateOutline(pdf->doc, parent, title, utf8);
    if (o) {
        HPDF_Destination dst = HPDF_Page_CreateDestination(page);
        if (dst)
            HPDF_Destination_SetFitH(dst, (HPDF_REAL)(top + 6.0));
        HPDF_Outline_SetDestination(o, dst);
        HPDF_Outline_SetOpened(o, HPDF_TRUE);
        if (h->level == 1)
            pdf->outline_h1 = o;
    }

    if (!grow((void **)&pdf->entries, &pdf->entries_cap, pdf->nentries + 1, sizeof *pdf->entries)) {
        poison(pdf, BB_ERR_NOMEM, "heading");
        return;
    }
    pdf->entries[pdf->nentries++] =
        (toc_entry){.text = h->text, .level = h->level, .page = pdf->npages - 1, .y = top};
    h->text = NULL;
}

/*
 * Starts a block whose first keep_h points must stay with any queued
 * headings: makes room for both, then draws the headings. The block then
 * draws from pdf->y without further spacing.
 */
static void begin_block(bb_pdf *pdf, double gap, double keep_h)
{
    if (pdf->npending == 0) {
        place(pdf, gap, keep_h);
        return;
    }
    place(pdf, pending_gap(pdf), pending_height(pdf) + keep_h);
    for (size_t i = 0; i < pdf->npending; i++) {
        if (i > 0)
            pdf->y -= GAP_STACKED;
        draw_heading(pdf, &pdf->pending[i]);
        heading_free(&pdf->pending[i]);
    }
    pdf->npending = 0;
}

/*
 * Draws wrapped lines from the cursor down, breaking pages between lines:
 * never a single first line at a page bottom (the caller's keep) nor a single
 * last line at a page top when that can be avoided.
 */
static void draw_lines(bb_pdf *pdf, HPDF_Font font, double size, double lh, rgb color, double x,
                       const char *text, const spans *lines, bool bullet)
{
    size_t i = 0, n = lines->n;
    while (i < n && pdf->failed == BB_OK) {
        size_t avail = pdf->y - BOTTOM + EPS > 0 ? (size_t)((pdf->y - BOTTOM + EPS) / lh) : 0;
        if (avail == 0) {
            if (!pdf->fresh) {
                new_page(pdf);
                continue;
            }
            avail = 1;
        }
        size_t k = n - i;
        if (k > avail) {
            k = avail;
            if (n - i - k == 1 && k >= 3)
                k--;
        }
        for (size_t j = i; j < i + k; j++) {
            double base = baseline_in(pdf->y, lh, size);
            if (bullet && j == 0)
                draw_text(pdf, pdf->page, font, size, ACCENT, x - BULLET_INDENT + 3.0, base, BULLET,
                          sizeof BULLET - 1, NULL);
            draw_text(pdf, pdf->page, font, size, color, x, base, text + lines->v[j].off,
                      lines->v[j].len, NULL);
            pdf->y -= lh;
        }
        pdf->fresh = false;
        i += k;
        if (i < n)
            new_page(pdf);
    }
}

/* A wrapped block of text: body paragraph, note, or one bullet item. */
static bb_err text_block(bb_pdf *pdf, const char *text, HPDF_Font font, double size, double lh,
                         rgb color, double indent, double gap, bool bullet, const char *what)
{
    char *clean = clean_text(text, true);
    spans lines = {0};
    if (!clean || !wrap(font, size, clean, TEXT_W - indent, &lines)) {
        free(clean);
        spans_free(&lines);
        return poison(pdf, BB_ERR_NOMEM, what);
    }
    if (lines.n > 0) {
        size_t keep = pdf->npending ? KEEP_LINES : 2;
        begin_block(pdf, gap, (double)(lines.n < keep ? lines.n : keep) * lh);
        draw_lines(pdf, font, size, lh, color, LEFT + indent, clean, &lines, bullet);
    }
    free(clean);
    spans_free(&lines);
    return check_hpdf(pdf, what);
}

/* ---- public: lifecycle --------------------------------------------------- */

static void set_info(bb_pdf *pdf, HPDF_InfoType type, const char *value)
{
    if (!value || !*value)
        return;
    char *clean = clean_text(value, false);
    if (!clean) {
        poison(pdf, BB_ERR_NOMEM, "document info");
        return;
    }
    /* libharu strings hold at most 65535 bytes. */
    size_t n = bb_utf8_prefix(clean, strlen(clean), 4000);
    clean[n] = '\0';
    HPDF_SetInfoAttr(pdf->doc, type, clean);
    free(clean);
}

static void set_dates(bb_pdf *pdf, long long epoch)
{
    long long days = epoch / 86400, secs = epoch % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    if (days < -700000 || days > 2900000)
        days = 0; /* outside what a PDF date can show (years 0..9999) */
    int y, m, d;
    bb_date_to_ymd((int32_t)days, &y, &m, &d);
    HPDF_Date date = {
        .year = y, .month = m, .day = d,
        .hour = (int)(secs / 3600), .minutes = (int)(secs / 60 % 60), .seconds = (int)(secs % 60),
        .ind = 'Z', .off_hour = 0, .off_minutes = 0,
    };
    HPDF_SetInfoDateAttr(pdf->doc, HPDF_INFO_CREATION_DATE, date);
    HPDF_SetInfoDateAttr(pdf->doc, HPDF_INFO_MOD_DATE, date);
}

static HPDF_Font load_font(bb_pdf *pdf, const char *path)
{
    if (!bb_fs_exists(path)) {
        pdf->failed = BB_ERR_NOINPUT;
        set_msg(pdf, "font %s: not found", path);
        return NULL;
    }
    const char *name = HPDF_LoadTTFontFromFile(pdf->doc, path, HPDF_TRUE);
    return name ? HPDF_GetFont(pdf->doc, name, "UTF-8") : NULL;
}

bb_err bb_pdf_new(bb_pdf **out, const bb_pdf_opts *opts)
{
    *out = NULL;
    static const bb_pdf_opts none = {0};
    if (!opts)
        opts = &none;
    bb_pdf *pdf = calloc(1, sizeof *pdf);
    if (!pdf)
        return BB_ERR_NOMEM;
    bb_buf_init(&pdf->scratch, MAX_CLEAN + 8);
    bb_buf_init(&pdf->cell, MAX_CLEAN);
    pdf->toc = opts->toc;
    pdf->title = clean_text(opts->title, false);
    pdf->header_right = clean_text(opts->header_right, false);
    if (!pdf->title || !pdf->header_right) {
        pdf->failed = BB_ERR_NOMEM;
        goto fail;
    }
    pdf->doc = HPDF_New(on_hpdf_error, pdf);
    if (!pdf->doc) {
        pdf->failed = BB_ERR_NOMEM;
        goto fail;
    }
    HPDF_SetCompressionMode(pdf->doc, HPDF_COMP_ALL);
    /* A flat page tree holds at most 8191 pages (libharu's array limit). */
    HPDF_SetPagesConfiguration(pdf->doc, 512);
    HPDF_UseUTFEncodings(pdf->doc);
    HPDF_SetCurrentEncoder(pdf->doc, "UTF-8");
    pdf->regular = load_font(pdf, opts->font_regular ? opts->font_regular : BB_FONT_REGULAR);
    if (pdf->regular)
        pdf->bold = load_font(pdf, opts->font_bold ? opts->font_bold : BB_FONT_BOLD);
    if (!pdf->regular || !pdf->bold) {
        /* load_font saw the file, so libharu could not use it. */
        if (pdf->failed == BB_OK) {
            check_hpdf(pdf, "font");
            if (pdf->failed != BB_ERR_NOMEM && pdf->failed != BB_ERR_NOINPUT)
                pdf->failed = BB_ERR_DATA;
        }
        goto fail;
    }
    set_info(pdf, HPDF_INFO_TITLE, opts->title);
    set_info(pdf, HPDF_INFO_SUBJECT, opts->subject);
    set_info(pdf, HPDF_INFO_AUTHOR, opts->author);
    set_info(pdf, HPDF_INFO_CREATOR, "bbreport " BB_VERSION);
    set_dates(pdf, opts->epoch);
    if (check_hpdf(pdf, "new") != BB_OK)
        goto fail;
    *out = pdf;
    return BB_OK;

fail:;
    bb_err e = pdf->failed;
    bb_pdf_free(pdf);
    return e;
}

void bb_pdf_free(bb_pdf *pdf)
{
    if (!pdf)
        return;
    if (pdf->doc)
        HPDF_Free(pdf->doc);
    for (size_t i = 0; i < pdf->npending; i++)
        heading_free(&pdf->pending[i]);
    for (size_t i = 0; i < pdf->nentries; i++)
        free(pdf->entries[i].text);
    free(pdf->entries);
    free(pdf->pages);
    free(pdf->toc_pages);
    free(pdf->bytes);
    free(pdf->title);
    free(pdf->header_right);
    bb_buf_free(&pdf->scratch);
    bb_buf_free(&pdf->cell);
    free(pdf);
}

const char *bb_pdf_last_error(const bb_pdf *pdf)
{
    return pdf ? pdf->msg : "no document";
}

size_t bb_pdf_page_count(const bb_pdf *pdf)
{
    return pdf ? pdf->npages + pdf->ntoc : 0;
}

/* ---- public: content ----------------------------------------------------- */

bb_err bb_pdf_cover(bb_pdf *pdf, const char *title, const char *subtitle,
                    const char *const *lines, size_t nlines)
{
    bb_err e = enter(pdf, "cover");
    if (e != BB_OK)
        return e;
    if (pdf->npages > 0 || pdf->npending > 0) {
        set_msg(pdf, "cover: must come before any other content");
        return BB_ERR_INTERNAL;
    }
    HPDF_Page page = add_page(pdf);
    if (!page)
        return fail_hpdf(pdf, "cover");
    pdf->has_cover = true;

    char *t = clean_text(title, false), *sub = clean_text(subtitle, false);
    spans tl = {0}, sl = {0};
    if (t)
        t[bb_utf8_prefix(t, strlen(t), HEADING_MAX_CP)] = '\0';
    if (sub)
        sub[bb_utf8_prefix(sub, strlen(sub), HEADING_MAX_CP)] = '\0';
    if (!t || !sub || !wrap(pdf->bold, SIZE_TITLE, t, TEXT_W, &tl) ||
        !wrap(pdf->regular, SIZE_SUBTITLE, sub, TEXT_W, &sl)) {
        poison(pdf, BB_ERR_NOMEM, "cover");
        goto done;
    }
    /* A band of accent colour holds title and subtitle, bottom-aligned. */
    double title_lh = SIZE_TITLE * 1.2, sub_lh = SIZE_SUBTITLE * 1.4;
    double band_bottom = PAGE_H * 0.56;
    double text_h = (double)tl.n * title_lh + (sl.n ? 8.0 + (double)sl.n * sub_lh : 0.0);
    double band_top = PAGE_H;
    fill_rect(page, ACCENT, 0.0, band_bottom, PAGE_W, band_top - band_bottom);
    double y = band_bottom + 44.0 + text_h;
    if (y > PAGE_H - 60.0)
        y = PAGE_H - 60.0;
    for (size_t i = 0; i < tl.n; i++) {
        draw_text(pdf, page, pdf->bold, SIZE_TITLE, WHITE, LEFT, baseline_in(y, title_lh, SIZE_TITLE),
                  t + tl.v[i].off, tl.v[i].len, NULL);
        y -= title_lh;
    }
    if (sl.n)
        y -= 8.0;
    for (size_t i = 0; i < sl.n; i++) {
        draw_text(pdf, page, pdf->regular, SIZE_SUBTITLE, COVER_SUB, LEFT,
                  baseline_in(y, sub_lh, SIZE_SUBTITLE), sub + sl.v[i].off, sl.v[i].len, NULL);
        y -= sub_lh;
    }
    /* The lines under the band, the first one stressed, after a short rule. */
    y = band_bottom - 40.0;
    if (nlines > 0 && lines)
        fill_rect(page, ACCENT, LEFT, y + 8.0, 36.0, 3.0);
    for (size_t i = 0; i < nlines && lines && y - 18.0 >= BOTTOM; i++) {
        const char *line = cell_text(pdf, lines[i], "cover");
        if (!line)
            break;
        draw_fit(pdf, page, i == 0 ? pdf->bold : pdf->regular, 11.0, i == 0 ? INK : MUTED, LEFT,
                 TEXT_W, BB_PDF_LEFT, baseline_in(y, 18.0, 11.0), line, pdf->cell.len);
        y -= 18.0;
    }
done:
    free(t);
    free(sub);
    spans_free(&tl);
    spans_free(&sl);
    pdf->page = NULL;
    return check_hpdf(pdf, "cover");
}

bb_err bb_pdf_heading(bb_pdf *pdf, int level, const char *text)
{
    bb_err e = enter(pdf, "heading");
    if (e != BB_OK)
        return e;
    if (level != 1 && level != 2) {
        set_msg(pdf, "heading: level %d (1 or 2 expected)", level);
        return BB_ERR_INTERNAL;
    }
    if (pdf->npending == MAX_PENDING)
        begin_block(pdf, 0.0, 0.0);
    heading *h = &pdf->pending[pdf->npending];
    *h = (heading){.level = level};
    h->text = clean_text(text, false);
    if (h->text)
        h->text[bb_utf8_prefix(h->text, strlen(h->text), HEADING_MAX_CP)] = '\0';
    if (!h->text || !wrap(pdf->bold, heading_size(level), h->text, TEXT_W, &h->lines)) {
        heading_free(h);
        return poison(pdf, BB_ERR_NOMEM, "heading");
    }
    if (h->lines.n == 0 && !spans_push(&h->lines, 0, 0)) {
        heading_free(h);
        return poison(pdf, BB_ERR_NOMEM, "heading");
    }
    pdf->npending++;
    return check_hpdf(pdf, "heading");
}

bb_err bb_pdf_paragraph(bb_pdf *pdf, const char *text)
{
    bb_err e = enter(pdf, "paragraph");
    if (e != BB_OK)
        return e;
    return text_block(pdf, text, pdf->regular, SIZE_BODY, LH_BODY, INK, 0.0, GAP_BLOCK, false,
                      "paragraph");
}

bb_err bb_pdf_note(bb_pdf *pdf, const char *text)
{
    bb_err e = enter(pdf, "note");
    if (e != BB_OK)
        return e;
    return text_block(pdf, text, pdf->regular, SIZE_SMALL, LH_SMALL, MUTED, 0.0, GAP_BLOCK - 3.0,
                      false, "note");
}

bb_err bb_pdf_bullets(bb_pdf *pdf, const char *const *items, size_t n)
{
    bb_err e = enter(pdf, "bullets");
    if (e != BB_OK)
        return e;
    if (n > 0 && !items) {
        set_msg(pdf, "bullets: no items");
        return BB_ERR_INTERNAL;
    }
    for (size_t i = 0; i < n && e == BB_OK; i++)
        e = text_block(pdf, items[i], pdf->regular, SIZE_BODY, LH_BODY, INK, BULLET_INDENT,
                       i == 0 ? GAP_BLOCK : 2.0, true, "bullets");
    return e;
}

/* Tiles per row: all of them up to 4, else 3 or 4, whichever leaves fewer
 * empty places in the last row (4 on a tie). */
static size_t kpi_columns(size_t n)
{
    if (n <= 4)
        return n;
    size_t empty3 = (3 - n % 3) % 3, empty4 = (4 - n % 4) % 4;
    return empty3 < empty4 ? 3 : 4;
}

static void draw_tile(bb_pdf *pdf, const bb_pdf_kpi *k, double x, double top, double w)
{
    HPDF_Page page = pdf->page;
    fill_round_rect(page, TILE_BG, x, top - TILE_H, w, TILE_H, 5.0);
    double inner = w - 2.0 * TILE_PAD;

    const char *t = cell_text(pdf, k->label, "kpis");
    if (!t)
        return;
    draw_fit(pdf, page, pdf->regular, SIZE_SMALL, MUTED, x + TILE_PAD, inner, BB_PDF_LEFT,
             top - 9.0 - SIZE_SMALL * ASCENT, t, pdf->cell.len);

    /* Values are shrunk rather than cut: "1,234,5…" would mislead. */
    if (!(t = cell_text(pdf, k->value, "kpis")))
        return;
    double size = SIZE_KPI;
    while (size > SIZE_KPI_MIN && !fits(pdf->bold, size, t, pdf->cell.len, inner))
        size -= 0.5;
    draw_fit(pdf, page, pdf->bold, size, INK, x + TILE_PAD, inner, BB_PDF_LEFT, top - 38.0, t,
             pdf->cell.len);

    if (!k->delta || !(t = cell_text(pdf, k->delta, "kpis")))
        return;
    rgb c = k->tone == BB_PDF_TONE_GOOD ? GOOD : k->tone == BB_PDF_TONE_BAD ? BAD : MUTED;
    draw_fit(pdf, page, pdf->regular, SIZE_SMALL, c, x + TILE_PAD, inner, BB_PDF_LEFT,
             top - TILE_H + 9.0, t, pdf->cell.len);
}

bb_err bb_pdf_kpis(bb_pdf *pdf, const bb_pdf_kpi *kpis, size_t n)
{
    bb_err e = enter(pdf, "kpis");
    if (e != BB_OK)
        return e;
    if (n == 0)
        return BB_OK;
    if (!kpis) {
        set_msg(pdf, "kpis: no tiles");
        return BB_ERR_INTERNAL;
    }
    /* One or two tiles keep the width they have three to a row. */
    size_t cols = kpi_columns(n), grid = cols < 3 ? 3 : cols;
    double w = (TEXT_W - (double)(grid - 1) * TILE_GAP) / (double)grid;
    for (size_t i = 0; i < n && pdf->failed == BB_OK; i += cols) {
        if (i == 0)
            begin_block(pdf, GAP_BLOCK + 2.0, TILE_H);
        else
            place(pdf, TILE_GAP, TILE_H);
        for (size_t c = 0; c < cols && i + c < n; c++)
            draw_tile(pdf, &kpis[i + c], LEFT + (double)c * (w + TILE_GAP), pdf->y, w);
        pdf->y -= TILE_H;
        pdf->fresh = false;
    }
    if (pdf->failed == BB_OK)
        pdf->y -= 2.0;
    return check_hpdf(pdf, "kpis");
}

typedef struct table_geom {
    const bb_pdf_column *cols;
    size_t ncols;
    double *x, *w;
} table_geom;

static void draw_table_header(bb_pdf *pdf, const table_geom *g)
{
    HPDF_Page page = pdf->page;
    fill_rect(page, ACCENT, LEFT, pdf->y - HEAD_ROW_H, TEXT_W, HEAD_ROW_H);
    double base = baseline_in(pdf->y, HEAD_ROW_H, SIZE_TABLE);
    for (size_t c = 0; c < g->ncols; c++) {
        const char *t = cell_text(pdf, g->cols[c].header, "table");
        if (!t)
            return;
        draw_fit(pdf, page, pdf->bold, SIZE_TABLE, WHITE, g->x[c] + CELL_PAD,
                 g->w[c] - 2.0 * CELL_PAD, g->cols[c].align, base, t, pdf->cell.len);
    }
    pdf->y -= HEAD_ROW_H;
    pdf->fresh = false;
}

static void draw_table_row(bb_pdf *pdf, const table_geom *g, const char *const *row, size_t r,
                           bool total)
{
    HPDF_Page page = pdf->page;
    if (total) {
        fill_rect(page, TOTAL_BG, LEFT, pdf->y - ROW_H, TEXT_W, ROW_H);
        hline(page, INK, 0.8, LEFT, RIGHT, pdf->y);
    } else if (r % 2 == 1) {
        fill_rect(page, ZEBRA, LEFT, pdf->y - ROW_H, TEXT_W, ROW_H);
    }
    double base = baseline_in(pdf->y, ROW_H, SIZE_TABLE);
    for (size_t c = 0; c < g->ncols; c++) {
        const char *t = cell_text(pdf, row[c], "table");
        if (!t)
            return;
        draw_fit(pdf, page, total ? pdf->bold : pdf->regular, SIZE_TABLE, INK, g->x[c] + CELL_PAD,
                 g->w[c] - 2.0 * CELL_PAD, g->cols[c].align, base, t, pdf->cell.len);
    }
    pdf->y -= ROW_H;
}

bb_err bb_pdf_table(bb_pdf *pdf, const bb_pdf_column *cols, size_t ncols,
                    const char *const *cells, size_t nrows, bool last_row_is_total)
{
    bb_err e = enter(pdf, "table");
    if (e != BB_OK)
        return e;
    if (ncols == 0 || !cols || (nrows > 0 && !cells) || ncols > 64) {
        set_msg(pdf, "table: %zu columns (1 to 64 expected) or no cells", ncols);
        return BB_ERR_INTERNAL;
    }
    double x[64], w[64], sum = 0.0;
    for (size_t c = 0; c < ncols; c++)
        sum += cols[c].width > 0.0 ? cols[c].width : 1.0;
    double at = LEFT;
    for (size_t c = 0; c < ncols; c++) {
        x[c] = at;
        w[c] = TEXT_W * (cols[c].width > 0.0 ? cols[c].width : 1.0) / sum;
        at += w[c];
    }
    table_geom g = {cols, ncols, x, w};

    size_t first = nrows < 3 ? nrows : 3;
    begin_block(pdf, GAP_BLOCK + 2.0, HEAD_ROW_H + (double)first * ROW_H);
    draw_table_header(pdf, &g);
    for (size_t r = 0; r < nrows && pdf->failed == BB_OK; r++) {
        bool total = last_row_is_total && r == nrows - 1;
        /* The total row never starts a page alone. */
        double need = last_row_is_total && nrows >= 2 && r == nrows - 2 ? 2.0 * ROW_H : ROW_H;
        if (pdf->y - need < BOTTOM - EPS) {
            hline(pdf->page, RULE, 0.6, LEFT, RIGHT, pdf->y);
            new_page(pdf);
            draw_table_header(pdf, &g);
        }
        draw_table_row(pdf, &g, cells + r * ncols, r, total);
    }
    if (!last_row_is_total || nrows == 0)
        hline(pdf->page, RULE, 0.6, LEFT, RIGHT, pdf->y);
    pdf->y -= 2.0;
    return check_hpdf(pdf, "table");
}

/*
 * PNG check before libharu sees the file. libharu 2.3.0 hands libpng an error
 * callback that returns instead of jumping out, so any error libpng raises
 * (a bad CRC, truncated or corrupt image data, a bad filter byte) ends in
 * abort(). So the file is decoded here first as libpng would: chunk layout
 * and CRCs, IHDR values, and the whole zlib stream inflated, which must give
 * exactly the scanlines the header promises, each with a valid filter type.
 */
typedef struct png_info {
    uint32_t width, height;
    unsigned bit_depth, color_type, interlace;
} png_info;

#define PNG_MAX_PIXELS ((uint64_t)64 << 20)

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static unsigned png_channels(unsigned color_type)
{
    switch (color_type) {
    case 0: return 1;
    case 2: return 3;
    case 3: return 1;
    case 4: return 2;
    case 6: return 4;
    default: return 0;
    }
}

static bool png_ihdr_ok(const png_info *in)
{
    unsigned bd = in->bit_depth;
    bool depth_ok;
    switch (in->color_type) {
    case 0: depth_ok = bd == 1 || bd == 2 || bd == 4 || bd == 8 || bd == 16; break;
    case 3: depth_ok = bd == 1 || bd == 2 || bd == 4 || bd == 8; break;
    case 2: case 4: case 6: depth_ok = bd == 8 || bd == 16; break;
    default: depth_ok = false;
    }
    return depth_ok && in->width > 0 && in->height > 0 && in->width <= 1000000 &&
           in->height <= 1000000 && (uint64_t)in->width * in->height <= PNG_MAX_PIXELS &&
           in->interlace <= 1;
}

/* Walks the inflated scanlines: rows of each (Adam7) pass, a filter byte
 * (0..4) then rowbytes bytes each. */
typedef struct png_rows {
    const png_info *in;
    unsigned pass;       /* 0..6 with Adam7, else 0 */
    uint32_t rows_left;  /* in this pass */
    uint64_t row_bytes;  /* of this pass */
    uint64_t left;       /* bytes left in the current row; 0: a filter byte is next */
    bool in_row, done, bad;
} png_rows;

static void png_next_pass(png_rows *r)
{
    static const unsigned x0[7] = {0, 4, 0, 2, 0, 1, 0}, dx[7] = {8, 8, 4, 4, 2, 2, 1};
    static const unsigned y0[7] = {0, 0, 4, 0, 2, 0, 1}, dy[7] = {8, 8, 8, 4, 4, 2, 2};
    const png_info *in = r->in;
    uint64_t bits = (uint64_t)png_channels(in->color_type) * in->bit_depth;
    for (; r->pass < 7; r->pass++) {
        uint32_t w = in->width, h = in->height;
        if (in->interlace) {
            unsigned p = r->pass;
            w = w > x0[p] ? (w - x0[p] + dx[p] - 1) / dx[p] : 0;
            h = h > y0[p] ? (h - y0[p] + dy[p] - 1) / dy[p] : 0;
        }
        if (w > 0 && h > 0) {
            r->rows_left = h;
            r->row_bytes = (w * bits + 7) / 8;
            return;
        }
        if (!in->interlace)
            break;
    }
    r->done = true;
}

static void png_feed(png_rows *r, const unsigned char *p, size_t n)
{
    while (n > 0 && !r->bad) {
        if (r->done) {
            r->bad = true; /* more data than the image holds */
            return;
        }
        if (!r->in_row) {
            if (*p > 4) {
                r->bad = true;
                return;
            }
            p++;
            n--;
            r->in_row = true;
            r->left = r->row_bytes;
            continue;
        }
        size_t take = r->left < n ? (size_t)r->left : n;
        p += take;
        n -= take;
        r->left -= take;
        if (r->left == 0) {
            r->in_row = false;
            if (--r->rows_left == 0) {
                if (r->in->interlace) {
                    r->pass++;
                    png_next_pass(r);
                } else {
                    r->done = true;
                }
            }
        }
    }
}

static bool png_valid(const unsigned char *p, size_t n, png_info *out)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (n < 8 || memcmp(p, sig, 8) != 0)
        return false;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK)
        return false;
    png_rows rows = {.in = out};
    unsigned char buf[16384];
    bool seen_ihdr = false, seen_plte = false, seen_idat = false, idat_ended = false;
    bool stream_end = false, ok = false;
    size_t i = 8;
    while (i + 12 <= n) {
        uint32_t len = be32(p + i);
        const unsigned char *type = p + i + 4, *data = p + i + 8;
        if (len > 0x7FFFFFFFu || len > n - i - 12)
            break;
        bool letters = true;
        for (int k = 0; k < 4; k++)
            letters &= (type[k] >= 'A' && type[k] <= 'Z') || (type[k] >= 'a' && type[k] <= 'z');
        if (!letters || (uint32_t)crc32(crc32(0L, Z_NULL, 0), type, len + 4) != be32(data + len))
            break;
        bool is_idat = memcmp(type, "IDAT", 4) == 0;
        if (seen_idat && !is_idat)
            idat_ended = true;
        if (!seen_ihdr) {
            if (memcmp(type, "IHDR", 4) != 0 || len != 13)
                break;
            *out = (png_info){be32(data), be32(data + 4), data[8], data[9], data[12]};
            if (!png_ihdr_ok(out) || data[10] != 0 || data[11] != 0)
                break;
            seen_ihdr = true;
            png_next_pass(&rows);
        } else if (memcmp(type, "IHDR", 4) == 0) {
            break;
        } else if (memcmp(type, "PLTE", 4) == 0) {
            if (seen_plte || seen_idat || len == 0 || len % 3 != 0 || len > 768)
                break;
            seen_plte = true;
        } else if (is_idat) {
            if (idat_ended || (out->color_type == 3 && !seen_plte))
                break;
            seen_idat = true;
            z.next_in = (unsigned char *)data;
            z.avail_in = len;
            while (z.avail_in > 0 && !stream_end && !rows.bad) {
                z.next_out = buf;
                z.avail_out = sizeof buf;
                int zr = inflate(&z, Z_NO_FLUSH);
                if (zr != Z_OK && zr != Z_STREAM_END)
                    goto done;
                png_feed(&rows, buf, sizeof buf - z.avail_out);
                stream_end = zr == Z_STREAM_END;
            }
            if (rows.bad)
                break;
        } else if (memcmp(type, "IEND", 4) == 0) {
            ok = seen_idat && stream_end && rows.done && !rows.bad;
            break;
        } else if (!(type[0] & 0x20)) {
            break; /* an unknown critical chunk */
        }
        i += 12 + (size_t)len;
    }
done:
    inflateEnd(&z);
    return ok;
}

bb_err bb_pdf_image(bb_pdf *pdf, const char *png_path, const char *caption, double max_height_pt)
{
    bb_err e = enter(pdf, "image");
    if (e != BB_OK)
        return e;
    if (!png_path) {
        set_msg(pdf, "image: no path");
        return BB_ERR_INTERNAL;
    }
    char *data = NULL;
    size_t len = 0;
    e = bb_fs_read_file(png_path, MAX_PNG, &data, &len);
    if (e != BB_OK) {
        set_msg(pdf, "image %s: %s", png_path,
                e == BB_ERR_NOMEM ? "larger than 64 MiB" : strerror(errno));
        return e == BB_ERR_NOMEM ? BB_ERR_DATA : BB_ERR_NOINPUT;
    }
    png_info png;
    if (!png_valid((const unsigned char *)data, len, &png)) {
        free(data);
        set_msg(pdf, "image %s: not a valid PNG file", png_path);
        return BB_ERR_DATA;
    }
    uint32_t iw = png.width, ih = png.height;
    HPDF_Image img = HPDF_LoadPngImageFromMem(pdf->doc, (const HPDF_BYTE *)data, (HPDF_UINT)len);
    free(data);
    if (!img || check_hpdf(pdf, "image") != BB_OK)
        return fail_hpdf(pdf, "image");

    char *cap = clean_text(caption, false);
    spans cl = {0};
    if (!cap || !wrap(pdf->regular, SIZE_SMALL, cap, TEXT_W, &cl)) {
        free(cap);
        return poison(pdf, BB_ERR_NOMEM, "image");
    }
    double cap_h = cl.n ? 5.0 + (double)cl.n * LH_SMALL : 0.0;
    double limit = TOP - BOTTOM - cap_h - pending_height(pdf) -
                   (pdf->npending ? GAP_STACKED : 0.0);
    if (max_height_pt > 0.0 && max_height_pt < limit)
        limit = max_height_pt;
    double w = TEXT_W, h = TEXT_W * (double)ih / (double)iw;
    if (h > limit && limit > 0.0) {
        h = limit;
        w = h * (double)iw / (double)ih;
    }
    begin_block(pdf, GAP_BLOCK + 3.0, h + cap_h);
    HPDF_Page_DrawImage(pdf->page, img, (HPDF_REAL)(LEFT + (TEXT_W - w) / 2.0),
                        (HPDF_REAL)(pdf->y - h), (HPDF_REAL)w, (HPDF_REAL)h);
    pdf->y -= h;
    pdf->fresh = false;
    if (cl.n)
        pdf->y -= 5.0;
    for (size_t i = 0; i < cl.n; i++) {
        draw_fit(pdf, pdf->page, pdf->regular, SIZE_SMALL, MUTED, LEFT, TEXT_W, BB_PDF_CENTER,
                 baseline_in(pdf->y, LH_SMALL, SIZE_SMALL), cap + cl.v[i].off, cl.v[i].len);
        pdf->y -= LH_SMALL;
    }
    free(cap);
    spans_free(&cl);
    return check_hpdf(pdf, "image");
}

bb_err bb_pdf_page_break(bb_pdf *pdf)
{
    bb_err e = enter(pdf, "page break");
    if (e != BB_OK)
        return e;
    if (pdf->npending)
        begin_block(pdf, 0.0, (double)KEEP_LINES * LH_BODY);
    if (pdf->page && !pdf->fresh)
        pdf->page = NULL;
    return check_hpdf(pdf, "page break");
}

/* ---- finishing ----------------------------------------------------------- */

/* Physical page number (from 1) of pages[i] once the contents pages are in. */
static size_t page_number(const bb_pdf *pdf, size_t i)
{
    size_t first_content = pdf->has_cover ? 1 : 0;
    return i + 1 + (i >= first_content ? pdf->ntoc : 0);
}

static void draw_header_footer(bb_pdf *pdf, HPDF_Page page, size_t number, size_t total)
{
    double right_w = 0.0;
    size_t rn = strlen(pdf->header_right);
    if (rn)
        right_w = draw_fit(pdf, page, pdf->regular, SIZE_SMALL, MUTED, LEFT, TEXT_W, BB_PDF_RIGHT,
                           HEADER_BASE, pdf->header_right, rn);
    double left_w = TEXT_W - right_w - (right_w > 0.0 ? 18.0 : 0.0);
    if (left_w > 0.0)
        draw_fit(pdf, page, pdf->bold, SIZE_SMALL, INK, LEFT, left_w, BB_PDF_LEFT, HEADER_BASE,
                 pdf->title, strlen(pdf->title));
    hline(page, RULE, 0.6, LEFT, RIGHT, HEADER_RULE);
    char foot[64];
    int n = snprintf(foot, sizeof foot, "Page %zu of %zu", number, total);
    draw_fit(pdf, page, pdf->regular, SIZE_SMALL, MUTED, LEFT, TEXT_W, BB_PDF_CENTER, FOOTER_BASE,
             foot, (size_t)n);
}

#define TOC_TITLE_H 38.0

/* Assigns every contents entry its contents page and row; returns the
 * number of contents pages. */
static size_t layout_toc(bb_pdf *pdf)
{
    size_t page = 0;
    double y = TOP - TOC_TITLE_H;
    for (size_t i = 0; i < pdf->nentries; i++) {
        toc_entry *t = &pdf->entries[i];
        double gap = t->level == 1 && i > 0 ? 6.0 : 0.0;
        if (y - gap - TOC_ROW_H < BOTTOM - EPS) {
            page++;
            y = TOP;
            gap = 0.0;
        }
        y -= gap;
        t->toc_page = page;
        t->toc_y = y;
        y -= TOC_ROW_H;
    }
    return page + 1;
}

static void draw_toc(bb_pdf *pdf)
{
    HPDF_Page first = pdf->toc_pages[0];
    draw_text(pdf, first, pdf->bold, SIZE_H1, ACCENT, LEFT, baseline_in(TOP, heading_lh(1), SIZE_H1),
              "Contents", 8, NULL);
    hline(first, ACCENT, 0.8, LEFT, RIGHT, TOP - heading_lh(1) - 4.0);
    for (size_t i = 0; i < pdf->nentries && pdf->failed == BB_OK; i++) {
        const toc_entry *t = &pdf->entries[i];
        HPDF_Page page = pdf->toc_pages[t->toc_page];
        HPDF_Font font = t->level == 1 ? pdf->bold : pdf->regular;
        double indent = t->level == 1 ? 0.0 : 14.0;
        double base = baseline_in(t->toc_y, TOC_ROW_H, SIZE_BODY);
        char num[32];
        int nn = snprintf(num, sizeof num, "%zu", page_number(pdf, t->page));
        double num_w = text_width(pdf->regular, SIZE_BODY, num, (size_t)nn);
        draw_text(pdf, page, pdf->regular, SIZE_BODY, INK, RIGHT - num_w, base, num, (size_t)nn,
                  NULL);
        double text_max = TEXT_W - indent - 48.0;
        double tw = draw_fit(pdf, page, font, SIZE_BODY, INK, LEFT + indent, text_max, BB_PDF_LEFT,
                             base, t->text, strlen(t->text));
        double x0 = LEFT + indent + tw + 6.0, x1 = RIGHT - num_w - 6.0;
        if (x1 - x0 > 6.0) {
            /* Dotted leader: 1-unit dashes with round caps read as dots. */
            static const HPDF_UINT16 dots[2] = {1, 3};
            HPDF_Page_GSave(page);
            HPDF_Page_SetDash(page, dots, 2, 0);
            HPDF_Page_SetLineCap(page, HPDF_ROUND_END);
            hline(page, MUTED, 0.9, x0, x1, base + 1.0);
            HPDF_Page_GRestore(page);
        }
        HPDF_Destination dst = HPDF_Page_CreateDestination(pdf->pages[t->page]);
        if (dst)
            HPDF_Destination_SetFitH(dst, (HPDF_REAL)(t->y + 6.0));
        HPDF_Rect r = {(HPDF_REAL)LEFT, (HPDF_REAL)(t->toc_y - TOC_ROW_H), (HPDF_REAL)RIGHT,
                       (HPDF_REAL)t->toc_y};
        HPDF_Annotation a = HPDF_Page_CreateLinkAnnot(page, r, dst);
        if (a)
            HPDF_LinkAnnot_SetBorderStyle(a, 0.0f, 0, 0);
    }
    if (pdf->outline_toc) {
        HPDF_Destination dst = HPDF_Page_CreateDestination(first);
        if (dst)
            HPDF_Destination_SetFitH(dst, (HPDF_REAL)PAGE_H);
        HPDF_Outline_SetDestination(pdf->outline_toc, dst);
    }
}

/* Draws what needs the final page count and renders the file into memory. */
static bb_err finish(bb_pdf *pdf)
{
    if (pdf->finished)
        return BB_OK;
    if (pdf->npending)
        begin_block(pdf, 0.0, 0.0);
    if (pdf->npages == 0)
        new_page(pdf);
    if (pdf->failed != BB_OK)
        return pdf->failed;

    size_t first_content = pdf->has_cover ? 1 : 0;
    if (pdf->toc && pdf->nentries > 0 && pdf->npages > first_content) {
        size_t ntoc = layout_toc(pdf);
        pdf->toc_pages = calloc(ntoc, sizeof *pdf->toc_pages);
        if (!pdf->toc_pages)
            return poison(pdf, BB_ERR_NOMEM, "contents");
        for (size_t i = 0; i < ntoc; i++) {
            HPDF_Page p = HPDF_InsertPage(pdf->doc, pdf->pages[first_content]);
            if (!p)
                return fail_hpdf(pdf, "contents");
            HPDF_Page_SetSize(p, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
            pdf->toc_pages[i] = p;
        }
        pdf->ntoc = ntoc;
        draw_toc(pdf);
    }

    size_t total = pdf->npages + pdf->ntoc;
    for (size_t i = 0; i < pdf->ntoc; i++)
        draw_header_footer(pdf, pdf->toc_pages[i], first_content + i + 1, total);
    for (size_t i = first_content; i < pdf->npages; i++)
        draw_header_footer(pdf, pdf->pages[i], page_number(pdf, i), total);
    if (check_hpdf(pdf, "finish") != BB_OK)
        return pdf->failed;

    if (HPDF_SaveToStream(pdf->doc) != HPDF_OK || check_hpdf(pdf, "save") != BB_OK)
        return fail_hpdf(pdf, "save");
    HPDF_UINT32 size = HPDF_GetStreamSize(pdf->doc);
    pdf->bytes = malloc(size ? size : 1);
    if (!pdf->bytes)
        return poison(pdf, BB_ERR_NOMEM, "save");
    HPDF_UINT32 got = size;
    HPDF_ResetStream(pdf->doc);
    if (size == 0 || HPDF_ReadFromStream(pdf->doc, pdf->bytes, &got) != HPDF_OK || got != size)
        return fail_hpdf(pdf, "save");
    pdf->nbytes = size;
    pdf->finished = true;
    return BB_OK;
}

bb_err bb_pdf_bytes(bb_pdf *pdf, const unsigned char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    if (!pdf)
        return BB_ERR_INTERNAL;
    if (pdf->failed != BB_OK)
        return pdf->failed;
    bb_err e = finish(pdf);
    if (e != BB_OK)
        return e;
    *data = pdf->bytes;
    *len = pdf->nbytes;
    return BB_OK;
}

bb_err bb_pdf_save(bb_pdf *pdf, const char *path)
{
    const unsigned char *data;
    size_t len;
    bb_err e = bb_pdf_bytes(pdf, &data, &len);
    if (e != BB_OK)
        return e;
    if (!path) {
        set_msg(pdf, "save: no path");
        return BB_ERR_INTERNAL;
    }
    /* A reader never sees half a report: write aside, then rename. */
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        set_msg(pdf, "save %s: path too long", path);
        return BB_ERR_CANTCREAT;
    }
    e = bb_fs_write_file(tmp, data, len);
    if (e == BB_OK && rename(tmp, path) != 0)
        e = BB_ERR_CANTCREAT;
    if (e != BB_OK) {
        int err = errno;
        remove(tmp);
        set_msg(pdf, "save %s: %s", path, strerror(err));
    }
    return e;
}

const char *bb_pdf_library_version(void)
{
    return "libharu " HPDF_VERSION_TEXT;
}

bb_err bb_pdf_cells_add(bb_pdf_cells *c, const char *text)
{
    if (c->e != BB_OK)
        return c->e;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        char(*t)[BB_PDF_CELL_SIZE] = realloc(c->text, cap * sizeof *t);
        if (!t)
            return c->e = BB_ERR_NOMEM;
        c->text = t;
        const char **p = realloc(c->ptr, cap * sizeof *p);
        if (!p)
            return c->e = BB_ERR_NOMEM;
        c->ptr = p;
        c->cap = cap;
    }
    snprintf(c->text[c->n], sizeof c->text[0], "%s", text ? text : "");
    c->n++;
    return BB_OK;
}

void bb_pdf_cells_free(bb_pdf_cells *c)
{
    if (!c)
        return;
    free(c->text);
    free(c->ptr);
    memset(c, 0, sizeof *c);
}

bb_err bb_pdf_cells_table(bb_pdf *pdf, const bb_pdf_column *cols, size_t ncols, bb_pdf_cells *c,
                          bool last_row_is_total)
{
    bb_err e = c->e;
    if (e == BB_OK && (ncols == 0 || c->n % ncols))
        e = BB_ERR_INTERNAL;
    if (e == BB_OK && c->n > 0) {
        /* The slots may have moved while growing: point at them now. */
        for (size_t i = 0; i < c->n; i++)
            c->ptr[i] = c->text[i];
        e = bb_pdf_table(pdf, cols, ncols, c->ptr, c->n / ncols, last_row_is_total);
    }
    bb_pdf_cells_free(c);
    return e;
}
