/* Unit tests for src/render/pdf: documents are built, saved and read back with
 * poppler (pdftotext, pdfinfo, pdffonts) and qpdf (outlines, link annotations).
 * Set BB_PDF_TEST_OUT=<dir> to keep the rendered files for a look. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>
#include <cmocka.h>
#include <zlib.h>

#include "render/pdf.h"
#include "util/buf.h"
#include "util/fmt.h"
#include "util/fs.h"

#define EPOCH_2023_12_31 1704067199LL

typedef struct fixture {
    char dir[256];
    char png[300];
    char report[300]; /* the sample report, built once */
    size_t report_pages;
    bool keep;
} fixture;

/* ---- helpers ------------------------------------------------------------- */

/* Runs cmd through the shell; its stdout in *out (malloc'd). Exit status. */
static int run(const char *cmd, char **out)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    bb_buf b;
    bb_buf_init(&b, 0);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        assert_int_equal(bb_buf_append(&b, chunk, n), BB_OK);
    int st = pclose(p);
    *out = bb_buf_detach(&b);
    assert_non_null(*out);
    return st;
}

static char *run_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *run_ok(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char *out;
    int st = run(cmd, &out);
    if (st != 0)
        fail_msg("command failed (%d): %s", st, cmd);
    return out;
}

static bool contains(const unsigned char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return true;
    return false;
}

static bool have_tool(const char *name)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void put_chunk(FILE *f, const char *type, const unsigned char *data, uint32_t len)
{
    unsigned char hdr[8];
    put_be32(hdr, len);
    memcpy(hdr + 4, type, 4);
    uLong crc = crc32(0L, (const Bytef *)type, 4);
    if (len)
        crc = crc32(crc, data, len);
    unsigned char tail[4];
    put_be32(tail, (uint32_t)crc);
    assert_int_equal(fwrite(hdr, 1, 8, f), 8);
    if (len)
        assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fwrite(tail, 1, 4, f), 4);
}

/* A 480x300 RGB PNG that looks like a bar chart; with corrupt, its
 * compressed data is garbage (the header still says PNG). */
static void write_png(const char *path, bool corrupt)
{
    const uint32_t w = 480, h = 300;
    size_t stride = 1 + 3 * (size_t)w;
    unsigned char *raw = calloc(h, stride);
    assert_non_null(raw);
    for (uint32_t y = 0; y < h; y++) {
        unsigned char *row = raw + y * stride;
        row[0] = 0;
        for (uint32_t x = 0; x < w; x++) {
            unsigned char *px = row + 1 + 3 * x;
            int bar = (int)x / 40, in_bar = x % 40 >= 8 && x % 40 < 32;
            uint32_t bar_h = 40 + (uint32_t)((bar * 37) % 11) * 20;
            bool filled = in_bar && y >= h - 20 - bar_h && y < h - 20;
            bool axis = y == h - 20 || (y % 50 == 0 && y < h - 20);
            px[0] = filled ? 40 : axis ? 200 : 255;
            px[1] = filled ? 110 : axis ? 200 : 255;
            px[2] = filled ? 170 : axis ? 200 : 255;
        }
    }
    uLongf zlen = compressBound((uLong)(h * stride));
    unsigned char *z = malloc(zlen);
    assert_non_null(z);
    assert_int_equal(compress(z, &zlen, raw, (uLong)(h * stride)), Z_OK);
    if (corrupt)
        memset(z, 0x5A, zlen);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    assert_int_equal(fwrite(sig, 1, 8, f), 8);
    unsigned char ihdr[13] = {0};
    put_be32(ihdr, w);
    put_be32(ihdr + 4, h);
    ihdr[8] = 8; /* bit depth */
    ihdr[9] = 2; /* RGB */
    put_chunk(f, "IHDR", ihdr, 13);
    put_chunk(f, "IDAT", z, (uint32_t)zlen);
    put_chunk(f, "IEND", NULL, 0);
    assert_int_equal(fclose(f), 0);
    free(z);
    free(raw);
}

/* Splits pdftotext output into pages (form feeds); returns the count. */
static size_t split_pages(char *text, char **pages, size_t max)
{
    size_t n = 0;
    char *p = text;
    while (n < max && *p) {
        pages[n++] = p;
        char *ff = strchr(p, '\f');
        if (!ff)
            break;
        *ff = '\0';
        p = ff + 1;
    }
    return n;
}

/* 1-based page whose text contains needle, searching from page `from`; 0 when none. */
static size_t page_of(char **pages, size_t n, const char *needle, size_t from)
{
    for (size_t i = from ? from - 1 : 0; i < n; i++)
        if (strstr(pages[i], needle))
            return i + 1;
    return 0;
}

