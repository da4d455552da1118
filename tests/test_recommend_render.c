/* Tests of the Recommendations section and the per-customer sheets: charts
 * registered and drawn, the PDF section, the workbook sheets (read back with
 * openpyxl when Debian's python3-openpyxl is there), the HTML partial, and
 * the sheets (which customers, one page each, file names, failures). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cblas.h>
#include <cmocka.h>

#include "analytics/summary.h"
#include "bb_test.h"
#include "gen/gen.h"
#include "ingest/ingest.h"
#include "recommend/recommend.h"
#include "render/customer_sheet.h"
#include "render/section_recs.h"
#include "render/template.h"
#include "util/fs.h"

typedef struct fixture {
    char dir[64], data[96], run[96];
    bb_log *log;
    bb_dataset *ds;
    bb_summary sum;
    bb_recs *recs;
    int *seg;
    const char *names[2];
    bb_report r;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/bb_recs_render_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->data, sizeof f->data, "%s/data", f->dir);
    snprintf(f->run, sizeof f->run, "%s/run", f->dir);
    assert_int_equal(bb_fs_mkdirs(f->run), BB_OK);
    assert_int_equal(bb_log_new(&f->log, NULL, BB_LOG_ERROR), BB_OK);
    bb_gen_opts g;
    bb_gen_defaults(&g);
    g.customers = 40;
    g.items = 30;
    g.purchases = 1000;
    g.seed = 4;
    g.out_dir = f->data;
    assert_int_equal(bb_gen_write(&g, NULL), BB_OK);
    bb_ingest_opts io;
    bb_ingest_defaults(&io);
    io.data_dir = f->data;
    assert_int_equal(bb_ingest_load(&io, f->log, &f->ds, NULL), BB_OK);
    assert_int_equal(bb_summary_compute(f->ds, &f->sum), BB_OK);
    f->seg = malloc(f->ds->customers.n * sizeof *f->seg);
    for (uint32_t c = 0; c < f->ds->customers.n; c++)
        f->seg[c] = (int)(c % 2);
    f->names[0] = "Champions";
    f->names[1] = "Loyal & <new>";
    bb_rec_opts o;
    bb_rec_defaults(&o);
    o.max_epochs = 4;
    o.threads = 2;
    bb_rec_segments seg = {f->seg, 2, f->names};
    assert_int_equal(bb_recommend_run(f->ds, &seg, &o, f->log, &f->recs), BB_OK);
    f->r = (bb_report){.ds = f->ds, .summary = &f->sum, .recs = f->recs, .title = "Sales report",
                       .business_name = "Salon Zoë", .version = "test", .run_id = "0123456789",
                       .data_dir = f->data, .epoch = 1700000000, .run_dir = f->run};
    snprintf(f->r.as_of, sizeof f->r.as_of, "2025-12-31");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    bb_recs_free(f->recs);
    bb_summary_free(&f->sum);
    bb_dataset_free(f->ds);
    free(f->seg);
    bb_log_free(f->log);
    bb_fs_rmtree(f->dir);
    free(f);
    return 0;
}

static bool have_tool(const char *name)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

/* The output of a shell command (at most 64 KiB). */
static char *run_cmd(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *out = calloc(1, 65536);
    size_t n = fread(out, 1, 65535, p);
    out[n] = '\0';
    pclose(p);
    return out;
}

static int pdf_pages(const char *path)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "pdfinfo '%s' 2>/dev/null | sed -n 's/^Pages: *//p'", path);
    char *out = run_cmd(cmd);
    int pages = (int)strtol(out, NULL, 10);
    free(out);
    return pages;
}

