/*
 * xlsx.c - the report workbook over libxlsxwriter 1.1.4.
 *
 * Layout: a bb_xlsx owns the lxw_workbook, the shared cell formats (one per
 * column type, created once so the styles part stays small), a C locale
 * object and the array of its sheets. A bb_xlsx_sheet is a cursor: row is the
 * absolute sheet row being filled, col the next cell in it; rows are handed
 * to libxlsxwriter in order, which is what its constant_memory mode needs.
 *
 * Invariants of a sheet:
 *   first_data_row = title rows (+1 blank) + header row;
 *   row = first_data_row + info.rows_written while the sheet is open;
 *   info.rows_written <= capacity = row_limit - first_data_row - 1, the last
 *   row being kept for the note that rows were left out;
 *   cols[c].data_chars is the widest display width written to column c.
 *
 * libxlsxwriter formats doubles with snprintf("%.16G") (Debian builds it
 * without its dtoa option), which follows LC_NUMERIC: under a de_DE locale
 * 1234.5 would be written "1234,5" and the file would be corrupt. Every call
 * into it therefore runs under uselocale(C) (per thread, cheap).
 *
 * libxlsxwriter prints warnings on stderr for invalid arguments; names,
 * strings and links are checked here first so that it does not. Only a file
 * it cannot create at close still gets its own "[ERROR]" line.
 */
#include "render/xlsx.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "util/buf.h"
#include "util/date.h"
#include "util/fmt.h"

/* Excel's own limits (libxlsxwriter checks them too, noisily). */
#define XL_ROWS          1048576u
#define XL_COLS          16384
#define XL_STR_UNITS     32767u   /* characters in a cell, counted in UTF-16 */
#define XL_URL_CHARS     2079u
#define XL_URLS          65530u
#define XL_FORMULA_STR   255u     /* a string literal inside a formula */
#define XL_NAME_UNITS    31u
/* 1970-01-01 as an Excel serial day, and the serial range Excel can show
 * (1900-03-01: before it Excel's 1900 leap-year bug shifts dates). */
#define XL_EPOCH_SERIAL  25569
#define XL_SERIAL_MIN    61
#define XL_SERIAL_MAX    2958465
/* Seconds at 1980-01-01T00:00:00Z, the date libxlsxwriter gives zip entries. */
#define ZIP_EPOCH        315532800

/* libxlsxwriter's default chart size in pixels, the base of its scales. */
#define CHART_BASE_W     480.0
#define CHART_BASE_H     288.0

typedef struct xcol {
    bb_xcol_type type;
    bool data_bar, delta_colors;
    char *header;          /* cleaned text, unique in a table; NULL: none */
    uint32_t head_chars;   /* display width of the header */
    uint32_t data_chars;   /* widest display width written below it */
} xcol;

struct bb_xlsx_sheet {
    bb_xlsx *wb;
    lxw_worksheet *ws;
    char name[BB_XLSX_NAME_SIZE];
    char *table_name;      /* Excel table name (table sheets in default mode) */
    bool table, ended, has_header;
    xcol *cols;
    int ncols;
    uint32_t header_row;   /* valid when has_header */
    uint32_t first_data_row;
    uint32_t capacity;     /* data rows that fit */
    uint32_t row;          /* absolute row being filled */
    int col;               /* next cell in it */
    uint32_t links;        /* native hyperlinks used, up to wb->link_limit */
    bb_xlsx_sheet_info info;
};

struct bb_xlsx {
    lxw_workbook *lxw;
    locale_t c_locale;
    char *path, *part_path, *tmpdir;
    bool streaming;
    uint32_t row_limit;
    uint32_t link_limit;   /* native hyperlinks per sheet */
    bb_log *log;
    bb_xlsx_sheet **sheets;
    size_t nsheets, sheets_cap;
    lxw_format *fmt_cell[BB_XCOL__COUNT];  /* NULL for text: General */
    lxw_format *fmt_header, *fmt_title, *fmt_subtitle, *fmt_section, *fmt_note;
    lxw_format *cf_good, *cf_bad, *cf_band;
    bb_buf text;           /* cleaned cell text */
    bb_buf url;            /* encoded link target */
    bb_buf formula;        /* HYPERLINK() fallback */
};

/* ---- errors and locale ---- */

static bb_err from_lxw(lxw_error e)
{
    switch (e) {
    case LXW_NO_ERROR:
        return BB_OK;
    case LXW_ERROR_MEMORY_MALLOC_FAILED:
        return BB_ERR_NOMEM;
    case LXW_ERROR_CREATING_XLSX_FILE:
        return BB_ERR_CANTCREAT;
    case LXW_ERROR_CREATING_TMPFILE:
    case LXW_ERROR_READING_TMPFILE:
    case LXW_ERROR_ZIP_FILE_OPERATION:
    case LXW_ERROR_ZIP_BAD_ZIP_FILE:
    case LXW_ERROR_ZIP_FILE_ADD:
    case LXW_ERROR_ZIP_CLOSE:
        return BB_ERR_IO;
    default:
        return BB_ERR_INTERNAL;
    }
}

static bb_err lxw_fail(const bb_xlsx *wb, const char *what, lxw_error e)
{
    if (e != LXW_NO_ERROR)
        bb_error(wb->log, "xlsx: %s: %s: %s", wb->path, what, lxw_strerror(e));
    return from_lxw(e);
}

static locale_t enter_c(const bb_xlsx *wb)
{
    return uselocale(wb->c_locale);
}

static void leave_c(locale_t prev)
{
    uselocale(prev);
}

/* ---- text ---- */

/* Decodes one UTF-8 sequence of s[0..n) into *cp; returns its length, or 0
 * when it is not valid UTF-8 (RFC 3629: no overlongs, no surrogates). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t need;
    uint32_t v, min;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < need + 1)
        return 0;
    for (size_t k = 1; k <= need; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[k] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return need + 1;
}

static size_t utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Columns a code point takes in Excel's grid, roughly: East Asian wide and
 * emoji take two, everything else one. */
static uint32_t cp_columns(uint32_t cp)
{
    if (cp < 0x1100)
        return 1;
    if (cp <= 0x115f || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) ||
        (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) ||
        (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) ||
        (cp >= 0x1f300 && cp <= 0x1faff) || cp >= 0x20000)
        return 2;
    return 1;
}

static bool is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

enum {
    CLEAN_XSTRING = 1,  /* a cell string: protect "_xHHHH_", which Excel decodes */
    CLEAN_ONE_LINE = 2, /* newlines and tabs become spaces (names, headers) */
};

/* Makes s safe for an XML text node: invalid UTF-8 -> U+FFFD, control
 * characters (and U+FFFE/U+FFFF) -> space, '\r' dropped, at most max_units
 * UTF-16 units as stored (Excel counts UTF-16, libxlsxwriter code points).
 * *res points either at s itself (nothing to change, the common case) or at
 * b's data. *cols gets the display width of the widest line; *cut whether
 * the text was too long. */