/* Whether pdfinfo output has "key:   value" with value starting with want. */
static bool info_has(const char *info, const char *key, const char *want)
{
    size_t kn = strlen(key);
    for (const char *line = info; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (strncmp(line, key, kn) != 0 || line[kn] != ':')
            continue;
        const char *v = line + kn + 1;
        while (*v == ' ')
            v++;
        return strncmp(v, want, strlen(want)) == 0;
    }
    return false;
}

static void save_doc(const fixture *fx, bb_pdf *pdf, const char *name, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", fx->dir, name);
    bb_err e = bb_pdf_save(pdf, path);
    if (e != BB_OK)
        fail_msg("save: %s", bb_pdf_last_error(pdf));
}

/* ---- the sample report -------------------------------------------------- */

#define NROWS 201 /* 200 customers and a total */
#define NCOLS 6
#define LONG_NAME "A very long customer name that cannot possibly fit into its column without being cut short"

static const bb_pdf_column COLS[NCOLS] = {
    {"#", BB_PDF_RIGHT, 0.55},      {"Customer", BB_PDF_LEFT, 3.0},
    {"Segment", BB_PDF_LEFT, 1.5},  {"Visits", BB_PDF_RIGHT, 0.9},
    {"Revenue €", BB_PDF_RIGHT, 1.3}, {"Last visit", BB_PDF_CENTER, 1.2},
};

typedef struct table_data {
    char text[NROWS][NCOLS][96];
    const char *cells[NROWS * NCOLS];
} table_data;

static table_data *make_table(void)
{
    static const char *const segments[] = {"Loyal", "At risk", "New", "Champions", "Dormant"};
    table_data *t = calloc(1, sizeof *t);
    assert_non_null(t);
    int64_t total = 0;
    for (int r = 0; r < NROWS - 1; r++) {
        int64_t cents = 1234 + (int64_t)r * 98765 % 500000;
        total += cents;
        snprintf(t->text[r][0], 96, "%d", r + 1);
        if (r == 0)
            snprintf(t->text[r][1], 96, "Café Zoë — 12 €");
        else if (r == 4)
            snprintf(t->text[r][1], 96, LONG_NAME);
        else
            snprintf(t->text[r][1], 96, "Customer %04d", r + 1);
        snprintf(t->text[r][2], 96, "%s", segments[r % 5]);
        snprintf(t->text[r][3], 96, "%d", 1 + r * 7 % 40);
        bb_fmt_money(t->text[r][4], 96, cents);
        snprintf(t->text[r][5], 96, "2023-%02d-%02d", 1 + r % 12, 1 + r % 28);
    }
    snprintf(t->text[NROWS - 1][1], 96, "Total");
    bb_fmt_money(t->text[NROWS - 1][4], 96, total);
    for (int r = 0; r < NROWS; r++)
        for (int c = 0; c < NCOLS; c++)
            t->cells[r * NCOLS + c] = t->text[r][c][0] ? t->text[r][c] : NULL;
    return t;
}

static const char INTRO[] =
    "This report summarises sales, customers and visits up to the end of the period. "
    "Figures are computed from the nightly exports of the point-of-sale system; refunds are "
    "netted against the purchases they belong to, and customers without a purchase in the "
    "last twelve months are counted as dormant. All amounts are in euros and include VAT.";