static void test_charts_pdf_html(void **state)
{
    fixture *f = *state;
    bb_report *r = &f->r;
    assert_int_equal(bb_section_recs_charts(r, f->log), BB_OK);
    assert_non_null(bb_report_find_chart(r, "recs_models"));
    assert_int_equal(bb_report_find_chart(r, "recs_training") != NULL, f->recs->n_epochs > 0);
    char path[512];
    snprintf(path, sizeof path, "%s/charts/recs_models.png", f->run);
    assert_true(bb_fs_size(path) > 1000);

    bb_pdf_opts po = {.title = "Sales report", .header_right = "As of 2025-12-31", .epoch = 1700000000, .toc = true};
    bb_pdf *pdf;
    assert_int_equal(bb_pdf_new(&pdf, &po), BB_OK);
    assert_int_equal(bb_section_recs_pdf(r, pdf), BB_OK);
    snprintf(path, sizeof path, "%s/recs.pdf", f->run);
    assert_int_equal(bb_pdf_save(pdf, path), BB_OK);
    assert_true(bb_pdf_page_count(pdf) >= 2);
    bb_pdf_free(pdf);
    if (have_tool("pdftotext")) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "pdftotext -q '%s' -", path);
        char *text = run_cmd(cmd);
        assert_non_null(strstr(text, "Recommendations"));
        assert_non_null(strstr(text, "Model comparison"));
        assert_non_null(strstr(text, "Popularity"));
        assert_non_null(strstr(text, f->recs->any_beats_popularity ? "beats popularity" : "No model beats popularity"));
        free(text);
    }

    /* The HTML model through the partial. */
    cJSON *model = cJSON_CreateObject();
    assert_int_equal(bb_section_recs_html(r, model, f->log), BB_OK);
    const cJSON *recs = cJSON_GetObjectItemCaseSensitive(model, "recs");
    assert_non_null(recs);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(recs, "models")), BB_REC__KINDS);
    char tpl_path[512];
    const char *src = getenv("BB_SOURCE_DIR");
    snprintf(tpl_path, sizeof tpl_path, "%s/templates/recs.html", src ? src : ".");
    char *tpl;
    size_t len;
    assert_int_equal(bb_fs_read_file(tpl_path, 1 << 20, &tpl, &len), BB_OK);
    bb_buf out;
    bb_buf_init(&out, 0);
    char err[256];
    assert_int_equal(bb_tpl_render(tpl, len, model, NULL, &out, err, sizeof err), BB_OK);
    assert_non_null(strstr(out.data, "<section id=\"recs\""));
    assert_non_null(strstr(out.data, "<svg"));
    assert_non_null(strstr(out.data, "Loyal &amp; &lt;new&gt;")); /* data is escaped */
    assert_null(strstr(out.data, "Loyal & <new>"));
    bb_buf_free(&out);
    free(tpl);
    cJSON_Delete(model);

    /* Without the stage: nothing, and no failure. */
    bb_report none = *r;
    none.recs = NULL;
    assert_int_equal(bb_section_recs_pdf(&none, NULL), BB_OK);
    assert_int_equal(bb_section_recs_html(&none, NULL, f->log), BB_OK);
    size_t n = 9;
    assert_int_equal(bb_customer_sheets_write(&none, "all", f->log, &n), BB_OK);
    assert_int_equal(n, 0);
}