static bb_err clean_text(bb_buf *b, const char *s, unsigned flags, size_t max_units,
                         const char **res, uint32_t *cols, bool *cut)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    *cut = false;

    size_t i = 0;
    while (i < n && u[i] >= 0x20 && u[i] < 0x7f && u[i] != '_')
        i++;
    if (i == n && n <= max_units) {
        *res = s;
        *cols = (uint32_t)(n > UINT32_MAX ? UINT32_MAX : n);
        return BB_OK;
    }

    bb_buf_clear(b);
    bb_err e = bb_buf_reserve(b, n < max_units * 4 ? n + 16 : max_units * 4 + 16);
    if (e != BB_OK)
        return e;
    b->data[0] = '\0';
    uint32_t line = 0, widest = 0;
    size_t units = 0;
    i = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = utf8_decode(u + i, n - i, &cp);
        if (len == 0) {
            cp = 0xfffd;
            len = 1;
        }
        char enc[8];
        size_t elen;
        if (cp == '\r') {
            i += len;
            continue;
        } else if ((cp == '\n' || cp == '\t') && !(flags & CLEAN_ONE_LINE)) {
            enc[0] = (char)cp, elen = 1;
        } else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
            enc[0] = ' ', elen = 1;
        } else if (cp == 0xfffe || cp == 0xffff) {
            elen = utf8_encode(0xfffd, enc);
        } else if (cp == '_' && (flags & CLEAN_XSTRING) && n - i >= 7 && u[i + 1] == 'x' &&
                   is_hex(u[i + 2]) && is_hex(u[i + 3]) && is_hex(u[i + 4]) &&
                   is_hex(u[i + 5]) && u[i + 6] == '_') {
            memcpy(enc, "_x005F_", 7), elen = 7;  /* Excel reads it as a literal '_' */
        } else {
            elen = utf8_encode(cp, enc);
        }
        size_t eunits = elen == 7 ? 7 : elen == 4 ? 2 : 1;
        if (units + eunits > max_units) {
            *cut = true;
            break;
        }
        units += eunits;
        e = bb_buf_append(b, enc, elen);
        if (e != BB_OK)
            return e;
        if (enc[0] == '\n') {
            line = 0;
        } else {
            line += cp_columns(cp);
            if (line > widest)
                widest = line;
        }
        i += len;
    }
    *res = b->data;
    *cols = widest;
    return BB_OK;
}

/* ---- sheet names ---- */

static bool ascii_ieq(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y - 'A' + 'a');
        if (x != y)
            return false;
        if (x == 0)
            return true;
    }
}

/* Bytes of the longest prefix of valid UTF-8 s that fits max_units UTF-16 units. */
static size_t prefix_units(const char *s, unsigned max_units)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    unsigned units = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = utf8_decode(u + i, n - i, &cp);
        if (len == 0)
            len = 1, cp = 0xfffd;
        unsigned w = cp >= 0x10000 ? 2 : 1;
        if (units + w > max_units)
            break;
        units += w;
        i += len;
    }
    return i;
}

/* Excel's sheet-name rules, without de-duplication. */
static void sanitize_sheet_name(const char *want, char out[static BB_XLSX_NAME_SIZE])
{
    const unsigned char *u = (const unsigned char *)(want ? want : "");
    size_t n = strlen((const char *)u), i = 0, len = 0;
    unsigned units = 0;
    while (i < n) {
        uint32_t cp;
        size_t step = utf8_decode(u + i, n - i, &cp);
        if (step == 0)
            step = 1, cp = 0xfffd;
        i += step;
        if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
            cp = ' ';
        else if (cp < 0x80 && strchr("[]:*?/\\", (int)cp))
            cp = '_';
        else if (cp == 0xfffe || cp == 0xffff)
            cp = 0xfffd;
        if (cp == ' ' && len == 0)
            continue;
        unsigned w = cp >= 0x10000 ? 2 : 1;
        if (units + w > XL_NAME_UNITS)
            break;
        units += w;
        len += utf8_encode(cp, out + len);
    }
    out[len] = '\0';
    /* No apostrophe may open or close the name; spaces there are noise. */
    size_t start = 0;
    while (out[start] == '\'' || out[start] == ' ')
        start++;
    while (len > start && (out[len - 1] == '\'' || out[len - 1] == ' '))
        len--;
    memmove(out, out + start, len - start);
    out[len - start] = '\0';
    if (out[0] == '\0')
        memcpy(out, "Sheet", 6);
    else if (ascii_ieq(out, "History"))  /* reserved by Excel */
        memcpy(out, "History_", 9);
}

static bool name_taken(const bb_xlsx *wb, const char *name)
{
    for (size_t k = 0; wb && k < wb->nsheets; k++)
        if (ascii_ieq(wb->sheets[k]->name, name))
            return true;
    return false;
}

void bb_xlsx_sheet_name_for(const bb_xlsx *wb, const char *want,
                            char out[static BB_XLSX_NAME_SIZE])
{
    char base[BB_XLSX_NAME_SIZE];
    sanitize_sheet_name(want, base);
    if (!name_taken(wb, base)) {
        memcpy(out, base, strlen(base) + 1);
        return;
    }
    for (unsigned k = 2;; k++) {
        char suffix[16];
        int slen = snprintf(suffix, sizeof suffix, " (%u)", k);
        size_t keep = prefix_units(base, XL_NAME_UNITS - (unsigned)slen);
        memcpy(out, base, keep);
        memcpy(out + keep, suffix, (size_t)slen + 1);
        if (!name_taken(wb, out))
            return;
    }
}

/* ---- workbook ---- */

static lxw_format *new_format(lxw_workbook *lxw, const char *num_format)
{
    lxw_format *f = workbook_add_format(lxw);
    if (f && num_format)
        format_set_num_format(f, num_format);
    return f;
}

