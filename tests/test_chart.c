/* Unit tests for src/render/chart: every kind to PNG and SVG, determinism,
 * text escaping, empty data, and the failure paths of the isolated renderer
 * (uncreatable output, rename failure, missing device, a killed child). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "render/chart.h"
#include "util/fs.h"

/* ---- helpers ------------------------------------------------------------ */

typedef struct fixture {
    char dir[64];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/bb_test_chart_XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    bb_fs_rmtree(f->dir);
    free(f);
    return 0;
}

static void path_in(const fixture *f, const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", f->dir, name);
}

/* Renders with the test's stdout and stderr redirected to a file and checks
 * that nothing at all reached them (the child's output must stay in the
 * child). */
static bb_err render_quietly(const bb_chart *charts, size_t n, char *err, size_t errsize)
{
    char cap_path[] = "/tmp/bb_test_chart_stdio_XXXXXX";
    int cap = mkstemp(cap_path);
    assert_true(cap >= 0);
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO);
    assert_true(saved_out >= 0 && saved_err >= 0);
    dup2(cap, STDOUT_FILENO);
    dup2(cap, STDERR_FILENO);
    bb_err e = bb_chart_render(charts, n, err, errsize);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, STDOUT_FILENO);
    dup2(saved_err, STDERR_FILENO);
    close(saved_out);
    close(saved_err);
    close(cap);
    long long leaked = bb_fs_size(cap_path);
    unlink(cap_path);
    assert_int_equal(leaked, 0);
    return e;
}

static char *slurp(const char *path, size_t *len)
{
    char *data = NULL;
    size_t n = 0;
    assert_int_equal(bb_fs_read_file(path, (size_t)64 << 20, &data, &n), BB_OK);
    if (len)
        *len = n;
    return data;
}

/* Checks the PNG signature and returns the IHDR size. */
static void png_size(const char *path, unsigned *w, unsigned *h)
{
    size_t len;
    unsigned char *p = (unsigned char *)slurp(path, &len);
    assert_true(len > 33);
    assert_memory_equal(p, "\x89PNG\r\n\x1a\n", 8);
    assert_memory_equal(p + 12, "IHDR", 4);
    *w = (unsigned)p[16] << 24 | (unsigned)p[17] << 16 | (unsigned)p[18] << 8 | p[19];
    *h = (unsigned)p[20] << 24 | (unsigned)p[21] << 16 | (unsigned)p[22] << 8 | p[23];
    free(p);
}

static void put_utf8(char *out, size_t *o, unsigned long cp)
{
    if (cp < 0x80) {
        out[(*o)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*o)++] = (char)(0xC0 | (cp >> 6));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[(*o)++] = (char)(0xE0 | (cp >> 12));
        out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*o)++] = (char)(0xF0 | (cp >> 18));
        out[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    }
}

/* Reads an SVG, checks its frame (XML prolog, <svg> with a viewBox, closing
 * tag) and returns the text it shows: tags removed, character references
 * decoded, one line per <text> element. */
static char *svg_text(const char *path)
{
    size_t len;
    char *svg = slurp(path, &len);
    assert_true(strncmp(svg, "<?xml", 5) == 0);
    assert_non_null(strstr(svg, "<svg"));
    assert_non_null(strstr(svg, "viewBox=\""));
    assert_non_null(strstr(svg, "</svg>"));
    char *out = malloc(len + 1);
    assert_non_null(out);
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        if (svg[i] == '<') {
            size_t j = i;
            while (j < len && svg[j] != '>')
                j++;
            if (strncmp(svg + i, "</text", 6) == 0)
                out[o++] = '\n';
            i = j + 1;
        } else if (strncmp(svg + i, "&#x", 3) == 0) {
            char *end;
            unsigned long cp = strtoul(svg + i + 3, &end, 16);
            assert_int_equal(*end, ';');
            put_utf8(out, &o, cp);
            i = (size_t)(end - svg) + 1;
        } else if (svg[i] == '\n' || svg[i] == ' ') {
            i++; /* layout whitespace between elements */
        } else {
            out[o++] = svg[i++];
        }
    }
    out[o] = '\0';
    free(svg);
    return out;
}

