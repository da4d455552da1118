/* Tests of the streaming CSV reader and the typed field parsers, including the
 * csv-spectrum conformance cases in ../shared/spec/csv-spectrum. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <unistd.h>

#include "bb_test.h"
#include "ingest/csv.h"
#include "ingest/field.h"
#include "util/buf.h"
#include "util/fs.h"

/* Collects records as "line|f1|f2|...\n" and bad records as "BAD line reason\n". */
typedef struct collect {
    bb_buf text;
    cJSON *rows; /* array of arrays of strings */
} collect;

static bb_err on_row(void *user, const bb_csv_row *row)
{
    collect *c = user;
    bb_buf_printf(&c->text, "%llu", (unsigned long long)row->line);
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < row->nfields; i++) {
        bb_buf_printf(&c->text, "|%s", row->field[i]);
        assert_int_equal(strlen(row->field[i]), row->len[i]);
        cJSON_AddItemToArray(arr, cJSON_CreateString(row->field[i]));
    }
    bb_buf_putc(&c->text, '\n');
    cJSON_AddItemToArray(c->rows, arr);
    return BB_OK;
}

static bb_err on_bad(void *user, uint64_t line, const char *reason, const char *raw, size_t n)
{
    (void)raw;
    (void)n;
    collect *c = user;
    bb_buf_printf(&c->text, "BAD %llu %s\n", (unsigned long long)line,
                  strstr(reason, "longer") ? "long" : "malformed");
    return BB_OK;
}

static void collect_init(collect *c)
{
    bb_buf_init(&c->text, 0);
    c->rows = cJSON_CreateArray();
}

static void collect_free(collect *c)
{
    bb_buf_free(&c->text);
    cJSON_Delete(c->rows);
}

/* Parses s fed in pieces of `step` bytes (0: all at once). */
static char *parse(const char *s, size_t step, size_t max_record, bb_csv_stats *st_out)
{
    collect c;
    collect_init(&c);
    bb_csv_opts o = {.delimiter = ',', .max_record_bytes = max_record};
    bb_csv *r;
    assert_int_equal(bb_csv_new(&r, &o, on_row, on_bad, &c), BB_OK);
    size_t n = strlen(s);
    if (step == 0)
        step = n ? n : 1;
    for (size_t i = 0; i < n; i += step)
        assert_int_equal(bb_csv_feed(r, s + i, i + step > n ? n - i : step), BB_OK);
    assert_int_equal(bb_csv_finish(r), BB_OK);
    if (st_out)
        *st_out = *bb_csv_stats_get(r);
    bb_csv_free(r);
    char *text = bb_buf_detach(&c.text);
    collect_free(&c);
    return text;
}

/* The same result whatever the chunking: all at once, byte by byte, in 7s. */
static void expect(const char *input, const char *want)
{
    size_t steps[] = {0, 1, 2, 7};
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        char *got = parse(input, steps[k], 0, NULL);
        if (strcmp(got, want) != 0)
            fail_msg("step %zu: input [%s]\nwant [%s]\ngot  [%s]", steps[k], input, want, got);
        free(got);
    }
}

static void test_basic_records(void **state)
{
    (void)state;
    expect("a,b\n1,2\n", "1|a|b\n2|1|2\n");
    expect("a,b\r\n1,2\r\n", "1|a|b\n2|1|2\n");
    expect("a,b\n1,2", "1|a|b\n2|1|2\n");                   /* no final line break */
    expect("a,b\n\n1,2\n\n\n3,4\n", "1|a|b\n3|1|2\n6|3|4\n"); /* blank lines keep numbering */
    expect("a,b\r\n\r\n1,2\r\n", "1|a|b\n3|1|2\n");
    expect("a,b\n\"x\ny\",2\n3,4\n", "1|a|b\n2|x\ny|2\n4|3|4\n"); /* quoted newline */
    expect("a\n\"he said \"\"hi\"\"\"\n", "1|a\n2|he said \"hi\"\n");
    expect("a,b\n,\n", "1|a|b\n2||\n");                      /* empty fields */
    expect("a,b\n  x  ,\" y \"\n", "1|a|b\n2|x| y \n");     /* unquoted fields trimmed */
}

static void test_bom(void **state)
{
    (void)state;
    bb_csv_stats st;
    char *got = parse("\xef\xbb\xbf" "CustomerID,Age\nC1,30\n", 1, 0, &st);
    assert_string_equal(got, "1|CustomerID|Age\n2|C1|30\n");
    assert_true(st.bom);
    free(got);
    got = parse("\xef\xbb" "x\n", 0, 0, &st); /* looks like a BOM but is not */
    assert_false(st.bom);
    assert_string_equal(got, "1|\xef\xbbx\n");
    free(got);
    got = parse("\xef", 0, 0, &st);
    assert_string_equal(got, "1|\xef\n");
    free(got);
}