static bb_err make_formats(bb_xlsx *wb, const char *money_format)
{
    lxw_workbook *x = wb->lxw;
    wb->fmt_cell[BB_XCOL_TEXT] = NULL;
    wb->fmt_cell[BB_XCOL_ANY] = NULL;
    if (!(wb->fmt_cell[BB_XCOL_INT] = new_format(x, "#,##0")) ||
        !(wb->fmt_cell[BB_XCOL_MONEY] = new_format(x, money_format ? money_format : "#,##0.00")) ||
        !(wb->fmt_cell[BB_XCOL_NUMBER] = new_format(x, "#,##0.00")) ||
        !(wb->fmt_cell[BB_XCOL_PERCENT] = new_format(x, "0.0 %")) ||
        !(wb->fmt_cell[BB_XCOL_DATE] = new_format(x, "yyyy-mm-dd")) ||
        !(wb->fmt_header = new_format(x, NULL)) || !(wb->fmt_title = new_format(x, NULL)) ||
        !(wb->fmt_subtitle = new_format(x, NULL)) || !(wb->fmt_section = new_format(x, NULL)) ||
        !(wb->fmt_note = new_format(x, NULL)) || !(wb->cf_good = new_format(x, NULL)) ||
        !(wb->cf_bad = new_format(x, NULL)) || !(wb->cf_band = new_format(x, NULL)))
        return BB_ERR_NOMEM;
    format_set_bold(wb->fmt_header);
    format_set_bg_color(wb->fmt_header, 0xDDEBF7);
    format_set_bottom(wb->fmt_header, LXW_BORDER_THIN);
    format_set_bold(wb->fmt_title);
    format_set_font_size(wb->fmt_title, 14);
    format_set_italic(wb->fmt_subtitle);
    format_set_font_color(wb->fmt_subtitle, 0x595959);
    format_set_bold(wb->fmt_section);
    format_set_bottom(wb->fmt_section, LXW_BORDER_THIN);
    format_set_italic(wb->fmt_note);
    format_set_font_color(wb->fmt_note, 0xC00000);
    /* Excel's built-in "Good" and "Bad" cell styles. */
    format_set_font_color(wb->cf_good, 0x006100);
    format_set_bg_color(wb->cf_good, 0xC6EFCE);
    format_set_font_color(wb->cf_bad, 0x9C0006);
    format_set_bg_color(wb->cf_bad, 0xFFC7CE);
    format_set_bg_color(wb->cf_band, 0xF2F2F2);
    return BB_OK;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static void sheet_free(bb_xlsx_sheet *s)
{
    if (!s)
        return;
    for (int c = 0; c < s->ncols; c++)
        free(s->cols[c].header);
    free(s->cols);
    free(s->table_name);
    free(s);
}

/* Frees everything but the file; lxw is freed unless already consumed. */
static void wb_release(bb_xlsx *wb)
{
    for (size_t k = 0; k < wb->nsheets; k++)
        sheet_free(wb->sheets[k]);
    free(wb->sheets);
    bb_buf_free(&wb->text);
    bb_buf_free(&wb->url);
    bb_buf_free(&wb->formula);
    if (wb->c_locale)
        freelocale(wb->c_locale);
    free(wb->path);
    free(wb->part_path);
    free(wb->tmpdir);
    free(wb);
}

/* Copies a property through the text cleaner (libxlsxwriter copies it again). */
static bb_err prop_text(bb_buf *pool, const char *v, size_t *off)
{
    *off = SIZE_MAX;
    if (!v)
        return BB_OK;
    bb_buf tmp;
    bb_buf_init(&tmp, 1 << 16);
    const char *res;
    uint32_t cols;
    bool cut;
    bb_err e = clean_text(&tmp, v, 0, 8000, &res, &cols, &cut);
    if (e == BB_OK) {
        *off = pool->len;
        e = bb_buf_append(pool, res, strlen(res) + 1);
    }
    bb_buf_free(&tmp);
    return e;
}

static bb_err set_properties(bb_xlsx *wb, const bb_xlsx_opts *o)
{
    const char *in[6] = {o->title, o->subject, o->author, o->company, o->keywords, o->comments};
    size_t off[6];
    bb_buf pool;
    bb_buf_init(&pool, 1 << 20);
    bb_err e = BB_OK;
    for (int k = 0; k < 6 && e == BB_OK; k++)
        e = prop_text(&pool, in[k], &off[k]);
    if (e != BB_OK) {
        bb_buf_free(&pool);
        return e;
    }
    char *p[6];
    for (int k = 0; k < 6; k++)
        p[k] = off[k] == SIZE_MAX ? NULL : pool.data + off[k];
    lxw_doc_properties props = {
        .title = p[0], .subject = p[1], .author = p[2], .company = p[3],
        .keywords = p[4], .comments = p[5],
        .created = (time_t)(o->created_epoch > 0 ? o->created_epoch : ZIP_EPOCH),
    };
    locale_t prev = enter_c(wb);
    lxw_error le = workbook_set_properties(wb->lxw, &props);
    leave_c(prev);
    bb_buf_free(&pool);
    return lxw_fail(wb, "document properties", le);
}

bb_err bb_xlsx_new(bb_xlsx **out, const char *path, const bb_xlsx_opts *opts)
{
    static const bb_xlsx_opts no_opts;
    *out = NULL;
    if (!path || !*path)
        return BB_ERR_INTERNAL;
    const bb_xlsx_opts *o = opts ? opts : &no_opts;
    bb_err e = BB_ERR_NOMEM;
    bb_xlsx *wb = calloc(1, sizeof *wb);
    if (!wb)
        return BB_ERR_NOMEM;
    wb->streaming = o->streaming;
    wb->row_limit = o->row_limit && o->row_limit < XL_ROWS ? o->row_limit : XL_ROWS;
    wb->link_limit = o->link_limit == 0 ? BB_XLSX_LINKS_DEFAULT
                     : o->link_limit < XL_URLS ? o->link_limit : XL_URLS;
    wb->log = o->log;
    bb_buf_init(&wb->text, 1 << 20);
    bb_buf_init(&wb->url, 1 << 16);
    bb_buf_init(&wb->formula, 1 << 16);
    wb->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    wb->path = dup_str(path);
    size_t n = strlen(path);
    wb->part_path = malloc(n + sizeof ".part");
    if (!wb->c_locale || !wb->path || !wb->part_path)
        goto fail;
    memcpy(wb->part_path, path, n);
    memcpy(wb->part_path + n, ".part", sizeof ".part");
    if (o->tmpdir && !(wb->tmpdir = dup_str(o->tmpdir)))
        goto fail;

    /* libxlsxwriter opens the file only at close; find out now, before a
     * million rows are written, that it cannot be created. */
    FILE *probe = fopen(wb->part_path, "wb");
    if (!probe) {
        bb_error(wb->log, "xlsx: cannot create %s: %s", wb->part_path, strerror(errno));
        e = BB_ERR_CANTCREAT;
        goto fail;
    }
    fclose(probe);

    lxw_workbook_options lo = {
        .constant_memory = o->streaming ? LXW_TRUE : LXW_FALSE,
        .tmpdir = wb->tmpdir,
    };
    locale_t prev = enter_c(wb);
    wb->lxw = workbook_new_opt(wb->part_path, &lo);
    leave_c(prev);
    if (!wb->lxw) {
        bb_error(wb->log, "xlsx: %s: cannot start the workbook (memory or temp dir)", path);
        e = BB_ERR_NOMEM;
        goto fail_part;
    }
    if ((e = make_formats(wb, o->money_format)) != BB_OK ||
        (e = set_properties(wb, o)) != BB_OK)
        goto fail_part;
    *out = wb;
    return BB_OK;

fail_part:
    if (wb->lxw)
        lxw_workbook_free(wb->lxw);
    unlink(wb->part_path);
fail:
    wb_release(wb);
    return e;
}

void bb_xlsx_free(bb_xlsx *wb)
{
    if (!wb)
        return;
    if (wb->streaming) {
        /* lxw_workbook_free() leaks the sheets' temp files in constant_memory
         * mode (1.1.4); workbook_close() closes them, at the price of
         * writing a file that is removed right away. */
        locale_t prev = enter_c(wb);
        workbook_close(wb->lxw);
        leave_c(prev);
    } else {
        lxw_workbook_free(wb->lxw);
    }
    unlink(wb->part_path);
    wb_release(wb);
}

bb_err bb_xlsx_close(bb_xlsx *wb)
{
    if (!wb)
        return BB_ERR_INTERNAL;
    for (size_t k = 0; k < wb->nsheets; k++) {
        if (!wb->sheets[k]->ended) {
            bb_error(wb->log, "xlsx: %s: sheet '%s' was not ended", wb->path,
                     wb->sheets[k]->name);
            bb_xlsx_free(wb);
            return BB_ERR_INTERNAL;
        }
    }
    locale_t prev = enter_c(wb);
    lxw_error le = workbook_close(wb->lxw);  /* frees lxw whatever happens */
    leave_c(prev);
    bb_err e = lxw_fail(wb, "writing", le);
    if (e == BB_OK && rename(wb->part_path, wb->path) != 0) {
        bb_error(wb->log, "xlsx: cannot rename %s to %s: %s", wb->part_path, wb->path,
                 strerror(errno));
        e = BB_ERR_IO;
    }
    if (e != BB_OK)
        unlink(wb->part_path);
    wb_release(wb);
    return e;
}

/* ---- sheets ---- */

const char *bb_xlsx_sheet_name(const bb_xlsx_sheet *s)
{
    return s->name;
}

/* Header texts on one line; in a table also non-empty and unique ignoring
 * ASCII case, as Excel requires of table column names. */
static bb_err make_headers(bb_xlsx_sheet *s, const bb_xlsx_col *cols)
{
    bb_xlsx *wb = s->wb;
    for (int c = 0; c < s->ncols; c++) {
        const char *h = cols[c].header;
        char generated[32];
        if ((!h || !*h) && s->table) {
            snprintf(generated, sizeof generated, "Column %d", c + 1);
            h = generated;
        }
        if (!h || !*h)
            continue;
        const char *res;
        uint32_t w;
        bool cut;
        bb_err e = clean_text(&wb->text, h, CLEAN_XSTRING | CLEAN_ONE_LINE, 255, &res, &w, &cut);
        if (e != BB_OK)
            return e;
        size_t len = strlen(res);
        char *copy = malloc(len + 16);
        if (!copy)
            return BB_ERR_NOMEM;
        memcpy(copy, res, len + 1);
        uint32_t base_w = w;
        for (unsigned k = 2; s->table; k++) {
            bool dup = false;
            for (int p = 0; p < c && !dup; p++)
                dup = s->cols[p].header && ascii_ieq(s->cols[p].header, copy);
            if (!dup)
                break;
            w = base_w + (uint32_t)snprintf(copy + len, 16, " %u", k);
        }
        s->cols[c].header = copy;
        s->cols[c].head_chars = w;
        s->has_header = true;
    }
    return BB_OK;
}

/* "Table_" + the sheet name's letters and digits: a valid, unique Excel name
 * that can never be read as a cell reference. */
static bb_err make_table_name(bb_xlsx_sheet *s)
{
    char name[64] = "Table_";
    size_t len = 6;
    for (const char *p = s->name; *p && len < 40; p++) {
        unsigned char ch = (unsigned char)*p;
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        if (ok || (ch == ' ' && name[len - 1] != '_'))
            name[len++] = ok ? (char)ch : '_';
    }
    name[len] = '\0';
    for (unsigned k = 2;; k++) {
        bool dup = false;
        for (size_t i = 0; i + 1 < s->wb->nsheets && !dup; i++)
            dup = s->wb->sheets[i]->table_name && ascii_ieq(s->wb->sheets[i]->table_name, name);
        if (!dup)
            break;
        snprintf(name + len, sizeof name - len, "_%u", k);
    }
    s->table_name = dup_str(name);
    return s->table_name ? BB_OK : BB_ERR_NOMEM;
}

/* Writes one string cell of our own text (titles, headers, notes). */
static bb_err put_string(bb_xlsx_sheet *s, uint32_t row, int col, const char *v, lxw_format *f)
{
    const char *res;
    uint32_t w;
    bool cut;
    bb_err e = clean_text(&s->wb->text, v, CLEAN_XSTRING, XL_STR_UNITS, &res, &w, &cut);
    if (e != BB_OK || !*res)
        return e;
    return lxw_fail(s->wb, "writing a cell",
                    worksheet_write_string(s->ws, row, (lxw_col_t)col, res, f));
}

/* One row per line of the title, then a blank row. */
static bb_err write_title(bb_xlsx_sheet *s, const char *title)
{
    char *copy = dup_str(title);
    if (!copy)
        return BB_ERR_NOMEM;
    bb_err e = BB_OK;
    uint32_t row = 0;
    for (char *line = copy; e == BB_OK && line; row++) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        e = put_string(s, row, 0, line, row == 0 ? s->wb->fmt_title : s->wb->fmt_subtitle);
        line = nl ? nl + 1 : NULL;
    }
    free(copy);
    s->row = row + 1;
    return e;
}