static bb_pdf *build_report(const char *png)
{
    bb_pdf_opts o = {
        .title = "Monthly sales report",
        .subject = "Sales, customers and recommendations",
        .author = "Salon Zoë & Co.",
        .header_right = "As of 2023-12-31",
        .epoch = EPOCH_2023_12_31,
        .toc = true,
    };
    bb_pdf *pdf = NULL;
    assert_int_equal(bb_pdf_new(&pdf, &o), BB_OK);
    assert_non_null(pdf);
    const char *cover_lines[] = {"As of 2023-12-31", "Run 1a2b3c4d",
                                 "1,234 customers · 9,876 purchases"};
    assert_int_equal(bb_pdf_cover(pdf, "Monthly sales report", "Salon Zoë & Co.", cover_lines, 3),
                     BB_OK);

    assert_int_equal(bb_pdf_heading(pdf, 1, "Overview"), BB_OK);
    assert_int_equal(bb_pdf_paragraph(pdf, INTRO), BB_OK);
    const bb_pdf_kpi kpis[] = {
        {"Revenue", "123,456.78 €", "+4.2 % vs previous 30 days", BB_PDF_TONE_GOOD},
        {"Customers", "1,234", "+12 new", BB_PDF_TONE_GOOD},
        {"Average basket", "45.60 €", "-1.3 % vs previous 30 days", BB_PDF_TONE_BAD},
        {"Churn rate", "12.3 %", "-0.8 pp (lower is better)", BB_PDF_TONE_GOOD},
        {"Visits per customer", "3.4", "no change", BB_PDF_TONE_NEUTRAL},
        {"Lifetime value, all customers", "9,999,999,999.99 €", NULL, BB_PDF_TONE_NEUTRAL},
        {"Dormant customers", "211", "+5.0 %", BB_PDF_TONE_BAD},
    };
    assert_int_equal(bb_pdf_kpis(pdf, kpis, sizeof kpis / sizeof kpis[0]), BB_OK);
    assert_int_equal(bb_pdf_note(pdf, "Deltas compare the last 30 days with the 30 days before."),
                     BB_OK);
    assert_int_equal(bb_pdf_heading(pdf, 2, "Highlights"), BB_OK);
    const char *items[] = {
        "Revenue grew for the third month in a row, driven by colour treatments.",
        "Saturday afternoons are fully booked; weekday mornings have free capacity that a "
        "targeted offer could fill without discounting the busy slots.",
        "Twelve customers with a high lifetime value have not visited for 90 days.",
    };
    assert_int_equal(bb_pdf_bullets(pdf, items, 3), BB_OK);

    assert_int_equal(bb_pdf_heading(pdf, 1, "Customers"), BB_OK);
    assert_int_equal(bb_pdf_paragraph(pdf, "All customers by revenue in the period."), BB_OK);
    table_data *t = make_table();
    assert_int_equal(bb_pdf_table(pdf, COLS, NCOLS, t->cells, NROWS, true), BB_OK);
    free(t);
    assert_int_equal(bb_pdf_heading(pdf, 2, "Revenue by month"), BB_OK);
    assert_int_equal(bb_pdf_image(pdf, png, "Figure 1. Revenue by month, 2023 (€).", 0.0), BB_OK);

    assert_int_equal(bb_pdf_heading(pdf, 1, "Notes"), BB_OK);
    assert_int_equal(bb_pdf_paragraph(pdf, "Odd data: tab\there, bell\a, bad \xff byte, "
                                           "emoji \xF0\x9F\x8C\xB8 end.\nSecond line."),
                     BB_OK);
    assert_int_equal(bb_pdf_paragraph(pdf, "A long word: https://example.com/very/long/path/"
                                           "that/does/not/fit/on/one/line/of/the/report/at/all/"
                                           "because/it/keeps/going/and/going/and/going/on"),
                     BB_OK);
    return pdf;
}

/* ---- tests --------------------------------------------------------------- */

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    const char *keep = getenv("BB_PDF_TEST_OUT");
    if (keep && *keep) {
        snprintf(fx->dir, sizeof fx->dir, "%s", keep);
        fx->keep = true;
        if (bb_fs_mkdirs(fx->dir) != BB_OK)
            return -1;
    } else {
        snprintf(fx->dir, sizeof fx->dir, "/tmp/bb_test_pdf_XXXXXX");
        if (!mkdtemp(fx->dir))
            return -1;
    }
    snprintf(fx->png, sizeof fx->png, "%s/chart.png", fx->dir);
    write_png(fx->png, false);
    bb_pdf *pdf = build_report(fx->png);
    snprintf(fx->report, sizeof fx->report, "%s/report.pdf", fx->dir);
    bb_err e = bb_pdf_save(pdf, fx->report);
    fx->report_pages = bb_pdf_page_count(pdf);
    bb_pdf_free(pdf);
    *state = fx;
    return e == BB_OK ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    if (!fx->keep)
        bb_fs_rmtree(fx->dir);
    free(fx);
    return 0;
}

