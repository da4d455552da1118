/* Tests of the Customer segments section: a segmentation of data/sample laid
 * out as charts, a PDF (read back with pdftotext), a workbook (read back with
 * openpyxl) and the HTML partial (templates/segments.html through the
 * Mustache engine, checked with Python's html.parser when present). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "analytics/summary.h"
#include "bb_test.h"
#include "ingest/ingest.h"
#include "render/section_segments.h"
#include "render/template.h"
#include "segment/segment.h"
#include "util/buf.h"
#include "util/fs.h"

typedef struct fixture {
    char dir[64];
    bb_dataset *ds;
    bb_summary sum;
    bb_segmentation *seg;
    bb_report r;
    bb_log *log;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/bb_segr_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(bb_log_new(&f->log, NULL, BB_LOG_ERROR), BB_OK);
    const char *src = getenv("BB_SOURCE_DIR");
    char data[1024];
    snprintf(data, sizeof data, "%s/data/sample", src ? src : ".");
    bb_ingest_opts io;
    bb_ingest_defaults(&io);
    io.data_dir = data;
    assert_int_equal(bb_ingest_load(&io, f->log, &f->ds, NULL), BB_OK);
    assert_int_equal(bb_summary_compute(f->ds, &f->sum), BB_OK);
    bb_segment_opts o;
    bb_segment_defaults(&o);
    assert_int_equal(bb_segment_run(f->ds, &o, f->log, &f->seg), BB_OK);
    f->r = (bb_report){.ds = f->ds, .summary = &f->sum, .segments = f->seg, .title = "Sales report",
                       .business_name = "", .version = "test", .run_id = "0123456789", .data_dir = data,
                       .epoch = 1700000000, .run_dir = f->dir};
    bb_date_format(f->ds->as_of, f->r.as_of);
    /* The texts come from the built-in templates/segments.json. */
    char *json = NULL;
    assert_int_equal(bb_report_template(&f->r, "segments.json", &json, f->log), BB_OK);
    assert_int_equal(bb_segment_set_texts(f->seg, json, strlen(json), f->log), BB_OK);
    free(json);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    /* BB_TEST_KEEP=1 keeps the files to look at. */
    if (getenv("BB_TEST_KEEP"))
        printf("kept %s\n", f->dir);
    else
        bb_fs_rmtree(f->dir);
    bb_segmentation_free(f->seg);
    bb_summary_free(&f->sum);
    bb_dataset_free(f->ds);
    bb_log_free(f->log);
    free(f);
    return 0;
}

static char *run_capture(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    bb_buf b;
    bb_buf_init(&b, 0);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        bb_buf_append(&b, chunk, n);
    int st = pclose(p);
    char *out = bb_buf_detach(&b);
    if (st != 0) {
        free(out);
        return NULL;
    }
    return out;
}

static bool have(const char *cmd)
{
    char c[256];
    snprintf(c, sizeof c, "%s >/dev/null 2>&1", cmd);
    return system(c) == 0;
}

static void test_texts_cover_every_name(void **state)
{
    fixture *f = *state;
    /* Every name the rules can give, and the fixed ones, have texts. */
    char *json = NULL;
    assert_int_equal(bb_report_template(&f->r, "segments.json", &json, NULL), BB_OK);
    cJSON *root = cJSON_Parse(json);
    assert_non_null(root);
    const char *fixed[] = {BB_NAMING_NONE, BB_NAMING_SINGLE, BB_NAMING_OTHER_KEY};
    for (size_t i = 0; i < bb_naming_rule_count() + 3; i++) {
        const char *name = i < bb_naming_rule_count() ? bb_naming_rule_name(i) : fixed[i - bb_naming_rule_count()];
        cJSON *e = cJSON_GetObjectItemCaseSensitive(root, name);
        assert_true(cJSON_IsObject(e));
        assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "description")));
        int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(e, "actions"));
        assert_true(n >= 2 && n <= BB_SEG_MAX_ACTIONS);
    }
    cJSON_Delete(root);
    free(json);
    for (int j = 0; j < f->seg->k; j++) {
        assert_true(strlen(f->seg->segments[j].description) > 20);
        assert_true(f->seg->segments[j].n_actions >= 2);
    }
    assert_true(f->seg->none.n_actions >= 2);
}