static bb_err sheet_begin(bb_xlsx *wb, const char *name, const char *title,
                          const bb_xlsx_col *cols, int ncols, bool table, bb_xlsx_sheet **out)
{
    *out = NULL;
    if (!wb || !cols || ncols < 1 || ncols > XL_COLS)
        return BB_ERR_INTERNAL;
    for (int c = 0; c < ncols; c++)
        if ((unsigned)cols[c].type >= BB_XCOL__COUNT)
            return BB_ERR_INTERNAL;
    if (wb->nsheets == wb->sheets_cap) {
        size_t cap = wb->sheets_cap ? wb->sheets_cap * 2 : 8;
        bb_xlsx_sheet **grown = realloc(wb->sheets, cap * sizeof *grown);
        if (!grown)
            return BB_ERR_NOMEM;
        wb->sheets = grown;
        wb->sheets_cap = cap;
    }
    bb_err e = BB_ERR_NOMEM;
    bb_xlsx_sheet *s = calloc(1, sizeof *s);
    if (!s)
        return BB_ERR_NOMEM;
    s->wb = wb;
    s->table = table;
    s->ncols = ncols;
    if (!(s->cols = calloc((size_t)ncols, sizeof *s->cols)))
        goto fail;
    for (int c = 0; c < ncols; c++) {
        s->cols[c].type = cols[c].type;
        s->cols[c].data_bar = cols[c].data_bar;
        s->cols[c].delta_colors = cols[c].delta_colors;
    }
    bb_xlsx_sheet_name_for(wb, name, s->name);
    if ((e = make_headers(s, cols)) != BB_OK)
        goto fail;
    uint32_t title_rows = 0;
    if (title && *title) {
        title_rows = 2;  /* the first line and a blank row under the title */
        for (const char *p = title; (p = strchr(p, '\n')) != NULL; p++)
            title_rows++;
    }
    uint64_t first_data_row = (uint64_t)title_rows + s->has_header;
    if (first_data_row + 2 > wb->row_limit) {
        e = BB_ERR_INTERNAL;  /* no room for a data row and the cut note */
        goto fail;
    }

    locale_t prev = enter_c(wb);
    lxw_error le = workbook_validate_sheet_name(wb->lxw, s->name);
    if (le == LXW_NO_ERROR)
        s->ws = workbook_add_worksheet(wb->lxw, s->name);
    leave_c(prev);
    if ((e = lxw_fail(wb, "adding a sheet", le)) != BB_OK)
        goto fail;
    if (!s->ws) {
        /* In streaming mode each sheet needs a temp file. */
        bb_error(wb->log, "xlsx: %s: cannot add sheet '%s' (%s)", wb->path, s->name,
                 wb->streaming ? "temp file" : "memory");
        e = wb->streaming ? BB_ERR_IO : BB_ERR_NOMEM;
        goto fail;
    }
    /* From here the sheet belongs to the workbook, even on failure. */
    wb->sheets[wb->nsheets++] = s;

    prev = enter_c(wb);
    e = BB_OK;
    if (title && *title)
        e = write_title(s, title);
    if (e == BB_OK && s->has_header) {
        s->header_row = s->row++;
        /* A default-mode table writes its own header cells, styled by it. */
        bool own_cells = !(table && !wb->streaming);
        for (int c = 0; c < ncols && e == BB_OK && own_cells; c++)
            if (s->cols[c].header)
                e = put_string(s, s->header_row, c, s->cols[c].header, wb->fmt_header);
    }
    leave_c(prev);
    if (e != BB_OK)
        return e;
    s->first_data_row = s->row;
    s->capacity = wb->row_limit - s->first_data_row - 1;
    if (table && !wb->streaming && (e = make_table_name(s)) != BB_OK)
        return e;
    *out = s;
    return BB_OK;

fail:
    sheet_free(s);
    return e;
}