static void test_report_text(void **state)
{
    const fixture *fx = *state;
    const char *path = fx->report;
    size_t npages = fx->report_pages;
    assert_true(npages >= 6);

    char *info = run_ok("pdfinfo '%s' 2>/dev/null", path);
    char want[64];
    snprintf(want, sizeof want, "%zu\n", npages);
    assert_true(info_has(info, "Pages", want));
    assert_true(info_has(info, "Title", "Monthly sales report\n"));
    assert_true(info_has(info, "Subject", "Sales, customers and recommendations\n"));
    assert_true(info_has(info, "Author", "Salon Zoë & Co.\n"));
    assert_true(info_has(info, "Creator", "bbreport "));
    assert_true(info_has(info, "CreationDate", "Sun Dec 31 23:59:59 2023 UTC"));
    assert_true(info_has(info, "ModDate", "Sun Dec 31 23:59:59 2023 UTC"));
    assert_true(info_has(info, "Page size", "595.276 x 841.89 pts (A4)"));
    free(info);

    char *text = run_ok("pdftotext -q -enc UTF-8 '%s' -", path);
    assert_non_null(strstr(text, "Café Zoë — 12 €"));
    assert_non_null(strstr(text, "123,456.78 €"));
    assert_non_null(strstr(text, "9,999,999,999.99 €")); /* shrunk, not cut */
    assert_non_null(strstr(text, "Deltas compare the last 30 days"));
    assert_non_null(strstr(text, "Twelve customers with a high lifetime value"));
    /* A cell too wide is cut with an ellipsis, not spilled. */
    assert_non_null(strstr(text, "A very long customer"));
    assert_null(strstr(text, "without being cut short"));
    assert_non_null(strstr(text, "\xE2\x80\xA6"));
    /* Control characters become spaces; bad bytes and emoji U+FFFD. */
    assert_non_null(strstr(text, "tab here, bell , bad \xEF\xBF\xBD byte, emoji \xEF\xBF\xBD end."));
    assert_null(strchr(text, '\a'));
    assert_null(strchr(text, '\t'));
    assert_non_null(strstr(text, "Second line."));
    /* The long word is broken across lines, nothing is lost. */
    assert_non_null(strstr(text, "https://example.com/very/long/path/"));
    assert_non_null(strstr(text, "going/on"));

    char *pages[64];
    size_t n = split_pages(text, pages, 64);
    assert_int_equal(n, npages);
    /* Cover: no header or footer; the rest: "Page X of Y". */
    assert_null(strstr(pages[0], "Page 1 of"));
    assert_non_null(strstr(pages[0], "Salon Zoë & Co."));
    for (size_t i = 1; i < n; i++) {
        snprintf(want, sizeof want, "Page %zu of %zu", i + 1, npages);
        if (!strstr(pages[i], want))
            fail_msg("page %zu lacks \"%s\"", i + 1, want);
        assert_non_null(strstr(pages[i], "As of 2023-12-31"));
    }
    /* The contents page comes right after the cover. */
    assert_non_null(strstr(pages[1], "Contents"));
    assert_non_null(strstr(pages[1], "Revenue by month"));

    /* The table spans pages and repeats its header on each. */
    size_t first = page_of(pages, n, "Customer 0002", 3);
    size_t last = page_of(pages, n, "Customer 0200", 3);
    assert_true(first >= 3);
    assert_true(last > first + 2);
    for (size_t p = first; p <= last; p++)
        if (!strstr(pages[p - 1], "Last visit"))
            fail_msg("table header missing on page %zu", p);
    size_t total = page_of(pages, n, "Total", first);
    assert_int_equal(total, last);
    /* Headings share their page with what follows them. */
    assert_int_equal(page_of(pages, n, "Revenue by month", 3),
                     page_of(pages, n, "Figure 1. Revenue by month", 3));
    assert_int_equal(page_of(pages, n, "Highlights", 3),
                     page_of(pages, n, "Revenue grew for the third month", 3));
    free(text);
}

/* Right edges of the words of one table column are aligned. */
static void test_report_alignment(void **state)
{
    const fixture *fx = *state;
    const char *path = fx->report;
    /* Page 4 is a continuation page full of table rows. */
    char *xml = run_ok("pdftotext -q -bbox -f 4 -l 4 '%s' -", path);
    double right = -1.0, left_min = 1e9, left_max = -1.0;
    size_t count = 0;
    for (const char *p = strstr(xml, "<word "); p; p = strstr(p + 1, "<word ")) {
        double x0, y0, x1, y1;
        char word[64];
        if (sscanf(p, "<word xMin=\"%lf\" yMin=\"%lf\" xMax=\"%lf\" yMax=\"%lf\">%63[^<]", &x0, &y0,
                   &x1, &y1, word) != 5)
            continue;
        size_t len = strlen(word);
        /* Revenue cells look like "1,234.56"; dates are centred, so skip '-'. */
        if (len >= 4 && word[len - 3] == '.' && !strchr(word, '-')) {
            if (right < 0)
                right = x1;
            if (x1 < right - 0.5 || x1 > right + 0.5)
                fail_msg("\"%s\" ends at %.2f, column at %.2f", word, x1, right);
            count++;
        }
        if (strncmp(word, "Customer", 8) == 0 && len == 8) {
            if (x0 < left_min)
                left_min = x0;
            if (x0 > left_max)
                left_max = x0;
        }
    }
    assert_true(count >= 40);
    assert_true(left_max - left_min < 0.5); /* left-aligned column */
    free(xml);
}