static int count_entries(const char *dir, const char *containing)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && (!containing || strstr(e->d_name, containing)))
            n++;
    closedir(d);
    return n;
}

/* ---- sample data ---------------------------------------------------------- */

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const double this_year[12] = {12000, 13500.5, 9900, 15000, 16000, 14000,
                                     11000, 10500, 12500, 13000, 18000, 19500};
static const double last_year[12] = {11000, 12000, 10000, 14000, 15000, 13000,
                                      10000, 9000, 11000, 12000, 17000, 18234.5};
static const char *const items[] = {
    "Shampoo Deluxe Professional Repair and Shine, extra large bottle of one litre", "Café crème",
    "Haircut", "Colour"};
static const double item_revenue[4] = {18234.5, 15020, 12999.99, 800};
static const double cohort[9] = {1.0, 0.4, 0.25, 1.0, 0.38, NAN, 1.0, NAN, NAN};
static const char *const cohort_rows[] = {"2024-01", "2024-02", "2024-03"};
static const char *const cohort_cols[] = {"M0", "M1", "M2"};
static const double px[6] = {1, 2, 3, 10, 11, 12}, py[6] = {1, 3, 2, 10, 12, 11};
static const int pg[6] = {0, 0, 0, 1, 1, 1};
static const char *const group_names[] = {"Regulars", "Big spenders"};
static const double mx[2] = {2, 11}, my[2] = {2, 11};

typedef struct sample {
    bb_chart_series bars[2], hbars[1], lines[2];
    double daily[120], avg[120];
    char paths[10][160];
    bb_chart charts[5];
} sample;

/* One chart of each kind writing <prefix>-<kind>.png/.svg in f's directory. */
static void make_sample(sample *s, const fixture *f, const char *prefix, int w, int h)
{
    static const char *kinds[5] = {"bars", "hbars", "lines", "heatmap", "scatter"};
    memset(s, 0, sizeof *s);
    for (int k = 0; k < 5; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s-%s.png", prefix, kinds[k]);
        path_in(f, name, s->paths[2 * k], sizeof s->paths[0]);
        snprintf(name, sizeof name, "%s-%s.svg", prefix, kinds[k]);
        path_in(f, name, s->paths[2 * k + 1], sizeof s->paths[0]);
    }
    for (int i = 0; i < 120; i++) {
        s->daily[i] = 500.0 + 200.0 * sin(i * 0.9) + i;
        s->avg[i] = i < 6 ? NAN : 500.0 + i;
    }
    s->bars[0] = (bb_chart_series){.name = "2024", .values = this_year, .n = 9};
    s->bars[1] = (bb_chart_series){.name = "2023", .values = last_year, .n = 12};
    s->hbars[0] = (bb_chart_series){.name = "Revenue", .values = item_revenue, .n = 4};
    s->lines[0] = (bb_chart_series){.name = "Daily revenue", .values = s->daily, .n = 120};
    s->lines[1] = (bb_chart_series){.name = "7-day average", .values = s->avg, .n = 120, .dashed = true};
    s->charts[0] = (bb_chart){.kind = BB_CHART_BARS, .title = "Revenue per month", .x_label = "Month",
                              .y_label = "Revenue (EUR)", .categories = months, .n_categories = 12,
                              .series = s->bars, .n_series = 2, .value_format = BB_AXIS_MONEY};
    s->charts[1] = (bb_chart){.kind = BB_CHART_HBARS, .title = "Top items", .x_label = "Revenue (EUR)",
                              .categories = items, .n_categories = 4, .series = s->hbars, .n_series = 1,
                              .value_format = BB_AXIS_MONEY, .show_values = true};
    s->charts[2] = (bb_chart){.kind = BB_CHART_LINES, .title = "Daily revenue", .x_label = "Day",
                              .y_label = "Revenue (EUR)", .n_categories = 120, .series = s->lines,
                              .n_series = 2, .value_format = BB_AXIS_MONEY};
    s->charts[3] = (bb_chart){.kind = BB_CHART_HEATMAP, .title = "Cohort retention", .matrix = cohort,
                              .rows = 3, .cols = 3, .row_labels = cohort_rows, .col_labels = cohort_cols,
                              .z_min = 0.0, .z_max = 1.0, .value_format = BB_AXIS_PERCENT};
    s->charts[4] = (bb_chart){.kind = BB_CHART_SCATTER, .title = "Segments", .x_label = "Component 1",
                              .y_label = "Component 2", .x = px, .y = py, .group = pg, .n_points = 6,
                              .group_names = group_names, .n_groups = 2, .marker_x = mx, .marker_y = my,
                              .n_markers = 2, .marker_name = "Centre"};
    for (int k = 0; k < 5; k++) {
        s->charts[k].png_path = s->paths[2 * k];
        s->charts[k].svg_path = s->paths[2 * k + 1];
        s->charts[k].width_px = w;
        s->charts[k].height_px = h;
    }
}