bb_err bb_xlsx_table_begin(bb_xlsx *wb, const char *name, const char *title,
                           const bb_xlsx_col *cols, int ncols, bb_xlsx_sheet **out)
{
    return sheet_begin(wb, name, title, cols, ncols, true, out);
}

bb_err bb_xlsx_list_begin(bb_xlsx *wb, const char *name, const char *title,
                          const bb_xlsx_col *cols, int ncols, bb_xlsx_sheet **out)
{
    return sheet_begin(wb, name, title, cols, ncols, false, out);
}

/* ---- cells ---- */

/* Claims the next cell for a value of type `want` (BB_XCOL_ANY: text, link
 * or empty, which fit every column). *write is false when the current row is
 * past the sheet's capacity and will be dropped. */
static bb_err cell_next(bb_xlsx_sheet *s, bb_xcol_type want, int *col, bool *write)
{
    if (!s || s->ended || s->col >= s->ncols)
        return BB_ERR_INTERNAL;
    bb_xcol_type have = s->cols[s->col].type;
    if (want != BB_XCOL_ANY && have != want && have != BB_XCOL_ANY)
        return BB_ERR_INTERNAL;
    *col = s->col++;
    *write = s->info.rows_written < s->capacity;
    return BB_OK;
}

static void widen(bb_xlsx_sheet *s, int col, uint32_t chars)
{
    if (chars > s->cols[col].data_chars)
        s->cols[col].data_chars = chars;
}