static void test_fonts_outline_links(void **state)
{
    const fixture *fx = *state;
    const char *path = fx->report;

    /* Both fonts embedded (as subsets) with a Unicode map. */
    char *fonts = run_ok("pdffonts '%s' 2>/dev/null", path);
    size_t nfonts = 0;
    for (char *line = strstr(fonts, "DejaVuSans"); line; line = strstr(line + 1, "\nHPDF")) {
        char *enc = strstr(line, "Identity-H");
        assert_non_null(enc);
        char emb[8], sub[8], uni[8];
        assert_int_equal(sscanf(enc + 10, "%7s %7s %7s", emb, sub, uni), 3);
        assert_string_equal(emb, "yes");
        assert_string_equal(uni, "yes");
        nfonts++;
    }
    assert_int_equal(nfonts, 2);
    assert_non_null(strstr(fonts, "DejaVuSans-Bold"));
    free(fonts);

    /* Bookmarks: level 2 under level 1, each pointing at its heading's page. */
    char *text = run_ok("pdftotext -q '%s' -", path);
    char *pages[64];
    size_t n = split_pages(text, pages, 64);
    char *json = run_ok("qpdf --json --json-key=outlines --json-key=pages --json-key=qpdf '%s'", path);
    cJSON *root = cJSON_Parse(json);
    assert_non_null(root);
    const cJSON *outlines = cJSON_GetObjectItem(root, "outlines");
    assert_int_equal(cJSON_GetArraySize(outlines), 4);
    static const char *const top[] = {"Contents", "Overview", "Customers", "Notes"};
    static const char *const sub[] = {NULL, "Highlights", "Revenue by month", NULL};
    for (int i = 0; i < 4; i++) {
        const cJSON *o = cJSON_GetArrayItem(outlines, i);
        assert_string_equal(cJSON_GetObjectItem(o, "title")->valuestring, top[i]);
        int page = cJSON_GetObjectItem(o, "destpageposfrom1")->valueint;
        assert_true(page >= 2 && (size_t)page <= n);
        assert_non_null(strstr(pages[page - 1], top[i]));
        const cJSON *kids = cJSON_GetObjectItem(o, "kids");
        assert_int_equal(cJSON_GetArraySize(kids), sub[i] ? 1 : 0);
        if (sub[i]) {
            const cJSON *k = cJSON_GetArrayItem(kids, 0);
            assert_string_equal(cJSON_GetObjectItem(k, "title")->valuestring, sub[i]);
            int kp = cJSON_GetObjectItem(k, "destpageposfrom1")->valueint;
            assert_true(kp >= page);
            assert_non_null(strstr(pages[kp - 1], sub[i]));
        }
    }
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(outlines, 0), "destpageposfrom1")->valueint,
                     2);

    /* The contents page links each entry to its heading's page, without a border. */
    const cJSON *pg = cJSON_GetObjectItem(root, "pages");
    const cJSON *objects = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "qpdf"), 1);
    char key[64];
    snprintf(key, sizeof key, "obj:%s",
             cJSON_GetObjectItem(cJSON_GetArrayItem(pg, 1), "object")->valuestring);
    const cJSON *toc = cJSON_GetObjectItem(cJSON_GetObjectItem(objects, key), "value");
    const cJSON *annots = cJSON_GetObjectItem(toc, "/Annots");
    assert_int_equal(cJSON_GetArraySize(annots), 5);
    static const char *const order[] = {"Overview", "Highlights", "Customers", "Revenue by month",
                                        "Notes"};
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof key, "obj:%s", cJSON_GetArrayItem(annots, i)->valuestring);
        const cJSON *a = cJSON_GetObjectItem(cJSON_GetObjectItem(objects, key), "value");
        assert_string_equal(cJSON_GetObjectItem(a, "/Subtype")->valuestring, "/Link");
        const cJSON *border = cJSON_GetObjectItem(a, "/Border");
        assert_int_equal(cJSON_GetArrayItem(border, 2)->valuedouble, 0);
        snprintf(key, sizeof key, "obj:%s", cJSON_GetObjectItem(a, "/Dest")->valuestring);
        const cJSON *dest = cJSON_GetObjectItem(cJSON_GetObjectItem(objects, key), "value");
        const char *target = cJSON_GetArrayItem(dest, 0)->valuestring;
        int target_page = 0;
        for (int p = 0; p < cJSON_GetArraySize(pg); p++)
            if (strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(pg, p), "object")->valuestring,
                       target) == 0)
                target_page = p + 1;
        assert_true(target_page >= 3);
        assert_non_null(strstr(pages[target_page - 1], order[i]));
        /* The page number printed on the contents page is that page. */
        char num[32];
        snprintf(num, sizeof num, "%d\n", target_page);
        assert_non_null(strstr(pages[1], num));
    }
    cJSON_Delete(root);
    free(json);
    free(text);
}