static void test_charts_and_pdf(void **state)
{
    fixture *f = *state;
    assert_int_equal(bb_section_segments_charts(&f->r, f->log), BB_OK);
    const char *names[] = {"segments_sizes", "segments_pca", "segments_elbow", "segments_quality"};
    for (size_t i = 0; i < 4; i++) {
        const bb_report_chart *c = bb_report_find_chart(&f->r, names[i]);
        assert_non_null(c);
        char path[2600];
        snprintf(path, sizeof path, "%s/%s", f->dir, c->png);
        assert_true(bb_fs_size(path) > 1000);
        snprintf(path, sizeof path, "%s/%s", f->dir, c->svg);
        assert_true(bb_fs_size(path) > 1000);
    }

    bb_pdf_opts po = {.title = "Sales report", .header_right = "As of", .epoch = f->r.epoch, .toc = true};
    bb_pdf *pdf = NULL;
    assert_int_equal(bb_pdf_new(&pdf, &po), BB_OK);
    assert_int_equal(bb_pdf_cover(pdf, "Sales report", NULL, NULL, 0), BB_OK);
    assert_int_equal(bb_section_segments_pdf(&f->r, pdf), BB_OK);
    char path[256];
    snprintf(path, sizeof path, "%s/segments.pdf", f->dir);
    assert_int_equal(bb_pdf_save(pdf, path), BB_OK);
    assert_true(bb_pdf_page_count(pdf) >= 5);
    bb_pdf_free(pdf);

    if (!have("pdftotext -v")) {
        printf("pdftotext not found: PDF text not checked\n");
        return;
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd, "pdftotext -q %s -", path);
    char *text = run_capture(cmd);
    assert_non_null(text);
    const char *want[] = {"Customer segments", "Sizes and value", "Profiles", "Who they are", "Segment map",
                          "How many segments", "No purchases yet", "Calinski-Harabasz", "as configured"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (!strstr(text, want[i]))
            fail_msg("PDF lacks \"%s\"", want[i]);
    }
    for (int j = 0; j < f->seg->k; j++) {
        assert_non_null(strstr(text, f->seg->segments[j].name));
        /* The first action of each segment is there (its start: lines wrap). */
        char start[24];
        snprintf(start, sizeof start, "%.20s", f->seg->segments[j].actions[0]);
        assert_non_null(strstr(text, start));
    }
    char favour[64];
    snprintf(favour, sizeof favour, "favour k = %d", f->seg->k_favoured);
    assert_non_null(strstr(text, favour));
    free(text);
}

static const char XLSX_PY[] =
    "import sys, warnings\n"
    "warnings.simplefilter('ignore')\n"
    "import openpyxl\n"
    "wb = openpyxl.load_workbook(sys.argv[1], read_only=True)\n"
    "print('sheets', '|'.join(wb.sheetnames))\n"
    "for name in wb.sheetnames:\n"
    "    rows = list(wb[name].iter_rows(values_only=True))\n"
    "    head = next(i for i, r in enumerate(rows) if r and r[0] in ('Segment', 'k', 'CustomerID', 'Previous segment'))\n"
    "    data = [r for r in rows[head + 1:] if r and r[0] is not None]\n"
    "    print(name, 'rows', len(data))\n"
    "    print(name, 'header', '|'.join(str(c) for c in rows[head]))\n"
    "    for r in data[:3]:\n"
    "        print(name, 'row', '|'.join('' if c is None else str(c) for c in r))\n";

static void test_workbook(void **state)
{
    fixture *f = *state;
    char path[256];
    snprintf(path, sizeof path, "%s/workbook.xlsx", f->dir);
    bb_xlsx *wb = NULL;
    bb_xlsx_opts xo = {.title = "Sales report", .created_epoch = f->r.epoch, .log = f->log};
    assert_int_equal(bb_xlsx_new(&wb, path, &xo), BB_OK);
    assert_int_equal(bb_section_segments_xlsx(&f->r, wb, f->log), BB_OK);
    assert_int_equal(bb_xlsx_close(wb), BB_OK);
    assert_true(bb_fs_size(path) > 5000);
    /* Streaming mode, as a big run would use it, gives the same sheets. */
    char spath[256];
    snprintf(spath, sizeof spath, "%s/streaming.xlsx", f->dir);
    xo.streaming = true;
    assert_int_equal(bb_xlsx_new(&wb, spath, &xo), BB_OK);
    assert_int_equal(bb_section_segments_xlsx(&f->r, wb, f->log), BB_OK);
    assert_int_equal(bb_xlsx_close(wb), BB_OK);

    if (!have("/usr/bin/python3 -c 'import openpyxl'")) {
        printf("openpyxl not found: workbook contents not checked\n");
        return;
    }
    char script[256], cmd[1024];
    snprintf(script, sizeof script, "%s/read.py", f->dir);
    assert_int_equal(bb_fs_write_file(script, XLSX_PY, strlen(XLSX_PY)), BB_OK);
    for (int pass = 0; pass < 2; pass++) {
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s", script, pass ? spath : path);
        char *out = run_capture(cmd);
        assert_non_null(out);
        assert_non_null(strstr(out, "sheets Segments|Segment k|Customers"));
        char want[256];
        snprintf(want, sizeof want, "Segments rows %d\n", f->seg->k + (f->seg->none.customers ? 1 : 0));
        assert_non_null(strstr(out, want));
        snprintf(want, sizeof want, "Segment k rows %zu\n", f->seg->n_scan);
        assert_non_null(strstr(out, want));
        snprintf(want, sizeof want, "Customers rows %u\n", f->seg->n_customers);
        assert_non_null(strstr(out, want));
        assert_non_null(strstr(out, "Customers header CustomerID|Segment|Distance to centre|Days since last visit|Visits"));
        /* The first customer's row: ID and segment name. */
        snprintf(want, sizeof want, "Customers row %s|%s|", bb_intern_str(f->ds->customers.ids, 0),
                 bb_segment_name(f->seg, f->seg->segment[0]));
        assert_non_null(strstr(out, want));
        snprintf(want, sizeof want, "Segments row %s|", f->seg->segments[0].name);
        assert_non_null(strstr(out, want));
        free(out);
    }
}