/* ---- tests ---------------------------------------------------------------- */

static void test_every_kind(void **state)
{
    fixture *f = *state;
    sample *s = malloc(sizeof *s);
    assert_non_null(s);
    make_sample(s, f, "a", 640, 400);
    s->charts[0].width_px = 0; /* the default size */
    s->charts[0].height_px = 0;
    char err[512];
    assert_int_equal(render_quietly(s->charts, 5, err, sizeof err), BB_OK);
    assert_string_equal(err, "");
    assert_int_equal(count_entries(f->dir, NULL), 10); /* no temporary file left */
    for (int k = 0; k < 5; k++) {
        unsigned w, h;
        png_size(s->paths[2 * k], &w, &h);
        assert_int_equal(w, k == 0 ? BB_CHART_DEFAULT_WIDTH : 640);
        assert_int_equal(h, k == 0 ? BB_CHART_DEFAULT_HEIGHT : 400);
        char *text = svg_text(s->paths[2 * k + 1]);
        assert_non_null(strstr(text, s->charts[k].title));
        free(text);
    }
    char *svg = slurp(s->paths[1], NULL);
    assert_non_null(strstr(svg, "viewBox=\"0 0 1600 1000\""));
    assert_non_null(strstr(svg, "font-family=\"DejaVu Sans"));
    free(svg);

    /* Thousands separators, legend, labels, formats as a reader sees them. */
    char *bars = svg_text(s->paths[1]);
    assert_non_null(strstr(bars, "\n20,000\n"));
    assert_non_null(strstr(bars, "\n2023\n"));
    assert_non_null(strstr(bars, "\nRevenue (EUR)\n"));
    assert_non_null(strstr(bars, "\nDec\n"));
    free(bars);
    char *hbars = svg_text(s->paths[3]);
    assert_non_null(strstr(hbars, "\nCafé crème\n"));
    assert_non_null(strstr(hbars, "\n18,235\n")); /* value at the bar end */
    assert_non_null(strstr(hbars, "\nShampoo D"));
    assert_non_null(strstr(hbars, "\xE2\x80\xA6\n")); /* the long label ends in an ellipsis */
    assert_null(strstr(hbars, "one litre"));
    free(hbars);
    char *lines = svg_text(s->paths[5]);
    assert_non_null(strstr(lines, "\n1\n")); /* no categories: numbered 1..n */
    assert_non_null(strstr(lines, "\n7-day average\n"));
    free(lines);
    char *heat = svg_text(s->paths[7]);
    assert_non_null(strstr(heat, "\n100 %\n"));
    assert_non_null(strstr(heat, "\n38 %\n"));
    assert_non_null(strstr(heat, "\n2024-03\n"));
    free(heat);
    char *scatter = svg_text(s->paths[9]);
    assert_non_null(strstr(scatter, "\nBig spenders\n"));
    assert_non_null(strstr(scatter, "\nCentre\n"));
    free(scatter);
    free(s);
}

static void test_deterministic(void **state)
{
    fixture *f = *state;
    sample *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    make_sample(a, f, "one", 480, 320);
    make_sample(b, f, "two", 480, 320);
    char err[512];
    assert_int_equal(render_quietly(a->charts, 5, err, sizeof err), BB_OK);
    assert_int_equal(render_quietly(b->charts, 5, err, sizeof err), BB_OK);
    for (int k = 0; k < 10; k++) {
        size_t la, lb;
        char *da = slurp(a->paths[k], &la), *db = slurp(b->paths[k], &lb);
        assert_true(la > 0);
        assert_int_equal(la, lb);
        assert_memory_equal(da, db, la);
        free(da);
        free(db);
    }
    free(a);
    free(b);
}