static void test_deterministic(void **state)
{
    const fixture *fx = *state;
    bb_pdf *pdf = build_report(fx->png);
    const unsigned char *data;
    size_t len;
    assert_int_equal(bb_pdf_bytes(pdf, &data, &len), BB_OK);
    char *first;
    size_t first_len;
    assert_int_equal(bb_fs_read_file(fx->report, 1 << 24, &first, &first_len), BB_OK);
    assert_int_equal(len, first_len);
    assert_memory_equal(data, first, len);
    free(first);
    /* Nothing that varies between runs: no /ID, the given date. */
    assert_false(contains(data, len, "/ID"));
    assert_true(contains(data, len, "(D:20231231235959Z"));
    /* Compressed: the content streams and fonts are deflated. */
    assert_true(contains(data, len, "/FlateDecode"));
    assert_true(len < 400 * 1024);

    /* A second save gives the same bytes as the first. */
    char p1[512], p2[512];
    save_doc(fx, pdf, "same1.pdf", p1, sizeof p1);
    save_doc(fx, pdf, "same2.pdf", p2, sizeof p2);
    char *x, *y;
    size_t lx, ly;
    assert_int_equal(bb_fs_read_file(p1, 1 << 24, &x, &lx), BB_OK);
    assert_int_equal(bb_fs_read_file(p2, 1 << 24, &y, &ly), BB_OK);
    assert_int_equal(lx, len);
    assert_int_equal(ly, len);
    assert_memory_equal(x, data, len);
    assert_memory_equal(y, data, len);
    free(x);
    free(y);
    bb_pdf_free(pdf);
}

/* Headings near a page bottom move to the next page with what follows. */
static void test_keep_with_next(void **state)
{
    const fixture *fx = *state;
    bb_pdf_opts o = {.title = "Keep", .epoch = 0};
    bb_pdf *pdf = NULL;
    assert_int_equal(bb_pdf_new(&pdf, &o), BB_OK);
    static const char *const kinds[] = {"paragraph", "table", "image", "bullets", "kpis"};
    const bb_pdf_column cols[2] = {{"Name", BB_PDF_LEFT, 2}, {"Amount", BB_PDF_RIGHT, 1}};
    const char *cells[6] = {"r1", "1.00", "r2", "2.00", "r3", "3.00"};
    char filler[2048], head[64], follow[64];
    /* Filler line counts around where each kind of block stops fitting. */
    static const int fill[] = {20, 40, 43, 44, 48};
    for (size_t f = 0; f < sizeof fill / sizeof fill[0]; f++) {
        int lines = fill[f];
        for (int k = 0; k < 5; k++) {
            /* lines lines, the first one naming the case. */
            size_t used = (size_t)snprintf(filler, sizeof filler, "Start %d %s", lines, kinds[k]);
            for (int i = 1; i < lines; i++)
                used += (size_t)snprintf(filler + used, sizeof filler - used, "\nFiller %d", i);
            assert_int_equal(bb_pdf_page_break(pdf), BB_OK);
            assert_int_equal(bb_pdf_paragraph(pdf, filler), BB_OK);
            snprintf(head, sizeof head, "Case %d %s", lines, kinds[k]);
            snprintf(follow, sizeof follow, "Follows %d %s", lines, kinds[k]);
            assert_int_equal(bb_pdf_heading(pdf, 1, head), BB_OK);
            assert_int_equal(bb_pdf_heading(pdf, 2, "Sub"), BB_OK);
            bb_pdf_kpi kpi = {follow, "1", NULL, BB_PDF_TONE_NEUTRAL};
            const char *item = follow;
            switch (k) {
            case 0:
                assert_int_equal(bb_pdf_paragraph(pdf, follow), BB_OK);
                break;
            case 1:
                cells[0] = follow;
                assert_int_equal(bb_pdf_table(pdf, cols, 2, cells, 3, false), BB_OK);
                break;
            case 2:
                assert_int_equal(bb_pdf_image(pdf, fx->png, follow, 200.0), BB_OK);
                break;
            case 3:
                assert_int_equal(bb_pdf_bullets(pdf, &item, 1), BB_OK);
                break;
            default:
                assert_int_equal(bb_pdf_kpis(pdf, &kpi, 1), BB_OK);
                break;
            }
        }
    }
    char path[512];
    save_doc(fx, pdf, "keep.pdf", path, sizeof path);
    bb_pdf_free(pdf);
    char *text = run_ok("pdftotext -q '%s' -", path);
    char *pages[256];
    size_t n = split_pages(text, pages, 256);
    size_t moved = 0, stayed = 0;
    for (size_t f = 0; f < sizeof fill / sizeof fill[0]; f++)
        for (int k = 0; k < 5; k++) {
            int lines = fill[f];
            snprintf(head, sizeof head, "Case %d %s\n", lines, kinds[k]);
            snprintf(follow, sizeof follow, "Follows %d %s", lines, kinds[k]);
            size_t ph = page_of(pages, n, head, 1), pf = page_of(pages, n, follow, 1);
            char start[64];
            snprintf(start, sizeof start, "Start %d %s\n", lines, kinds[k]);
            size_t pfill = page_of(pages, n, start, 1);
            assert_true(ph > 0);
            if (ph != pf)
                fail_msg("\"%s\" on page %zu, what follows on page %zu", head, ph, pf);
            moved += pfill != ph;
            stayed += pfill == ph;
        }
    /* Both outcomes really happened. */
    assert_true(moved >= 5);
    assert_true(stayed >= 5);
    free(text);
}