static void test_html(void **state)
{
    fixture *f = *state;
    if (!bb_report_find_chart(&f->r, "segments_pca"))
        assert_int_equal(bb_section_segments_charts(&f->r, f->log), BB_OK);
    cJSON *model = cJSON_CreateObject();
    assert_int_equal(bb_section_segments_html(&f->r, model, f->log), BB_OK);
    cJSON *m = cJSON_GetObjectItemCaseSensitive(model, "segments");
    assert_non_null(m);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, "groups")),
                     f->seg->k + (f->seg->none.customers ? 1 : 0));
    char *tpl = NULL;
    assert_int_equal(bb_report_template(&f->r, "segments.html", &tpl, f->log), BB_OK);
    bb_buf out;
    bb_buf_init(&out, 0);
    char err[256];
    assert_int_equal(bb_tpl_render(tpl, strlen(tpl), model, NULL, &out, err, sizeof err), BB_OK);
    assert_non_null(strstr(out.data, "<section id=\"segments\""));
    for (int j = 0; j < f->seg->k; j++)
        assert_non_null(strstr(out.data, f->seg->segments[j].name));
    assert_non_null(strstr(out.data, "No purchases yet"));
    size_t svgs = 0;
    for (const char *p = out.data; (p = strstr(p, "<svg")) != NULL; p++)
        svgs++;
    assert_int_equal(svgs, 4);
    assert_null(strstr(out.data, "{{"));
    if (have("/usr/bin/python3 -c 'import html.parser'")) {
        /* Every opened element of the partial is closed (void elements aside). */
        static const char check[] =
            "import sys, html.parser\n"
            "VOID = {'br', 'img', 'meta', 'link', 'hr', 'input', 'path', 'rect', 'line', 'circle', 'polyline',\n"
            "        'polygon', 'text', 'tspan', 'g', 'svg', 'clippath', 'defs', 'use', 'style', 'title', 'desc'}\n"
            "class P(html.parser.HTMLParser):\n"
            "    def __init__(self):\n"
            "        super().__init__(); self.stack = []; self.bad = 0; self.svg = 0\n"
            "    def handle_starttag(self, t, a):\n"
            "        if t == 'svg': self.svg += 1\n"
            "        if self.svg == 0 and t not in VOID: self.stack.append(t)\n"
            "    def handle_endtag(self, t):\n"
            "        if t == 'svg': self.svg -= 1; return\n"
            "        if self.svg or t in VOID: return\n"
            "        if not self.stack or self.stack.pop() != t: self.bad += 1\n"
            "p = P(); p.feed(open(sys.argv[1], encoding='utf-8').read())\n"
            "sys.exit(1 if p.bad or p.stack else 0)\n";
        char hpath[256], spath[256], cmd[700];
        snprintf(hpath, sizeof hpath, "%s/segments.html", f->dir);
        snprintf(spath, sizeof spath, "%s/check.py", f->dir);
        assert_int_equal(bb_fs_write_file(hpath, out.data, out.len), BB_OK);
        assert_int_equal(bb_fs_write_file(spath, check, strlen(check)), BB_OK);
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s", spath, hpath);
        assert_int_equal(system(cmd), 0);
    }
    bb_buf_free(&out);
    free(tpl);
    cJSON_Delete(model);
}