static void test_escapes_and_utf8(void **state)
{
    fixture *f = *state;
    static const char *const cats[] = {"Gel #1", "Size #u2 #d #fi", "Zoë ## Łódź", "bad \xFF byte"};
    static const double v[] = {3, 2, 1, 4};
    bb_chart_series s = {.name = "Units #", .values = v, .n = 4};
    char png[160], svg[160];
    path_in(f, "esc.png", png, sizeof png);
    path_in(f, "esc.svg", svg, sizeof svg);
    bb_chart c = {.kind = BB_CHART_HBARS, .title = "Items #1 of #u the \"best\" <shop> & Café",
                  .x_label = "Units", .categories = cats, .n_categories = 4, .series = &s, .n_series = 1,
                  .png_path = png, .svg_path = svg, .width_px = 1200, .height_px = 400};
    char err[512];
    assert_int_equal(render_quietly(&c, 1, err, sizeof err), BB_OK);
    char *text = svg_text(svg);
    assert_non_null(strstr(text, "Items #1 of #u the \"best\" <shop> & Café\n"));
    assert_non_null(strstr(text, "\nGel #1\n"));
    assert_non_null(strstr(text, "\nSize #u2 #d #fi\n"));
    assert_non_null(strstr(text, "\nZoë ## Łódź\n"));
    assert_non_null(strstr(text, "\nbad ? byte\n"));
    free(text);
}

static void test_empty_data(void **state)
{
    fixture *f = *state;
    static const double zeros[3] = {0, 0, 0};
    static const double nans[4] = {NAN, NAN, NAN, NAN};
    bb_chart_series zs = {.name = "Revenue", .values = zeros, .n = 3};
    char paths[6][160];
    for (int k = 0; k < 6; k++) {
        char name[32];
        snprintf(name, sizeof name, "empty%d.svg", k);
        path_in(f, name, paths[k], sizeof paths[k]);
    }
    char png[160];
    path_in(f, "empty0.png", png, sizeof png);
    bb_chart c[6] = {
        {.kind = BB_CHART_BARS, .title = "No categories", .y_label = "Revenue (EUR)", .png_path = png},
        {.kind = BB_CHART_LINES, .title = "All zeros", .categories = months, .n_categories = 3, .series = &zs,
         .n_series = 1},
        {.kind = BB_CHART_HBARS, .title = "No series", .categories = months, .n_categories = 2},
        {.kind = BB_CHART_HEATMAP, .title = "All empty", .matrix = nans, .rows = 2, .cols = 2},
        {.kind = BB_CHART_SCATTER, .title = "No points"},
        {.kind = BB_CHART_HEATMAP, .title = "No cells", .value_format = BB_AXIS_PERCENT},
    };
    for (int k = 0; k < 6; k++) {
        c[k].svg_path = paths[k];
        c[k].width_px = 480;
        c[k].height_px = 320;
    }
    char err[512];
    assert_int_equal(render_quietly(c, 6, err, sizeof err), BB_OK);
    unsigned w, h;
    png_size(png, &w, &h);
    assert_int_equal(w, 480);
    for (int k = 0; k < 6; k++) {
        char *text = svg_text(paths[k]);
        assert_non_null(strstr(text, "\nNo data\n"));
        assert_non_null(strstr(text, c[k].title));
        free(text);
    }
}

/* Values that break naive scaling: near-equal huge numbers, infinities,
 * negatives, a lone point; and 1,000 categories, whose labels are thinned. */