static uint32_t digits_u64(uint64_t v)
{
    uint32_t d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

/* Characters of v printed with thousands separators: 1234567 -> 9. */
static uint32_t grouped_chars(uint64_t v)
{
    uint32_t d = digits_u64(v);
    return d + (d - 1) / 3;
}

static uint64_t abs_u64(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

static bb_err put_number(bb_xlsx_sheet *s, int col, double v, bb_xcol_type type, uint32_t chars)
{
    widen(s, col, chars);
    locale_t prev = enter_c(s->wb);
    lxw_error le = worksheet_write_number(s->ws, s->row, (lxw_col_t)col, v, s->wb->fmt_cell[type]);
    leave_c(prev);
    return lxw_fail(s->wb, "writing a number", le);
}

bb_err bb_xlsx_text(bb_xlsx_sheet *s, const char *v)
{
    int col;
    bool write;
    bb_err e = cell_next(s, BB_XCOL_ANY, &col, &write);
    if (e != BB_OK || !write || !v || !*v)
        return e;
    const char *res;
    uint32_t w;
    bool cut;
    if ((e = clean_text(&s->wb->text, v, CLEAN_XSTRING, XL_STR_UNITS, &res, &w, &cut)) != BB_OK)
        return e;
    s->info.texts_cut += cut;
    if (!*res)
        return BB_OK;
    widen(s, col, w);
    locale_t prev = enter_c(s->wb);
    lxw_error le = worksheet_write_string(s->ws, s->row, (lxw_col_t)col, res, NULL);
    leave_c(prev);
    return lxw_fail(s->wb, "writing a string", le);
}

bb_err bb_xlsx_int(bb_xlsx_sheet *s, int64_t v)
{
    int col;
    bool write;
    bb_err e = cell_next(s, BB_XCOL_INT, &col, &write);
    if (e != BB_OK || !write)
        return e;
    return put_number(s, col, (double)v, BB_XCOL_INT, grouped_chars(abs_u64(v)) + (v < 0));
}

bb_err bb_xlsx_money(bb_xlsx_sheet *s, int64_t cents)
{
    int col;
    bool write;
    bb_err e = cell_next(s, BB_XCOL_MONEY, &col, &write);
    if (e != BB_OK || !write)
        return e;
    /* cents / 100.0 is the double nearest the decimal amount, and
     * libxlsxwriter's %.16G prints that back as the same decimal while the
     * amount has at most 15 digits (below 10^13 currency units). */
    return put_number(s, col, (double)cents / 100.0, BB_XCOL_MONEY,
                      grouped_chars(abs_u64(cents) / 100) + 3 + (cents < 0));
}

static uint32_t fixed_chars(double v, double scale, bool grouped)
{
    double a = fabs(v) * scale;
    if (a >= 1e18)
        return 26;
    uint64_t ip = (uint64_t)a;
    return (grouped ? grouped_chars(ip) : digits_u64(ip)) + (v < 0);
}

bb_err bb_xlsx_number(bb_xlsx_sheet *s, double v)
{
    int col;
    bool write;
    bb_err e = cell_next(s, BB_XCOL_NUMBER, &col, &write);
    if (e != BB_OK || !write || !isfinite(v))
        return e;
    return put_number(s, col, v, BB_XCOL_NUMBER, fixed_chars(v, 1.0, true) + 3);
}

bb_err bb_xlsx_percent(bb_xlsx_sheet *s, double ratio)
{
    int col;
    bool write;
    bb_err e = cell_next(s, BB_XCOL_PERCENT, &col, &write);
    if (e != BB_OK || !write || !isfinite(ratio))
        return e;
    return put_number(s, col, ratio, BB_XCOL_PERCENT, fixed_chars(ratio, 100.0, false) + 4);
}

bb_err bb_xlsx_date(bb_xlsx_sheet *s, int32_t day)
{
    int col;
    bool write;
    bb_err e = cell_next(s, BB_XCOL_DATE, &col, &write);
    if (e != BB_OK || !write || day == BB_DATE_NONE)
        return e;
    int64_t serial = (int64_t)day + XL_EPOCH_SERIAL;
    if (serial >= XL_SERIAL_MIN && serial <= XL_SERIAL_MAX)
        return put_number(s, col, (double)serial, BB_XCOL_DATE, 10);
    char iso[11];
    bb_date_format(day, iso);
    widen(s, col, (uint32_t)strlen(iso));
    locale_t prev = enter_c(s->wb);
    lxw_error le = worksheet_write_string(s->ws, s->row, (lxw_col_t)col, iso, NULL);
    leave_c(prev);
    return lxw_fail(s->wb, "writing a date", le);
}

/* ---- links ---- */

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* Percent-encodes a relative path: unreserved characters and '/' stay, a
 * backslash becomes '/', everything else (space, '#', '%', ':', non-ASCII)
 * becomes %XX, so no path can look like a scheme or an anchor. */
static bb_err encode_path(bb_buf *b, const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    bb_buf_clear(b);
    bb_err e = bb_buf_append(b, "", 0);
    for (const unsigned char *p = (const unsigned char *)path; *p && e == BB_OK; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
            e = bb_buf_putc(b, (char)c);
        } else if (c == '\\') {
            e = bb_buf_putc(b, '/');
        } else {
            char enc[3] = {'%', hex[c >> 4], hex[c & 15]};
            e = bb_buf_append(b, enc, 3);
        }
    }
    return e;
}

/* A URL with a scheme is kept, except that bytes which cannot appear in a
 * URL (controls, space, quote) are percent-encoded. */
static bb_err encode_url(bb_buf *b, const char *url)
{
    static const char hex[] = "0123456789ABCDEF";
    bb_buf_clear(b);
    bb_err e = bb_buf_append(b, "", 0);
    for (const unsigned char *p = (const unsigned char *)url; *p && e == BB_OK; p++) {
        unsigned char c = *p;
        if (c <= 0x20 || c == 0x7f || c == '"' || c == '<' || c == '>') {
            char enc[3] = {'%', hex[c >> 4], hex[c & 15]};
            e = bb_buf_append(b, enc, 3);
        } else {
            e = bb_buf_putc(b, (char)c);
        }
    }
    return e;
}

static size_t utf8_count(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* "=HYPERLINK("target","text")" with quotes doubled; false when a part is
 * over the 255-character limit of formula strings. */
static bool hyperlink_formula(bb_buf *b, const char *target, const char *text, bb_err *e)
{
    *e = BB_OK;
    if (utf8_count(target) > XL_FORMULA_STR || utf8_count(text) > XL_FORMULA_STR)
        return false;
    bb_buf_clear(b);
    const char *parts[2] = {target, text};
    *e = bb_buf_puts(b, "=HYPERLINK(\"");
    for (int k = 0; k < 2 && *e == BB_OK; k++) {
        for (const char *p = parts[k]; *p && *e == BB_OK; p++)
            *e = *p == '"' ? bb_buf_puts(b, "\"\"") : bb_buf_putc(b, *p);
        if (*e == BB_OK)
            *e = bb_buf_puts(b, k == 0 ? "\",\"" : "\")");
    }
    return *e == BB_OK;
}

/* Writes text `shown` at the current cell as a link to url (libxlsxwriter's
 * form: "internal:..." for places in the workbook) or, when Excel cannot hold
 * it, as a HYPERLINK() formula (formula_target) or plain text. */
static bb_err put_link(bb_xlsx_sheet *s, int col, const char *url, const char *formula_target,
                       const char *shown_raw)
{
    bb_xlsx *wb = s->wb;
    const char *shown;
    uint32_t w;
    bool cut;
    bb_err e = clean_text(&wb->text, shown_raw, CLEAN_XSTRING | CLEAN_ONE_LINE, 1000, &shown,
                          &w, &cut);
    if (e != BB_OK)
        return e;
    s->info.texts_cut += cut;
    widen(s, col, w);
    lxw_error le;
    locale_t prev = enter_c(wb);
    if (utf8_count(url) > XL_URL_CHARS) {
        s->info.links_dropped++;
        le = *shown ? worksheet_write_string(s->ws, s->row, (lxw_col_t)col, shown, NULL)
                    : LXW_NO_ERROR;
    } else if (s->links < wb->link_limit) {
        s->links++;
        /* A NULL format gives libxlsxwriter's blue, underlined link style. */
        le = worksheet_write_url_opt(s->ws, s->row, (lxw_col_t)col, url, NULL,
                                     *shown ? shown : NULL, NULL);
    } else if (hyperlink_formula(&wb->formula, formula_target, shown, &e)) {
        s->info.links_as_formula++;
        le = worksheet_write_formula_str(s->ws, s->row, (lxw_col_t)col, wb->formula.data,
                                         workbook_get_default_url_format(wb->lxw), shown);
    } else {
        s->info.links_dropped++;
        le = e == BB_OK && *shown
                 ? worksheet_write_string(s->ws, s->row, (lxw_col_t)col, shown, NULL)
                 : LXW_NO_ERROR;
    }
    leave_c(prev);
    return e != BB_OK ? e : lxw_fail(wb, "writing a link", le);
}

bb_err bb_xlsx_link(bb_xlsx_sheet *s, const char *target, const char *text)
{
    int col;
    bool write;
    bb_err e = cell_next(s, BB_XCOL_ANY, &col, &write);
    if (e != BB_OK)
        return e;
    if (!target || !*target)
        return BB_ERR_INTERNAL;
    bool scheme = has_prefix(target, "http://") || has_prefix(target, "https://") ||
                  has_prefix(target, "ftp://") || has_prefix(target, "mailto:");
    if (!scheme) {
        const char *p = target;
        while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
               *p == '+' || *p == '-' || *p == '.')
            p++;
        /* "x:" with a one-letter x is a Windows drive, not a scheme. */
        if (*p == ':' && p - target > 1)
            return BB_ERR_INTERNAL;
    }
    if (!write)
        return BB_OK;
    bb_xlsx *wb = s->wb;
    if ((e = scheme ? encode_url(&wb->url, target) : encode_path(&wb->url, target)) != BB_OK)
        return e;
    if (scheme)
        return put_link(s, col, wb->url.data, wb->url.data, text ? text : target);
    /* HYPERLINK() takes a path as a path: not percent-encoded. */
    char *path = dup_str(target);
    if (!path)
        return BB_ERR_NOMEM;
    for (char *p = path; *p; p++)
        if (*p == '\\')
            *p = '/';
        else if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '_';
    e = put_link(s, col, wb->url.data, path, text ? text : target);
    free(path);
    return e;
}

bb_err bb_xlsx_link_sheet(bb_xlsx_sheet *s, const bb_xlsx_sheet *to, const char *text)
{
    int col;
    bool write;
    bb_err e = cell_next(s, BB_XCOL_ANY, &col, &write);
    if (e != BB_OK)
        return e;
    if (!to || to->wb != s->wb)
        return BB_ERR_INTERNAL;
    if (!write)
        return BB_OK;
    /* 'It''s'!A1: the name quoted, its apostrophes doubled. libxlsxwriter
     * wants it after "internal:", a HYPERLINK() formula after '#'. */
    char loc[2 * BB_XLSX_NAME_SIZE + 8];
    size_t n = 0;
    loc[n++] = '\'';
    for (const char *p = to->name; *p; p++) {
        if (*p == '\'')
            loc[n++] = '\'';
        loc[n++] = *p;
    }
    memcpy(loc + n, "'!A1", 5);
    char url[sizeof loc + 16], formula_target[sizeof loc + 2];
    snprintf(url, sizeof url, "internal:%s", loc);
    snprintf(formula_target, sizeof formula_target, "#%s", loc);
    return put_link(s, col, url, formula_target, text ? text : to->name);
}

/* ---- rows ---- */

bb_err bb_xlsx_row_end(bb_xlsx_sheet *s)
{
    if (!s || s->ended)
        return BB_ERR_INTERNAL;
    if (s->info.rows_written < s->capacity) {
        s->info.rows_written++;
        s->row++;
    } else {
        s->info.rows_dropped++;
    }
    s->col = 0;
    return BB_OK;
}

bb_err bb_xlsx_section(bb_xlsx_sheet *s, const char *text)
{
    if (!s || s->ended || s->table || s->col != 0)
        return BB_ERR_INTERNAL;
    if (s->info.rows_written < s->capacity && text && *text) {
        const char *res;
        uint32_t w;
        bool cut;
        bb_err e = clean_text(&s->wb->text, text, CLEAN_XSTRING | CLEAN_ONE_LINE, 1000, &res,
                              &w, &cut);
        if (e != BB_OK)
            return e;
        locale_t prev = enter_c(s->wb);
        lxw_error le = worksheet_write_string(s->ws, s->row, 0, res, s->wb->fmt_section);
        for (int c = 1; c < s->ncols && le == LXW_NO_ERROR; c++)
            le = worksheet_write_blank(s->ws, s->row, (lxw_col_t)c, s->wb->fmt_section);
        leave_c(prev);
        if ((e = lxw_fail(s->wb, "writing a section", le)) != BB_OK)
            return e;
    }
    return bb_xlsx_row_end(s);
}

/* ---- finishing a sheet ---- */

static bb_err add_cf(bb_xlsx_sheet *s, uint32_t r0, uint32_t r1, int c0, int c1,
                     lxw_conditional_format *cf)
{
    return lxw_fail(s->wb, "conditional format",
                    worksheet_conditional_format_range(s->ws, r0, (lxw_col_t)c0, r1,
                                                       (lxw_col_t)c1, cf));
}

static bb_err column_rules(bb_xlsx_sheet *s, uint32_t r0, uint32_t r1)
{
    bb_xlsx *wb = s->wb;
    bb_err e = BB_OK;
    for (int c = 0; c < s->ncols && e == BB_OK; c++) {
        if (s->cols[c].delta_colors) {
            lxw_conditional_format up = {.type = LXW_CONDITIONAL_TYPE_CELL,
                                         .criteria = LXW_CONDITIONAL_CRITERIA_GREATER_THAN,
                                         .value = 0, .format = wb->cf_good};
            lxw_conditional_format down = {.type = LXW_CONDITIONAL_TYPE_CELL,
                                           .criteria = LXW_CONDITIONAL_CRITERIA_LESS_THAN,
                                           .value = 0, .format = wb->cf_bad};
            e = add_cf(s, r0, r1, c, c, &up);
            if (e == BB_OK)
                e = add_cf(s, r0, r1, c, c, &down);
        }
        if (e == BB_OK && s->cols[c].data_bar) {
            lxw_conditional_format bar = {.type = LXW_CONDITIONAL_DATA_BAR,
                                          .bar_color = 0x63BE7B, .bar_solid = LXW_TRUE};
            e = add_cf(s, r0, r1, c, c, &bar);
        }
    }
    return e;
}

/* Excel column width (in widths of '0') for what was written; the header is
 * bold and, in a filtered sheet, shares its cell with the filter button. */
static double column_width(const bb_xlsx_sheet *s, const xcol *c)
{
    double w = c->data_chars * 1.1 + 2.0;
    double head = c->head_chars * 1.2 + (s->table ? 4.0 : 2.0);
    if (head > w)
        w = head;
    if (w < 6.0)
        w = 6.0;
    return w > 80.0 ? 80.0 : w;
}

static bb_err finish_layout(bb_xlsx_sheet *s)
{
    bb_xlsx *wb = s->wb;
    uint32_t n = s->info.rows_written;
    uint32_t r0 = s->first_data_row, r1 = r0 + (n ? n - 1 : 0);
    int last_col = s->ncols - 1;
    bb_err e = BB_OK;

    if (n > 0)
        e = column_rules(s, r0, r1);
    if (e == BB_OK && s->table && !wb->streaming) {
        lxw_table_column *tc = calloc((size_t)s->ncols, sizeof *tc);
        lxw_table_column **tcp = calloc((size_t)s->ncols + 1, sizeof *tcp);
        if (!tc || !tcp) {
            e = BB_ERR_NOMEM;
        } else {
            for (int c = 0; c < s->ncols; c++) {
                tc[c].header = s->cols[c].header;
                tcp[c] = &tc[c];
            }
            lxw_table_options to = {.name = s->table_name, .columns = tcp,
                                    .style_type = LXW_TABLE_STYLE_TYPE_MEDIUM,
                                    .style_type_number = 2};
            /* A table needs a body row; an empty one shows as one blank row. */
            e = lxw_fail(wb, "adding a table",
                         worksheet_add_table(s->ws, s->header_row, 0, n ? r1 : r0,
                                             (lxw_col_t)last_col, &to));
        }
        free(tc);
        free(tcp);
    } else if (e == BB_OK && s->table) {
        e = lxw_fail(wb, "autofilter",
                     worksheet_autofilter(s->ws, s->header_row, 0, n ? r1 : s->header_row,
                                          (lxw_col_t)last_col));
        if (e == BB_OK && n > 1) {
            /* Lowest priority, so delta fills and bars stay visible. */
            lxw_conditional_format band = {.type = LXW_CONDITIONAL_TYPE_FORMULA,
                                           .value_string = "=MOD(ROW(),2)=0",
                                           .format = wb->cf_band};
            e = add_cf(s, r0, r1, 0, last_col, &band);
        }
    }
    for (int c = 0; c < s->ncols && e == BB_OK; c++) {
        lxw_format *f = wb->fmt_cell[s->cols[c].type];
        e = lxw_fail(wb, "column width",
                     worksheet_set_column(s->ws, (lxw_col_t)c, (lxw_col_t)c,
                                          column_width(s, &s->cols[c]), f));
    }
    if (e == BB_OK && s->table) {
        worksheet_freeze_panes(s->ws, r0, 0);
        worksheet_set_landscape(s->ws);
        worksheet_fit_to_pages(s->ws, 1, 0);
        e = lxw_fail(wb, "print titles",
                     worksheet_repeat_rows(s->ws, s->header_row, s->header_row));
    }
    return e;
}

static bb_err write_cut_note(bb_xlsx_sheet *s)
{
    char shown[32], dropped[32], limit[32], note[256];
    bb_fmt_int(shown, sizeof shown, s->info.rows_written);
    bb_fmt_int(dropped, sizeof dropped, (int64_t)s->info.rows_dropped);
    bb_fmt_int(limit, sizeof limit, s->wb->row_limit);
    snprintf(note, sizeof note,
             "Only the first %s rows fit on this sheet (limit: %s rows); "
             "%s more rows are not shown.",
             shown, limit, dropped);
    bb_warn(s->wb->log, "xlsx: sheet '%s': %s", s->name, note);
    return put_string(s, s->row, 0, note, s->wb->fmt_note);
}

bb_err bb_xlsx_sheet_end(bb_xlsx_sheet *s, bb_xlsx_sheet_info *info)
{
    if (!s || s->ended)
        return BB_ERR_INTERNAL;
    bb_err e = BB_OK;
    if (s->col > 0)
        e = bb_xlsx_row_end(s);
    s->ended = true;
    if (e == BB_OK) {
        /* Layout first: in streaming mode libxlsxwriter refuses ranges
         * above the last row written, and the note is below the data. */
        locale_t prev = enter_c(s->wb);
        e = finish_layout(s);
        if (e == BB_OK && s->info.rows_dropped > 0)
            e = write_cut_note(s);
        leave_c(prev);
    }
    if (info)
        *info = s->info;
    return e;
}

/* ---- charts ---- */

/* A malloc'd, cleaned copy of v for a chart (NULL for NULL or no memory).
 * libxlsxwriter reads a leading '=' as a cell reference, so it gets a space. */
static char *chart_text(bb_buf *b, const char *v)
{
    const char *res;
    uint32_t w;
    bool cut;
    if (!v || clean_text(b, v, CLEAN_ONE_LINE, 255, &res, &w, &cut) != BB_OK)
        return NULL;
    size_t n = strlen(res), off = res[0] == '=';
    char *d = malloc(n + 2);
    if (d) {
        d[0] = ' ';
        memcpy(d + off, res, n + 1);
    }
    return d;
}

static bool owns_sheet(const bb_xlsx *wb, const bb_xlsx_sheet *s)
{
    for (size_t k = 0; s && k < wb->nsheets; k++)
        if (wb->sheets[k] == s)
            return true;
    return false;
}

bb_err bb_xlsx_chart_add(bb_xlsx *wb, const bb_xlsx_chart *c)
{
    if (!wb || !c || !owns_sheet(wb, c->data) || !owns_sheet(wb, c->at) || !c->value_cols ||
        c->n_values < 1 || c->at_col < 0 || c->at_col >= XL_COLS || c->at_row >= XL_ROWS)
        return BB_ERR_INTERNAL;
    const bb_xlsx_sheet *d = c->data;
    if (c->cat_col < 0 || c->cat_col >= d->ncols)
        return BB_ERR_INTERNAL;
    for (int k = 0; k < c->n_values; k++)
        if (c->value_cols[k] < 0 || c->value_cols[k] >= d->ncols)
            return BB_ERR_INTERNAL;
    static const uint8_t types[] = {
        [BB_XCHART_COLUMN] = LXW_CHART_COLUMN, [BB_XCHART_BAR] = LXW_CHART_BAR,
        [BB_XCHART_LINE] = LXW_CHART_LINE, [BB_XCHART_PIE] = LXW_CHART_PIE};
    if ((unsigned)c->type > BB_XCHART_PIE || (c->type == BB_XCHART_PIE && c->n_values != 1))
        return BB_ERR_INTERNAL;

    uint32_t avail = d->info.rows_written;
    if (c->first_row >= avail) {
        bb_info(wb->log, "xlsx: chart '%s' on sheet '%s' has no rows; not added",
                c->title ? c->title : "", d->name);
        return BB_OK;
    }
    uint32_t want = c->n_rows ? c->n_rows : avail - c->first_row;
    if (want > avail - c->first_row)
        want = avail - c->first_row;
    lxw_row_t r0 = d->first_data_row + c->first_row, r1 = r0 + want - 1;

    bb_err e = BB_OK;
    char *title = NULL, *cat_title = NULL, *value_title = NULL;
    locale_t prev = enter_c(wb);
    lxw_chart *ch = workbook_add_chart(wb->lxw, types[c->type]);
    if (!ch) {
        e = BB_ERR_NOMEM;
        goto done;
    }
    for (int k = 0; k < c->n_values; k++) {
        lxw_chart_series *ser = chart_add_series(ch, NULL, NULL);
        if (!ser) {
            e = BB_ERR_NOMEM;
            goto done;
        }
        lxw_col_t vc = (lxw_col_t)c->value_cols[k];
        chart_series_set_categories(ser, d->name, r0, (lxw_col_t)c->cat_col, r1,
                                    (lxw_col_t)c->cat_col);
        chart_series_set_values(ser, d->name, r0, vc, r1, vc);
        if (c->series_names && c->series_names[k]) {
            char *nm = chart_text(&wb->text, c->series_names[k]);
            if (nm)
                chart_series_set_name(ser, nm);
            free(nm);
        } else if (d->has_header && d->cols[vc].header) {
            chart_series_set_name_range(ser, d->name, d->header_row, vc);
        }
        if (c->type == BB_XCHART_PIE) {
            chart_series_set_labels(ser);
            chart_series_set_labels_percentage(ser);
        }
    }
    title = chart_text(&wb->text, c->title);
    cat_title = chart_text(&wb->text, c->cat_title);
    value_title = chart_text(&wb->text, c->value_title);
    if (title)
        chart_title_set_name(ch, title);
    else if (c->n_values == 1 && c->type != BB_XCHART_PIE)
        chart_title_off(ch);
    if (c->type != BB_XCHART_PIE) {
        /* In a bar chart libxlsxwriter's x axis is the horizontal value axis. */
        bool bar = c->type == BB_XCHART_BAR;
        if (cat_title)
            chart_axis_set_name(bar ? ch->y_axis : ch->x_axis, cat_title);
        if (value_title)
            chart_axis_set_name(bar ? ch->x_axis : ch->y_axis, value_title);
        chart_legend_set_position(ch, c->n_values > 1 ? LXW_CHART_LEGEND_BOTTOM
                                                      : LXW_CHART_LEGEND_NONE);
    }
    lxw_chart_options co = {
        .x_scale = (c->width_px > 0 ? c->width_px : 640) / CHART_BASE_W,
        .y_scale = (c->height_px > 0 ? c->height_px : 320) / CHART_BASE_H,
    };
    e = lxw_fail(wb, "inserting a chart",
                 worksheet_insert_chart_opt(c->at->ws, c->at_row, (lxw_col_t)c->at_col, ch, &co));
done:
    leave_c(prev);
    free(title);
    free(cat_title);
    free(value_title);
    return e;
}

const char *bb_xlsx_library_version(void)
{
    return "libxlsxwriter " LXW_VERSION;
}

size_t bb_xlsx_sheet_count(const bb_xlsx *wb)
{
    return wb ? wb->nsheets : 0;
}

bb_xlsx_sheet *bb_xlsx_sheet_at(const bb_xlsx *wb, size_t i)
{
    return wb && i < wb->nsheets ? wb->sheets[i] : NULL;
}