static void test_migrations_shown(void **state)
{
    fixture *f = *state;
    /* Last night everyone was a Champion. */
    bb_buf b;
    bb_buf_init(&b, 0);
    bb_buf_puts(&b, "CustomerID,Segment,Distance\n");
    for (uint32_t c = 0; c < f->ds->customers.n; c++)
        bb_buf_printf(&b, "%s,Champions,1.0\n", bb_intern_str(f->ds->customers.ids, c));
    char path[256];
    snprintf(path, sizeof path, "%s/previous.csv", f->dir);
    assert_int_equal(bb_fs_write_file(path, b.data, b.len), BB_OK);
    bb_buf_free(&b);
    assert_int_equal(bb_segment_migrations(f->seg, f->ds, path, f->log), BB_OK);

    bb_pdf_opts po = {.title = "Sales report", .epoch = f->r.epoch};
    bb_pdf *pdf = NULL;
    assert_int_equal(bb_pdf_new(&pdf, &po), BB_OK);
    assert_int_equal(bb_section_segments_pdf(&f->r, pdf), BB_OK);
    snprintf(path, sizeof path, "%s/moves.pdf", f->dir);
    assert_int_equal(bb_pdf_save(pdf, path), BB_OK);
    bb_pdf_free(pdf);
    if (have("pdftotext -v")) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "pdftotext -q %s -", path);
        char *text = run_capture(cmd);
        assert_non_null(text);
        assert_non_null(strstr(text, "Since the previous run"));
        assert_non_null(strstr(text, "Previous segment"));
        free(text);
    }
    snprintf(path, sizeof path, "%s/moves.xlsx", f->dir);
    bb_xlsx *wb = NULL;
    bb_xlsx_opts xo = {.title = "t", .created_epoch = f->r.epoch};
    assert_int_equal(bb_xlsx_new(&wb, path, &xo), BB_OK);
    assert_int_equal(bb_section_segments_xlsx(&f->r, wb, f->log), BB_OK);
    assert_int_equal(bb_xlsx_close(wb), BB_OK);
    if (have("/usr/bin/python3 -c 'import openpyxl'")) {
        char script[256], cmd[1024];
        snprintf(script, sizeof script, "%s/read.py", f->dir);
        assert_int_equal(bb_fs_write_file(script, XLSX_PY, strlen(XLSX_PY)), BB_OK);
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s", script, path);
        char *out = run_capture(cmd);
        assert_non_null(out);
        assert_non_null(strstr(out, "sheets Segments|Segment k|Segment moves|Customers"));
        free(out);
    }
    cJSON *model = cJSON_CreateObject();
    assert_int_equal(bb_section_segments_html(&f->r, model, f->log), BB_OK);
    cJSON *mg = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(model, "segments"), "migrations");
    assert_non_null(mg);
    cJSON *moves = cJSON_GetObjectItemCaseSensitive(mg, "moves");
    assert_true(cJSON_GetArraySize(moves) >= f->seg->k - 1);
    /* Biggest first: every move comes from Champions. */
    cJSON *first = cJSON_GetArrayItem(moves, 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(first, "from")->valuestring, "Champions");
    cJSON_Delete(model);
}

static void test_absent_and_empty(void **state)
{
    fixture *f = *state;
    /* The stage did not run: every function does nothing. */
    bb_report r = f->r;
    r.segments = NULL;
    r.n_charts = 0;
    assert_int_equal(bb_section_segments_charts(&r, f->log), BB_OK);
    assert_int_equal(r.n_charts, 0);
    cJSON *model = cJSON_CreateObject();
    assert_int_equal(bb_section_segments_html(&r, model, f->log), BB_OK);
    assert_null(cJSON_GetObjectItemCaseSensitive(model, "segments"));
    cJSON_Delete(model);
    /* Nobody has bought yet: the section says so and draws nothing. */
    bb_segmentation empty;
    memset(&empty, 0, sizeof empty);
    empty.n_customers = 12;
    empty.none.customers = 12;
    r.segments = &empty;
    assert_int_equal(bb_section_segments_charts(&r, f->log), BB_OK);
    assert_int_equal(r.n_charts, 0);
    bb_pdf_opts po = {.title = "t", .epoch = 1};
    bb_pdf *pdf = NULL;
    assert_int_equal(bb_pdf_new(&pdf, &po), BB_OK);
    assert_int_equal(bb_section_segments_pdf(&r, pdf), BB_OK);
    bb_pdf_free(pdf);
    model = cJSON_CreateObject();
    assert_int_equal(bb_section_segments_html(&r, model, f->log), BB_OK);
    cJSON *m = cJSON_GetObjectItemCaseSensitive(model, "segments");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(m, "has_segments")));
    cJSON_Delete(model);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest unit[] = {
        cmocka_unit_test_setup_teardown(test_texts_cover_every_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_charts_and_pdf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workbook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_html, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrations_shown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absent_and_empty, setup, teardown),
    };
    (void)argc;
    (void)argv;
    return cmocka_run_group_tests_name("unit", unit, NULL, NULL);
}