static void test_errors(void **state)
{
    const fixture *fx = *state;
    bb_pdf *pdf = (bb_pdf *)1;
    bb_pdf_opts o = {.title = "Errors", .font_regular = "/nonexistent/font.ttf"};
    assert_int_equal(bb_pdf_new(&pdf, &o), BB_ERR_NOINPUT);
    assert_null(pdf);
    char notfont[512];
    snprintf(notfont, sizeof notfont, "%s/notfont.ttf", fx->dir);
    assert_int_equal(bb_fs_write_file(notfont, "not a font at all", 17), BB_OK);
    o.font_regular = notfont;
    assert_int_equal(bb_pdf_new(&pdf, &o), BB_ERR_DATA);
    assert_null(pdf);
    bb_pdf_free(NULL);

    o.font_regular = NULL;
    assert_int_equal(bb_pdf_new(&pdf, &o), BB_OK);
    assert_string_equal(bb_pdf_last_error(pdf), "");
    assert_int_equal(bb_pdf_heading(pdf, 3, "x"), BB_ERR_INTERNAL);
    /* Unreadable or broken images leave the document usable. */
    assert_int_equal(bb_pdf_image(pdf, "/nonexistent/chart.png", NULL, 0), BB_ERR_NOINPUT);
    assert_non_null(strstr(bb_pdf_last_error(pdf), "/nonexistent/chart.png"));
    assert_int_equal(bb_pdf_image(pdf, notfont, NULL, 0), BB_ERR_DATA);
    assert_int_equal(bb_pdf_paragraph(pdf, "Still fine."), BB_OK);
    assert_int_equal(bb_pdf_cover(pdf, "Late", NULL, NULL, 0), BB_ERR_INTERNAL);
    assert_int_equal(bb_pdf_table(pdf, NULL, 0, NULL, 0, false), BB_ERR_INTERNAL);

    /* A save to a path that cannot be created fails cleanly; a later one works. */
    assert_int_equal(bb_pdf_save(pdf, "/nonexistent-dir/report.pdf"), BB_ERR_CANTCREAT);
    assert_non_null(strstr(bb_pdf_last_error(pdf), "/nonexistent-dir/report.pdf"));
    char path[512];
    save_doc(fx, pdf, "errors.pdf", path, sizeof path);
    assert_true(bb_fs_size(path) > 1000);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_false(bb_fs_exists(tmp));
    /* Finished documents take no more content. */
    assert_int_equal(bb_pdf_paragraph(pdf, "Too late."), BB_ERR_INTERNAL);
    assert_non_null(strstr(bb_pdf_last_error(pdf), "finished"));
    char *text = run_ok("pdftotext -q '%s' -", path);
    assert_non_null(strstr(text, "Still fine."));
    assert_non_null(strstr(text, "Page 1 of 1"));
    free(text);
    bb_pdf_free(pdf);
}

/* A corrupt PNG is refused before libharu sees it (libpng would abort). */
static void test_corrupt_png(void **state)
{
    const fixture *fx = *state;
    char bad[512];
    snprintf(bad, sizeof bad, "%s/corrupt.png", fx->dir);
    write_png(bad, true);
    char *good;
    size_t len;
    assert_int_equal(bb_fs_read_file(fx->png, 1 << 24, &good, &len), BB_OK);
    bb_pdf_opts o = {.title = "PNG"};
    bb_pdf *pdf = NULL;
    assert_int_equal(bb_pdf_new(&pdf, &o), BB_OK);
    assert_int_equal(bb_pdf_image(pdf, bad, NULL, 0), BB_ERR_DATA);
    assert_non_null(strstr(bb_pdf_last_error(pdf), "not a valid PNG"));
    /* Truncated, a flipped bit (CRC), trailing garbage after IEND is fine. */
    char cut[512];
    snprintf(cut, sizeof cut, "%s/cut.png", fx->dir);
    assert_int_equal(bb_fs_write_file(cut, good, len / 2), BB_OK);
    assert_int_equal(bb_pdf_image(pdf, cut, NULL, 0), BB_ERR_DATA);
    good[len / 2] ^= 0x10;
    assert_int_equal(bb_fs_write_file(cut, good, len), BB_OK);
    assert_int_equal(bb_pdf_image(pdf, cut, NULL, 0), BB_ERR_DATA);
    good[len / 2] ^= 0x10;
    assert_int_equal(bb_fs_write_file(cut, good, len), BB_OK);
    assert_int_equal(bb_pdf_image(pdf, cut, "fine", 100), BB_OK);
    free(good);
    const unsigned char *data;
    size_t n;
    assert_int_equal(bb_pdf_bytes(pdf, &data, &n), BB_OK);
    bb_pdf_free(pdf);
}

