/* Tests of settings: defaults, INI files, the command line, precedence, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "pipeline/config.h"
#include "util/date.h"
#include "util/fs.h"

static char dir[] = "/tmp/bb_config_XXXXXX";

static const char *write_ini(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(bb_fs_write_file(path, text, strlen(text)), BB_OK);
    return path;
}

static void test_defaults(void **state)
{
    (void)state;
    bb_config c;
    assert_int_equal(bb_config_init(&c), BB_OK);
    assert_string_equal(c.data_dir, "data/sample");
    assert_string_equal(c.out_dir, "out");
    assert_int_equal(c.as_of, BB_DATE_NONE);
    assert_true(c.seed == 42);
    assert_true(c.reject_threshold > 0.0099 && c.reject_threshold < 0.0101);
    assert_string_equal(c.input[BB_FILE_PURCHASES].column[BB_COL_PUR_TOTAL], "TotalPrice");
    assert_int_equal(c.input[BB_FILE_ITEMS].delimiter, ',');
    bb_config_free(&c);
    bb_config_free(&c); /* twice is harmless */
}

static void test_ini_and_precedence(void **state)
{
    (void)state;
    const char *path = write_ini("a.ini",
                                 "; a comment\n[run]\ndata = mydata\nseed = 7\nas_of = 2024-02-29\n"
                                 "reject_threshold = 0.05\n[purchases]\ndelimiter = tab\n"
                                 "quantity =\ndate_format = DD-MM-YYYY\n[report]\nbusiness_name = Café Zoë\n");
    bb_config c;
    assert_int_equal(bb_config_init(&c), BB_OK);
    char err[512];
    char *argv[] = {"--config", (char *)path, "--seed", "9", "--out=elsewhere"};
    assert_int_equal(bb_config_parse_args(&c, 5, argv, err, sizeof err), BB_OK);
    char want[300];
    snprintf(want, sizeof want, "%s/mydata", dir); /* relative to the INI file */
    assert_string_equal(c.data_dir, want);
    assert_string_equal(c.out_dir, "elsewhere"); /* command line: as given */
    assert_true(c.seed == 9);                   /* the command line wins */
    assert_int_equal(c.as_of, bb_date_from_ymd(2024, 2, 29));
    assert_true(c.reject_threshold > 0.0499 && c.reject_threshold < 0.0501);
    assert_int_equal(c.input[BB_FILE_PURCHASES].delimiter, '\t');
    assert_string_equal(c.input[BB_FILE_PURCHASES].column[BB_COL_PUR_QUANTITY], "");
    assert_string_equal(c.business_name, "Café Zoë");

    bb_ingest_opts io;
    bb_config_ingest_opts(&c, &io);
    assert_string_equal(io.file[BB_FILE_PURCHASES].date_format, "DD-MM-YYYY");
    assert_string_equal(io.data_dir, want);
    bb_config_free(&c);
}

static void test_errors(void **state)
{
    (void)state;
    bb_config c;
    char err[512];
    assert_int_equal(bb_config_init(&c), BB_OK);
    const char *path = write_ini("bad.ini", "[run]\nseed = 1\n\nsede = 2\n");
    assert_int_equal(bb_config_load_ini(&c, path, err, sizeof err), BB_ERR_CONFIG);
    assert_non_null(strstr(err, ":4: unknown key 'sede' in [run]"));
    path = write_ini("bad2.ini", "[nope]\nx = 1\n");
    assert_int_equal(bb_config_load_ini(&c, path, err, sizeof err), BB_ERR_CONFIG);
    assert_non_null(strstr(err, "unknown section [nope]"));
    path = write_ini("bad3.ini", "[run]\nreject_threshold = 2\n");
    assert_int_equal(bb_config_load_ini(&c, path, err, sizeof err), BB_ERR_CONFIG);
    path = write_ini("bad4.ini", "[run]\nas_of = 2023-02-30\n");
    assert_int_equal(bb_config_load_ini(&c, path, err, sizeof err), BB_ERR_CONFIG);
    assert_non_null(strstr(err, "not a date"));
    assert_int_equal(bb_config_load_ini(&c, "/nonexistent/x.ini", err, sizeof err), BB_ERR_CONFIG);

    char *a1[] = {"--bogus", "1"};
    assert_int_equal(bb_config_parse_args(&c, 2, a1, err, sizeof err), BB_ERR_USAGE);
    assert_non_null(strstr(err, "--bogus"));
    char *a2[] = {"--seed"};
    assert_int_equal(bb_config_parse_args(&c, 1, a2, err, sizeof err), BB_ERR_USAGE);
    char *a3[] = {"--threads", "-1"};
    assert_int_equal(bb_config_parse_args(&c, 2, a3, err, sizeof err), BB_ERR_USAGE);
    char *a4[] = {"stray"};
    assert_int_equal(bb_config_parse_args(&c, 1, a4, err, sizeof err), BB_ERR_USAGE);
    char *a5[] = {"--purchases-delimiter", "ab"};
    assert_int_equal(bb_config_parse_args(&c, 2, a5, err, sizeof err), BB_ERR_USAGE);
    bb_config_free(&c);
}

/* --print-config output read back gives the same settings. */
static void test_print_roundtrip(void **state)
{
    (void)state;
    bb_config c, d;
    char err[512];
    assert_int_equal(bb_config_init(&c), BB_OK);
    char *argv[] = {"--as-of", "2023-12-31", "--purchases-delimiter", "tab", "--business-name", "A; B",
                    "--reject-threshold", "0.125", "--data", "/abs/data", "--out", "/abs/out"};
    assert_int_equal(bb_config_parse_args(&c, 12, argv, err, sizeof err), BB_OK);
    char path[256];
    snprintf(path, sizeof path, "%s/printed.ini", dir);
    FILE *f = fopen(path, "w");
    bb_config_print_ini(&c, f);
    fclose(f);
    assert_int_equal(bb_config_init(&d), BB_OK);
    assert_int_equal(bb_config_load_ini(&d, path, err, sizeof err), BB_OK);
    cJSON *a = bb_config_to_json(&c, false), *b = bb_config_to_json(&d, false);
    char *ta = cJSON_PrintUnformatted(a), *tb = cJSON_PrintUnformatted(b);
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
    cJSON_Delete(a);
    cJSON_Delete(b);

    /* The fingerprint leaves out what cannot change results. */
    cJSON *fp = bb_config_to_json(&c, true);
    cJSON *run = cJSON_GetObjectItemCaseSensitive(fp, "run");
    assert_null(cJSON_GetObjectItemCaseSensitive(run, "threads"));
    assert_null(cJSON_GetObjectItemCaseSensitive(run, "out"));
    assert_non_null(cJSON_GetObjectItemCaseSensitive(run, "seed"));
    cJSON_Delete(fp);
    bb_config_free(&c);
    bb_config_free(&d);
}

int main(void)
{
    assert_non_null(mkdtemp(dir));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_ini_and_precedence),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_print_roundtrip),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    bb_fs_rmtree(dir);
    return rc;
}