static void test_odd_values(void **state)
{
    fixture *f = *state;
    static const double near_equal[3] = {1e14, 1e14 + 1.0, 1e14};
    static const double mixed[5] = {-5.0, INFINITY, NAN, -1e300, 2.5};
    static const double lone[5] = {NAN, NAN, 3.0, NAN, NAN};
    static double many[1000];
    static char labels[1000][16];
    static const char *label_ptrs[1000];
    for (int i = 0; i < 1000; i++) {
        many[i] = i % 7;
        snprintf(labels[i], sizeof labels[i], "Day %04d", i);
        label_ptrs[i] = labels[i];
    }
    bb_chart_series s_near = {.values = near_equal, .n = 3}, s_mixed = {.values = mixed, .n = 5},
                    s_lone = {.name = "Lone", .values = lone, .n = 5}, s_many = {.values = many, .n = 1000};
    char paths[4][160];
    for (int k = 0; k < 4; k++) {
        char name[32];
        snprintf(name, sizeof name, "odd%d.svg", k);
        path_in(f, name, paths[k], sizeof paths[k]);
    }
    bb_chart c[4] = {
        {.kind = BB_CHART_LINES, .title = "Near equal", .n_categories = 3, .series = &s_near, .n_series = 1,
         .y_tight = true},
        {.kind = BB_CHART_HBARS, .title = "Mixed", .categories = months, .n_categories = 5, .series = &s_mixed,
         .n_series = 1, .show_values = true, .value_format = BB_AXIS_PERCENT},
        {.kind = BB_CHART_LINES, .title = "Lone point", .n_categories = 5, .series = &s_lone, .n_series = 1},
        {.kind = BB_CHART_BARS, .title = "Many", .categories = label_ptrs, .n_categories = 1000,
         .series = &s_many, .n_series = 1},
    };
    for (int k = 0; k < 4; k++) {
        c[k].svg_path = paths[k];
        c[k].width_px = 640;
        c[k].height_px = 400;
    }
    char err[512];
    assert_int_equal(render_quietly(c, 4, err, sizeof err), BB_OK);
    char *near = svg_text(paths[0]);
    assert_null(strstr(near, "No data"));
    free(near);
    char *mixed_text = svg_text(paths[1]);
    assert_non_null(strstr(mixed_text, "\n-500 %\n")); /* value label of -5 as a ratio */
    assert_non_null(strstr(mixed_text, "\n250 %\n"));
    free(mixed_text);
    char *many_text = svg_text(paths[3]);
    int shown = 0;
    for (const char *p = many_text; (p = strstr(p, "\nDay ")) != NULL; p++)
        shown++;
    assert_true(shown >= 3 && shown <= 40);
    assert_non_null(strstr(many_text, "\nDay 0000\n"));
    free(many_text);
}

static void test_uncreatable_output(void **state)
{
    fixture *f = *state;
    sample *s = malloc(sizeof *s);
    assert_non_null(s);
    make_sample(s, f, "c", 480, 320);
    s->charts[2].svg_path = "/nonexistent-dir-bbreport/chart.svg";
    char err[512];
    assert_int_equal(render_quietly(s->charts, 5, err, sizeof err), BB_ERR_CANTCREAT);
    assert_non_null(strstr(err, "chart 3/5 \"Daily revenue\""));
    assert_non_null(strstr(err, "/nonexistent-dir-bbreport/chart.svg"));
    assert_int_equal(count_entries(f->dir, NULL), 0); /* nothing drawn, nothing left */
    free(s);
}

static void test_rename_failure(void **state)
{
    fixture *f = *state;
    static const double v[] = {1, 2};
    bb_chart_series s = {.values = v, .n = 2};
    char png[160], svg_dir[160];
    path_in(f, "r.png", png, sizeof png);
    path_in(f, "taken", svg_dir, sizeof svg_dir);
    assert_int_equal(mkdir(svg_dir, 0755), 0);
    bb_chart c = {.kind = BB_CHART_BARS, .title = "Renamed", .categories = months, .n_categories = 2,
                  .series = &s, .n_series = 1, .png_path = png, .svg_path = svg_dir,
                  .width_px = 480, .height_px = 320};
    char err[512];
    assert_int_equal(render_quietly(&c, 1, err, sizeof err), BB_ERR_IO);
    assert_non_null(strstr(err, "cannot rename"));
    assert_int_equal(count_entries(f->dir, ".tmp"), 0);
}