/* Hostile text is cleaned and cut, never fatal and never slow. */
static void test_hostile_text(void **state)
{
    (void)state;
    size_t big = (size_t)3 << 20;
    char *junk = malloc(big + 1);
    assert_non_null(junk);
    memset(junk, 0xFF, big);
    junk[big] = '\0';
    bb_pdf_opts o = {.title = junk, .header_right = junk, .author = junk};
    bb_pdf *pdf = NULL;
    assert_int_equal(bb_pdf_new(&pdf, &o), BB_OK);
    assert_int_equal(bb_pdf_heading(pdf, 1, junk), BB_OK);
    const bb_pdf_column col = {junk, BB_PDF_RIGHT, 1};
    const char *cells[2] = {junk, NULL};
    assert_int_equal(bb_pdf_table(pdf, &col, 1, cells, 2, false), BB_OK);
    bb_pdf_kpi k = {junk, junk, junk, BB_PDF_TONE_BAD};
    assert_int_equal(bb_pdf_kpis(pdf, &k, 1), BB_OK);
    junk[20000] = '\0';
    assert_int_equal(bb_pdf_paragraph(pdf, junk), BB_OK);
    const unsigned char *data;
    size_t len;
    assert_int_equal(bb_pdf_bytes(pdf, &data, &len), BB_OK);
    assert_true(bb_pdf_page_count(pdf) >= 2);
    bb_pdf_free(pdf);
    free(junk);
}

/* The one-page customer sheet case: many small documents must be cheap. */
static void test_small_documents(void **state)
{
    const fixture *fx = *state;
    enum { RUNS = 10 };
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t bytes = 0;
    for (int i = 0; i < RUNS; i++) {
        bb_pdf_opts o = {.title = "Customer sheet", .header_right = "As of 2023-12-31",
                         .epoch = EPOCH_2023_12_31};
        bb_pdf *pdf = NULL;
        assert_int_equal(bb_pdf_new(&pdf, &o), BB_OK);
        assert_int_equal(bb_pdf_heading(pdf, 1, "Café Zoë — customer 42"), BB_OK);
        bb_pdf_kpi k[3] = {{"Visits", "17", "+2", BB_PDF_TONE_GOOD},
                           {"Spent", "1,234.00 €", NULL, BB_PDF_TONE_NEUTRAL},
                           {"Last visit", "2023-12-02", "29 days ago", BB_PDF_TONE_BAD}};
        assert_int_equal(bb_pdf_kpis(pdf, k, 3), BB_OK);
        const bb_pdf_column cols[2] = {{"Recommended", BB_PDF_LEFT, 3}, {"Score", BB_PDF_RIGHT, 1}};
        const char *cells[6] = {"Balayage", "0.92", "Keratin treatment", "0.81", "Beard trim", "0.40"};
        assert_int_equal(bb_pdf_table(pdf, cols, 2, cells, 3, false), BB_OK);
        const unsigned char *data;
        size_t len;
        assert_int_equal(bb_pdf_bytes(pdf, &data, &len), BB_OK);
        assert_int_equal(bb_pdf_page_count(pdf), 1);
        bytes = len;
        if (i == 0) {
            char path[512];
            save_doc(fx, pdf, "sheet.pdf", path, sizeof path);
        }
        bb_pdf_free(pdf);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = ((double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6) / RUNS;
    printf("# one-page document with two embedded fonts: %.1f ms, %zu bytes\n", ms, bytes);
    assert_true(bytes < 300 * 1024);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    static const char *const tools[] = {"pdftotext", "pdfinfo", "pdffonts", "qpdf"};
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++)
        if (!have_tool(tools[i])) {
            printf("# %s not found: skipped\n", tools[i]);
            return 77;
        }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_text),
        cmocka_unit_test(test_report_alignment),
        cmocka_unit_test(test_fonts_outline_links),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_keep_with_next),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_corrupt_png),
        cmocka_unit_test(test_hostile_text),
        cmocka_unit_test(test_small_documents),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