static void test_malformed_resync(void **state)
{
    (void)state;
    /* A stray quote spoils its record only; reading resumes on the next line. */
    expect("a,b\n\"x\" y,2\n3,4\n", "1|a|b\nBAD 2 malformed\n3|3|4\n");
    /* An unterminated quote at the end of the file. */
    expect("a,b\n1,2\n\"open,3\n", "1|a|b\n2|1|2\nBAD 3 malformed\n");
    bb_csv_stats st;
    char *got = parse("a,b\n1,2\n\"x\" y,2\n", 0, 0, &st);
    assert_int_equal(st.bad_records, 1);
    assert_int_equal(st.records, 2);
    assert_int_equal(st.lines, 3);
    free(got);
}

static void test_record_cap(void **state)
{
    (void)state;
    char big[300];
    memset(big, 'x', sizeof big);
    big[sizeof big - 1] = '\0';
    bb_buf in;
    bb_buf_init(&in, 0);
    bb_buf_printf(&in, "a,b\n1,%s\n2,ok\n", big);
    for (size_t step = 0; step <= 13; step += 13) {
        char *got = parse(in.data, step, 64, NULL);
        assert_string_equal(got, "1|a|b\nBAD 2 long\n3|2|ok\n");
        free(got);
    }
    bb_buf_free(&in);
}

static void test_fields(void **state)
{
    (void)state;
    int64_t v;
    bool b;
    struct {
        const char *s;
        bb_field_status st;
        int64_t cents;
    } money[] = {
        {"104.72999999999999", BB_FIELD_OK, 10473}, {"12.5", BB_FIELD_OK, 1250},
        {"12", BB_FIELD_OK, 1200},                  {" 0.01 ", BB_FIELD_OK, 1},
        {"0.125", BB_FIELD_OK, 13},                 {"-3.10", BB_FIELD_OK, -310},
        {".5", BB_FIELD_OK, 50},                    {"7.", BB_FIELD_OK, 700},
        {"", BB_FIELD_EMPTY, 0},                    {"  ", BB_FIELD_EMPTY, 0},
        {"1e3", BB_FIELD_SYNTAX, 0},                {"1,234.00", BB_FIELD_SYNTAX, 0},
        {"$5", BB_FIELD_SYNTAX, 0},                 {".", BB_FIELD_SYNTAX, 0},
        {"-", BB_FIELD_SYNTAX, 0},                  {"99999999999999999999", BB_FIELD_OVERFLOW, 0},
        {"208.83", BB_FIELD_OK, 20883},             {"0.995", BB_FIELD_OK, 100},
    };
    for (size_t i = 0; i < sizeof money / sizeof money[0]; i++) {
        v = 0;
        bb_field_status st = bb_field_cents(money[i].s, strlen(money[i].s), &v);
        if (st != money[i].st || (st == BB_FIELD_OK && v != money[i].cents))
            fail_msg("money '%s': status %d value %lld", money[i].s, st, (long long)v);
    }
    assert_int_equal(bb_field_int("42", 2, &v), BB_FIELD_OK);
    assert_int_equal(v, 42);
    assert_int_equal(bb_field_int("-2", 2, &v), BB_FIELD_OK);
    assert_int_equal(v, -2);
    assert_int_equal(bb_field_int("4.0", 3, &v), BB_FIELD_SYNTAX);
    assert_int_equal(bb_field_int("", 0, &v), BB_FIELD_EMPTY);
    assert_int_equal(bb_field_int("99999999999999999999", 20, &v), BB_FIELD_OVERFLOW);
    const char *truthy[] = {"True", "true", "TRUE", "1", "yes"};
    const char *falsy[] = {"False", "false", "FALSE", "0", "no"};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(bb_field_bool(truthy[i], strlen(truthy[i]), &b), BB_FIELD_OK);
        assert_true(b);
        assert_int_equal(bb_field_bool(falsy[i], strlen(falsy[i]), &b), BB_FIELD_OK);
        assert_false(b);
    }
    assert_int_equal(bb_field_bool("Tru", 3, &b), BB_FIELD_SYNTAX);
    assert_int_equal(bb_field_bool("2", 1, &b), BB_FIELD_SYNTAX);
    assert_int_equal(bb_field_bool("", 0, &b), BB_FIELD_EMPTY);
}

/* ---- csv-spectrum ---- */

static char *replace_all(const char *s, const char *from, const char *to)
{
    bb_buf b;
    bb_buf_init(&b, 0);
    size_t fl = strlen(from);
    for (const char *p = s; *p;) {
        if (strncmp(p, from, fl) == 0) {
            bb_buf_puts(&b, to);
            p += fl;
        } else {
            bb_buf_putc(&b, *p++);
        }
    }
    return bb_buf_detach(&b);
}