static void test_missing_device(void **state)
{
    fixture *f = *state;
    char png[160];
    path_in(f, "dev.png", png, sizeof png);
    bb_chart c = {.kind = BB_CHART_SCATTER, .title = "Needs a driver", .png_path = png,
                  .width_px = 480, .height_px = 320};
    /* PLplot finds its drivers through this variable: point it nowhere. */
    assert_int_equal(setenv("PLPLOT_DRV_DIR", "/nonexistent-bbreport-drivers", 1), 0);
    char err[512];
    bb_err e = render_quietly(&c, 1, err, sizeof err);
    unsetenv("PLPLOT_DRV_DIR");
    assert_int_equal(e, BB_ERR_INTERNAL);
    assert_non_null(strstr(err, "renderer failed"));
    assert_non_null(strstr(err, "drivers")); /* what PLplot said is passed on */
    assert_int_equal(count_entries(f->dir, NULL), 0);
    /* The process is intact and the next batch works. */
    assert_int_equal(render_quietly(&c, 1, err, sizeof err), BB_OK);
    assert_true(bb_fs_size(png) > 0);
}

static void test_killed_renderer(void **state)
{
    fixture *f = *state;
    sample *s = malloc(sizeof *s);
    assert_non_null(s);
    make_sample(s, f, "k", 480, 320);
    /* A file size limit that the small "No data" SVG of the first chart fits
     * in and the PNG of the second does not: the child dies of SIGXFSZ in
     * the second chart. */
    char small[160];
    path_in(f, "small.svg", small, sizeof small);
    bb_chart batch[2] = {{.kind = BB_CHART_SCATTER, .title = "Small", .svg_path = small,
                          .width_px = 480, .height_px = 320},
                         s->charts[2]};
    batch[1].svg_path = NULL;
    struct rlimit old_fsize, old_core;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old_fsize), 0);
    assert_int_equal(getrlimit(RLIMIT_CORE, &old_core), 0);
    struct rlimit tiny = {8192, old_fsize.rlim_max}, no_core = {0, old_core.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_CORE, &no_core), 0);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &tiny), 0);
    char err[512];
    bb_err e = bb_chart_render(batch, 2, err, sizeof err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old_fsize), 0);
    assert_int_equal(setrlimit(RLIMIT_CORE, &old_core), 0);
    assert_int_equal(e, BB_ERR_INTERNAL);
    assert_non_null(strstr(err, "chart 2/2 \"Daily revenue\""));
    assert_non_null(strstr(err, "signal"));
    assert_int_equal(count_entries(f->dir, NULL), 0); /* the finished SVG was not kept either */
    free(s);
}

static void test_rejects_malformed(void **state)
{
    fixture *f = *state;
    char png[160];
    path_in(f, "bad.png", png, sizeof png);
    static const double v[] = {1, 2, 3};
    static const int bad_group[] = {0, 2};
    bb_chart_series too_long = {.values = v, .n = 3}, no_values = {.n = 2};
    bb_chart cases[] = {
        {.kind = BB_CHART_BARS, .title = "No output"},
        {.kind = (bb_chart_kind)42, .png_path = png},
        {.kind = BB_CHART_BARS, .categories = months, .n_categories = 2, .series = &too_long, .n_series = 1,
         .png_path = png},
        {.kind = BB_CHART_LINES, .n_categories = 2, .series = &no_values, .n_series = 1, .png_path = png},
        {.kind = BB_CHART_HEATMAP, .rows = 2, .cols = 2, .png_path = png},
        {.kind = BB_CHART_SCATTER, .x = v, .y = v, .group = bad_group, .n_points = 2, .n_groups = 2,
         .png_path = png},
        {.kind = BB_CHART_BARS, .width_px = 10, .png_path = png},
        {.kind = BB_CHART_HEATMAP, .z_min = 1.0, .z_max = 0.0, .png_path = png},
    };
    char err[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(render_quietly(&cases[i], 1, err, sizeof err), BB_ERR_INTERNAL);
        assert_non_null(strstr(err, "chart 1/1"));
    }
    assert_int_equal(count_entries(f->dir, NULL), 0);
    assert_int_equal(bb_chart_render(NULL, 0, NULL, 0), BB_OK);
    assert_int_equal(bb_chart_render(NULL, 1, NULL, 0), BB_ERR_INTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deterministic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escapes_and_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_odd_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uncreatable_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_renderer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_malformed, setup, teardown),
    };
    return cmocka_run_group_tests_name("chart", tests, NULL, NULL);
}