static void test_sheets(void **state)
{
    fixture *f = *state;
    bb_report *r = &f->r;
    size_t n = 0;
    char ids[256], path[512];
    snprintf(ids, sizeof ids, "%s/ids.txt", f->dir);
    const char *list = "# front desk today\nCust0003\r\n\n  Cust0007  \nnobody\nCust0003\n";
    assert_int_equal(bb_fs_write_file(ids, list, strlen(list)), BB_OK);
    char which[300];
    snprintf(which, sizeof which, "ids:%s", ids);
    assert_int_equal(bb_customer_sheets_write(r, which, f->log, &n), BB_OK);
    assert_int_equal(n, 2);
    snprintf(path, sizeof path, "%s/customers/Cust0003.pdf", f->run);
    assert_true(bb_fs_exists(path));
    snprintf(path, sizeof path, "%s/customers/Cust0001.pdf", f->run);
    assert_false(bb_fs_exists(path));

    assert_int_equal(bb_customer_sheets_write(r, "segment:Champions", f->log, &n), BB_OK);
    assert_int_equal(n, (f->ds->customers.n + 1) / 2);
    assert_int_equal(bb_customer_sheets_write(r, "none", f->log, &n), BB_OK);
    assert_int_equal(n, 0);
    assert_int_equal(bb_customer_sheets_write(r, "segment:Nobody", f->log, &n), BB_ERR_CONFIG);
    assert_int_equal(bb_customer_sheets_write(r, "some", f->log, &n), BB_ERR_CONFIG);
    assert_int_equal(bb_customer_sheets_write(r, "ids:/nonexistent/list", f->log, &n), BB_ERR_CONFIG);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(bb_customer_sheets_write(r, "all", f->log, &n), BB_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("  %zu sheets in %.2f s with %d workers: %.0f sheets/s\n", n, s, bb_customer_sheets_workers(), n / s);
    assert_int_equal(n, f->ds->customers.n);
    if (have_tool("pdfinfo")) {
        /* One page each, the customer's ID and items in it. */
        for (uint32_t c = 0; c < f->ds->customers.n; c += 7) {
            snprintf(path, sizeof path, "%s/customers/%s.pdf", f->run, bb_intern_str(f->ds->customers.ids, c));
            assert_int_equal(pdf_pages(path), 1);
        }
        if (have_tool("pdftotext")) {
            char cmd[600];
            snprintf(cmd, sizeof cmd, "pdftotext -q '%s/customers/Cust0003.pdf' -", f->run);
            char *text = run_cmd(cmd);
            assert_non_null(strstr(text, "Cust0003"));
            assert_non_null(strstr(text, "Recommended"));
            assert_non_null(strstr(text, "Recent purchases"));
            uint32_t c = 2; /* Cust0003 */
            uint32_t item = f->recs->rec_item[(size_t)c * f->recs->top_n];
            char first[64];
            snprintf(first, sizeof first, "%.20s", bb_intern_str(f->ds->item_names, f->ds->items.name[item]));
            assert_non_null(strstr(text, first));
            free(text);
        }
    }

    /* A run directory that cannot take the files. */
    bb_report bad = *r;
    bad.run_dir = "/proc/no_such_run";
    assert_int_equal(bb_customer_sheets_write(&bad, "all", f->log, &n), BB_ERR_CANTCREAT);
}

static void test_workbook(void **state)
{
    fixture *f = *state;
    bb_report *r = &f->r;
    size_t n;
    /* Sheets for three customers: their first rows link to them. */
    char ids[256], which[300];
    snprintf(ids, sizeof ids, "%s/three.txt", f->dir);
    const char *list = "Cust0002\nCust0004\nCust0006\n";
    assert_int_equal(bb_fs_write_file(ids, list, strlen(list)), BB_OK);
    snprintf(which, sizeof which, "ids:%s", ids);
    char sub[256];
    snprintf(sub, sizeof sub, "%s/customers", f->run);
    bb_fs_rmtree(sub);
    assert_int_equal(bb_customer_sheets_write(r, which, f->log, &n), BB_OK);
    assert_int_equal(n, 3);
    char path[512];
    snprintf(path, sizeof path, "%s/workbook.xlsx", f->run);
    bb_xlsx_opts o = {.title = "Sales report", .created_epoch = 1700000000, .log = f->log};
    bb_xlsx *wb;
    assert_int_equal(bb_xlsx_new(&wb, path, &o), BB_OK);
    assert_int_equal(bb_section_recs_xlsx(r, wb, f->log), BB_OK);
    assert_int_equal(bb_xlsx_close(wb), BB_OK);
    assert_true(bb_fs_size(path) > 1000);
    if (access("/usr/bin/python3", X_OK) != 0 || system("/usr/bin/python3 -c 'import openpyxl' 2>/dev/null") != 0)
        return;
    char cmd[1400];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -W ignore - '%s' <<'PY'\n"
             "import sys, openpyxl\n"
             "wb = openpyxl.load_workbook(sys.argv[1])\n"
             "ws = wb['Recommendations']\n"
             "hdr = next(r for r in range(1, 10) if ws.cell(r, 1).value == 'Customer')\n"
             "rows = [[c.value for c in row] for row in ws.iter_rows(min_row=hdr + 1)]\n"
             "links = sorted(c.hyperlink.target for row in ws.iter_rows(min_row=hdr + 1) for c in row if c.hyperlink)\n"
             "print(wb.sheetnames, len(rows), links, rows[0][2], rows[0][0])\n"
             "PY",
             path);
    char *out = run_cmd(cmd);
    printf("  openpyxl: %s", out);
    char want[300];
    snprintf(want, sizeof want,
             "['Recommendations', 'Recommender Models'] %u ['customers/Cust0002.pdf', 'customers/Cust0004.pdf', "
             "'customers/Cust0006.pdf'] 1 Cust0001",
             f->ds->customers.n * (uint32_t)f->recs->top_n);
    assert_non_null(strstr(out, want));
    free(out);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    setvbuf(stdout, NULL, _IOLBF, 0);
    openblas_set_num_threads(1);
    /* One dataset, run and run directory for the group (setup runs once). */
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_charts_pdf_html),
        cmocka_unit_test(test_sheets),
        cmocka_unit_test(test_workbook),
    };
    return cmocka_run_group_tests_name("unit", unit, setup, teardown);
}