/* Compares parsed rows with the expected JSON array of objects keyed by header. */
static int compare_spectrum(const char *name, cJSON *rows, cJSON *expected, int normalize_crlf)
{
    int failures = 0;
    int nrows = cJSON_GetArraySize(rows);
    int nexp = cJSON_GetArraySize(expected);
    if (nrows - 1 != nexp) {
        printf("  %s: %d data rows, expected %d\n", name, nrows - 1, nexp);
        return 1;
    }
    cJSON *header = cJSON_GetArrayItem(rows, 0);
    for (int r = 0; r < nexp; r++) {
        cJSON *obj = cJSON_GetArrayItem(expected, r);
        cJSON *row = cJSON_GetArrayItem(rows, r + 1);
        if (cJSON_GetArraySize(row) != cJSON_GetArraySize(obj)) {
            printf("  %s row %d: %d fields, expected %d\n", name, r, cJSON_GetArraySize(row),
                   cJSON_GetArraySize(obj));
            failures++;
            continue;
        }
        for (int f = 0; f < cJSON_GetArraySize(header); f++) {
            const char *key = cJSON_GetArrayItem(header, f)->valuestring;
            cJSON *want = cJSON_GetObjectItemCaseSensitive(obj, key);
            const char *got = cJSON_GetArrayItem(row, f)->valuestring;
            if (!cJSON_IsString(want)) {
                printf("  %s row %d: no expected value for column %s\n", name, r, key);
                failures++;
                continue;
            }
            char *w = normalize_crlf ? replace_all(want->valuestring, "\r\n", "\n")
                                     : strdup(want->valuestring);
            if (strcmp(w, got) != 0) {
                printf("  %s row %d col %s: got [%s] expected [%s]\n", name, r, key, got, w);
                failures++;
            }
            free(w);
        }
    }
    return failures;
}

static cJSON *parse_file_rows(const char *path, bb_csv_stats *st)
{
    collect c;
    collect_init(&c);
    bb_csv_opts o = {.delimiter = ','};
    assert_int_equal(bb_csv_read_file(path, &o, on_row, on_bad, &c, st), BB_OK);
    cJSON *rows = c.rows;
    c.rows = NULL;
    assert_int_equal(st->bad_records, 0);
    collect_free(&c);
    return rows;
}

static void test_csv_spectrum(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/spec/csv-spectrum", bb_test_shared_dir());
    assert_true(bb_fs_is_dir(dir));
    char csvdir[1100];
    snprintf(csvdir, sizeof csvdir, "%s/csvs", dir);
    DIR *d = opendir(csvdir);
    assert_non_null(d);
    int cases = 0, failures = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        size_t n = strlen(ent->d_name);
        if (n < 5 || strcmp(ent->d_name + n - 4, ".csv") != 0)
            continue;
        char stem[256], csv[1400], json[1400];
        snprintf(stem, sizeof stem, "%.*s", (int)(n - 4), ent->d_name);
        snprintf(csv, sizeof csv, "%s/%s", csvdir, ent->d_name);
        snprintf(json, sizeof json, "%s/json/%s.json", dir, stem);
        char *jtext, *ctext;
        size_t jlen, clen;
        assert_int_equal(bb_fs_read_file(json, 1 << 20, &jtext, &jlen), BB_OK);
        assert_int_equal(bb_fs_read_file(csv, 1 << 20, &ctext, &clen), BB_OK);
        cJSON *expected = cJSON_Parse(jtext);
        assert_non_null(expected);

        /* A case whose name says CRLF but whose file has no CR was normalised to
         * LF when it was copied; its expectations then hold with LF. */
        int has_cr = memchr(ctext, '\r', clen) != NULL;
        int crlf_case = strstr(stem, "crlf") != NULL;
        bb_csv_stats st;
        cJSON *rows = parse_file_rows(csv, &st);
        int f = compare_spectrum(stem, rows, expected, crlf_case && !has_cr);
        cJSON_Delete(rows);
        cases++;
        if (crlf_case && !has_cr)
            printf("  %s: the file has LF line endings; also checked as real CRLF\n", stem);
        if (crlf_case) {
            /* The case as intended: every line break CRLF, expectations exact. */
            char *crlf = has_cr ? strdup(ctext) : replace_all(ctext, "\n", "\r\n");
            char tmp[] = "/tmp/bb_spectrum_XXXXXX";
            int fd = mkstemp(tmp);
            assert_true(fd >= 0);
            close(fd);
            assert_int_equal(bb_fs_write_file(tmp, crlf, strlen(crlf)), BB_OK);
            rows = parse_file_rows(tmp, &st);
            f += compare_spectrum(stem, rows, expected, 0);
            assert_true(st.crlf || !strchr(crlf, '\n'));
            cJSON_Delete(rows);
            unlink(tmp);
            free(crlf);
            cases++;
        }
        if (f == 0)
            printf("  ok %s\n", stem);
        failures += f;
        cJSON_Delete(expected);
        free(jtext);
        free(ctext);
    }
    closedir(d);
    printf("csv-spectrum: %d cases checked, %d mismatches\n", cases, failures);
    assert_true(cases >= 11);
    assert_int_equal(failures, 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_basic_records), cmocka_unit_test(test_bom),
        cmocka_unit_test(test_malformed_resync), cmocka_unit_test(test_record_cap),
        cmocka_unit_test(test_fields),
    };
    const struct CMUnitTest shared[] = {cmocka_unit_test(test_csv_spectrum)};
    return BB_TEST_RUN(argc, argv, unit, shared);
}
