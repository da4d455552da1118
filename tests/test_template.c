/* Unit tests for src/render/template: the Mustache spec files (from
 * $BB_SHARED_DIR/spec/mustache), escaping, data that looks like template
 * syntax, error messages, nesting caps, numbers, truthiness, output caps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <dirent.h>
#include <locale.h>
#include <math.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "bb_test.h"
#include "render/template.h"
#include "util/buf.h"
#include "util/fs.h"


/* Renders tpl with JSON data and partials (JSON text, either may be NULL);
 * returns the code, the output in *got (malloc'd) and the message in err. */
static bb_err render(const char *tpl, const char *data_json, const char *partials_json,
                     char **got, char *err, size_t errsize)
{
    cJSON *data = data_json ? cJSON_Parse(data_json) : NULL;
    cJSON *partials = partials_json ? cJSON_Parse(partials_json) : NULL;
    assert_true(!data_json || data);
    assert_true(!partials_json || partials);
    bb_buf out;
    bb_buf_init(&out, 0);
    bb_err e = bb_tpl_render(tpl, strlen(tpl), data, partials, &out, err, errsize);
    *got = bb_buf_detach(&out);
    assert_non_null(*got);
    cJSON_Delete(data);
    cJSON_Delete(partials);
    return e;
}

/* Asserts that tpl renders to want. */
static void expect(const char *tpl, const char *data_json, const char *partials_json,
                   const char *want)
{
    char err[256];
    char *got;
    bb_err e = render(tpl, data_json, partials_json, &got, err, sizeof err);
    if (e != BB_OK || strcmp(got, want) != 0)
        print_error("template %s\n  want [%s]\n  got  [%s] (%s)\n", tpl, want, got, err);
    assert_int_equal(e, BB_OK);
    assert_string_equal(got, want);
    assert_string_equal(err, "");
    free(got);
}

/* Asserts that tpl fails with BB_ERR_CONFIG and a message containing each
 * of the NULL-terminated fragments. */
static void expect_error(const char *tpl, const char *partials_json, ...)
{
    char err[256];
    char *got;
    bb_err e = render(tpl, "{\"a\":[1]}", partials_json, &got, err, sizeof err);
    assert_int_equal(e, BB_ERR_CONFIG);
    assert_string_equal(got, "");
    va_list ap;
    va_start(ap, partials_json);
    for (const char *frag; (frag = va_arg(ap, const char *)) != NULL;) {
        if (!strstr(err, frag))
            print_error("template %s: message [%s] lacks [%s]\n", tpl, err, frag);
        assert_non_null(strstr(err, frag));
    }
    va_end(ap);
    free(got);
}

/* ---- the official spec ------------------------------------------------- */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every case of one spec file; returns the number that failed. */
static int run_spec_file(const char *dir, const char *file, int *total)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(bb_fs_read_file(path, (size_t)16 << 20, &text, &len), BB_OK);
    cJSON *root = cJSON_ParseWithLength(text, len);
    assert_non_null(root);
    const cJSON *tests = cJSON_GetObjectItemCaseSensitive(root, "tests");
    assert_true(cJSON_IsArray(tests));
    int passed = 0, failed = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, tests)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
        const cJSON *tpl = cJSON_GetObjectItemCaseSensitive(t, "template");
        const cJSON *want = cJSON_GetObjectItemCaseSensitive(t, "expected");
        assert_true(cJSON_IsString(name) && cJSON_IsString(tpl) && cJSON_IsString(want));
        bb_buf out;
        bb_buf_init(&out, 0);
        char err[256];
        bb_err e = bb_tpl_render(tpl->valuestring, strlen(tpl->valuestring),
                                 cJSON_GetObjectItemCaseSensitive(t, "data"),
                                 cJSON_GetObjectItemCaseSensitive(t, "partials"), &out, err,
                                 sizeof err);
        const char *got = out.data ? out.data : "";
        if (e == BB_OK && strcmp(got, want->valuestring) == 0) {
            passed++;
        } else {
            failed++;
            print_error("FAIL %s / %s\n  template: [%s]\n  expected: [%s]\n  got:      [%s]%s%s\n",
                        file, name->valuestring, tpl->valuestring, want->valuestring, got,
                        e == BB_OK ? "" : "\n  error: ", e == BB_OK ? "" : err);
        }
        bb_buf_free(&out);
    }
    print_message("%-18s %d/%d passed\n", file, passed, passed + failed);
    *total += passed + failed;
    cJSON_Delete(root);
    free(text);
    return failed;
}

static void test_spec(void **state)
{
    (void)state;
    static char dir[1024];
    snprintf(dir, sizeof dir, "%s/spec/mustache", bb_test_shared_dir());
    DIR *d = opendir(dir);
    assert_non_null(d);
    char *names[64];
    size_t n = 0;
    for (struct dirent *ent; (ent = readdir(d)) != NULL;) {
        size_t len = strlen(ent->d_name);
        if (len > 5 && strcmp(ent->d_name + len - 5, ".json") == 0 && n < 64) {
            names[n] = strdup(ent->d_name);
            assert_non_null(names[n]);
            n++;
        }
    }
    closedir(d);
    assert_true(n > 0);
    qsort(names, n, sizeof names[0], cmp_names);
    int failed = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        failed += run_spec_file(dir, names[i], &total);
        free(names[i]);
    }
    print_message("spec: %d/%d cases passed\n", total - failed, total);
    assert_true(total > 100);
    assert_int_equal(failed, 0);
}

/* ---- behaviour beyond the spec files ----------------------------------- */

static void test_escaping(void **state)
{
    (void)state;
    const char *data = "{\"s\":\"a&b<c>d\\\"e'f\"}";
    expect("{{s}}", data, NULL, "a&amp;b&lt;c&gt;d&quot;e&#39;f");
    expect("{{{s}}}|{{&s}}", data, NULL, "a&b<c>d\"e'f|a&b<c>d\"e'f");
    expect("{{#l}}{{.}}{{/l}}", "{\"l\":[\"<\",\"'\"]}", NULL, "&lt;&#39;");
    /* multi-byte text passes through untouched */
    expect("{{s}}", "{\"s\":\"Caf\\u00e9 \\u20ac <3\"}", NULL, "Caf\xc3\xa9 \xe2\x82\xac &lt;3");
}

static void test_data_stays_literal(void **state)
{
    (void)state;
    const char *data = "{\"x\":\"{{y}}\",\"y\":\"SECRET\",\"p\":\"{{>p}}\","
                       "\"d\":\"{{=<% %>=}}<%y%>\",\"s\":\"{{#y}}Z{{/y}}\","
                       "\"rows\":[{\"n\":\"{{{y}}}\"},{\"n\":\"{{!c}}\"}]}";
    const char *partials = "{\"p\":\"PARTIAL\"}";
    expect("{{x}}|{{{x}}}|{{&p}}|{{{d}}}|{{{s}}}", data, partials,
           "{{y}}|{{y}}|{{>p}}|{{=<% %>=}}<%y%>|{{#y}}Z{{/y}}");
    expect("{{#rows}}[{{{n}}}]{{/rows}}", data, partials, "[{{{y}}}][{{!c}}]");
    /* and partial output is not re-parsed either */
    expect("{{>q}}", data, "{\"q\":\"<{{x}}>\"}", "<{{y}}>");
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("Hello\n  {{#items}}\n{{name}}\n", NULL, "line 2, column 3", "unclosed section",
                 "items", NULL);
    expect_error("ab\ncd {{name", NULL, "line 2, column 4", "unclosed tag", NULL);
    expect_error("x {{{name}}", NULL, "line 1, column 3", "unclosed tag", NULL);
    expect_error("{{#a}}\n{{/b}}", NULL, "line 2, column 1", "\"/b\"", "\"a\"", NULL);
    expect_error("ok\n{{/a}}", NULL, "line 2, column 1", "without an open section", NULL);
    expect_error("{{=<%=}}", NULL, "line 1, column 1", "delimiter", NULL);
    expect_error("{{= a b c =}}", NULL, "delimiter", NULL);
    expect_error("{{=<% %>=}}<%#a%>x<%/b%>", NULL, "line 1, column 19", NULL);
    expect_error("{{a b}}", NULL, "bad tag name", NULL);
    expect_error("{{ }}", NULL, "bad tag name", NULL);
    expect_error("{{a..b}}", NULL, "bad tag name", NULL);
    expect_error("{{<parent}}{{/parent}}", NULL, "not supported", NULL);
    /* columns count characters, not bytes */
    expect_error("\xc3\xa9t\xc3\xa9 {{#a}}", NULL, "line 1, column 5", NULL);
    /* an error inside a partial names it, with its own line and column,
     * also when the partial is indented */
    expect_error("{{>p}}", "{\"p\":\"x\\n {{#q}}\"}", "partial \"p\"", "line 2, column 2",
                 "\"q\"", NULL);
    expect_error("  {{>p}}\n", "{\"p\":\"x\\n {{#q}}\"}", "partial \"p\"", "line 2, column 2",
                 NULL);
    expect_error("{{>p}}", "{\"p\":42}", "not a string", NULL);

    /* on error the buffer keeps what it held, and err may be NULL */
    bb_buf out;
    bb_buf_init(&out, 0);
    assert_int_equal(bb_buf_puts(&out, "keep"), BB_OK);
    const char *bad = "text{{#a}}";
    assert_int_equal(bb_tpl_render(bad, strlen(bad), NULL, NULL, &out, NULL, 0), BB_ERR_CONFIG);
    assert_int_equal(out.len, 4);
    assert_string_equal(out.data, "keep");
    assert_int_equal(bb_tpl_render(NULL, 0, NULL, NULL, &out, NULL, 0), BB_OK);
    assert_int_equal(bb_tpl_render("x", 1, NULL, NULL, NULL, NULL, 0), BB_ERR_INTERNAL);
    /* a small err buffer gets a truncated, terminated message */
    char tiny[8];
    assert_int_equal(bb_tpl_render(bad, strlen(bad), NULL, NULL, &out, tiny, sizeof tiny),
                     BB_ERR_CONFIG);
    assert_int_equal(strlen(tiny), 7);
    bb_buf_free(&out);
}

/* {"content":"0","nodes":[{"content":"1","nodes":[...]}]} nested depth deep. */
static cJSON *tree(int depth)
{
    cJSON *root = cJSON_CreateObject(), *node = root;
    for (int i = 0; i < depth; i++) {
        char s[16];
        snprintf(s, sizeof s, "%d", i % 10);
        cJSON_AddStringToObject(node, "content", s);
        cJSON *nodes = cJSON_AddArrayToObject(node, "nodes");
        if (i + 1 < depth) {
            cJSON *child = cJSON_CreateObject();
            cJSON_AddItemToArray(nodes, child);
            node = child;
        }
    }
    return root;
}

static void test_recursion_cap(void **state)
{
    (void)state;
    expect_error("{{>p}}", "{\"p\":\"{{>p}}\"}", "deeper than 64", "\"p\"", NULL);
    /* growing indentation makes a new parsed form per level: still capped */
    expect_error("{{>p}}", "{\"p\":\"x\\n {{>p}}\\n\"}", "deeper than 64", NULL);

    /* data-driven recursion is fine up to the cap, an error past it */
    cJSON *partials = cJSON_Parse("{\"node\":\"{{content}}<{{#nodes}}{{>node}}{{/nodes}}>\"}");
    assert_non_null(partials);
    for (int depth = BB_TPL_MAX_DEPTH; depth <= BB_TPL_MAX_DEPTH + 1; depth++) {
        cJSON *data = tree(depth);
        bb_buf out;
        bb_buf_init(&out, 0);
        char err[256];
        bb_err e = bb_tpl_render("{{>node}}", 9, data, partials, &out, err, sizeof err);
        if (depth == BB_TPL_MAX_DEPTH) {
            assert_int_equal(e, BB_OK);
            assert_int_equal(out.len, (size_t)depth * 3);
            assert_memory_equal(out.data, "0<1<2<", 6);
        } else {
            assert_int_equal(e, BB_ERR_CONFIG);
            assert_non_null(strstr(err, "deeper than 64"));
            assert_int_equal(out.len, 0);
        }
        bb_buf_free(&out);
        cJSON_Delete(data);
    }
    cJSON_Delete(partials);

    /* section nesting in one template: 64 levels parse, 65 do not */
    bb_buf tpl;
    bb_buf_init(&tpl, 0);
    for (int i = 0; i < BB_TPL_MAX_DEPTH; i++)
        assert_int_equal(bb_buf_puts(&tpl, "{{#a}}"), BB_OK);
    assert_int_equal(bb_buf_puts(&tpl, "{{.}}"), BB_OK);
    for (int i = 0; i < BB_TPL_MAX_DEPTH; i++)
        assert_int_equal(bb_buf_puts(&tpl, "{{/a}}"), BB_OK);
    expect(tpl.data, "{\"a\":[7]}", NULL, "7");
    bb_buf_clear(&tpl);
    for (int i = 0; i <= BB_TPL_MAX_DEPTH; i++)
        assert_int_equal(bb_buf_puts(&tpl, "{{#a}}"), BB_OK);
    for (int i = 0; i <= BB_TPL_MAX_DEPTH; i++)
        assert_int_equal(bb_buf_puts(&tpl, "{{/a}}"), BB_OK);
    expect_error(tpl.data, NULL, "sections nested deeper than 64", "column 385", NULL);
    bb_buf_free(&tpl);
}

static void test_numbers(void **state)
{
    (void)state;
    const char *tpl = "{{i}} {{d}} {{t}} {{neg}} {{big}} {{huge}} {{z}} {{tiny}} {{x}} {{m}}";
    const char *data = "{\"i\":85,\"d\":1.21,\"t\":0.1,\"neg\":-3.5,\"big\":1234567890123,"
                       "\"huge\":1e20,\"z\":-0.0,\"tiny\":1e-7,\"x\":1234567.891,\"m\":-12}";
    const char *want = "85 1.21 0.1 -3.5 1234567890123 1e+20 0 1e-07 1234567.891 -12";
    expect(tpl, data, NULL, want);

    /* the shortest form that reads back exactly, not a fixed precision */
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddNumberToObject(obj, "sum", 0.1 + 0.2);
    cJSON_AddNumberToObject(obj, "third", 1.0 / 3.0);
    cJSON_AddNumberToObject(obj, "nan", NAN);
    bb_buf out;
    bb_buf_init(&out, 0);
    const char *t2 = "{{sum}} {{third}} [{{nan}}]{{#nan}}x{{/nan}}";
    assert_int_equal(bb_tpl_render(t2, strlen(t2), obj, NULL, &out, NULL, 0), BB_OK);
    assert_string_equal(out.data, "0.30000000000000004 0.3333333333333333 []");

    /* the decimal point does not follow LC_NUMERIC (when such a locale exists) */
    const char *locales[] = {"de_DE.UTF-8", "fr_FR.UTF-8", "de_DE", "fr_FR"};
    for (size_t i = 0; i < sizeof locales / sizeof locales[0]; i++) {
        if (!setlocale(LC_NUMERIC, locales[i]))
            continue;
        bb_buf_clear(&out);
        assert_int_equal(bb_tpl_render(t2, strlen(t2), obj, NULL, &out, NULL, 0), BB_OK);
        assert_string_equal(out.data, "0.30000000000000004 0.3333333333333333 []");
        print_message("checked under locale %s\n", locales[i]);
        break;
    }
    setlocale(LC_NUMERIC, "C");
    bb_buf_free(&out);
    cJSON_Delete(obj);

    expect("{{t}} {{f}} [{{n}}] [{{o}}] [{{a}}]",
           "{\"t\":true,\"f\":false,\"n\":null,\"o\":{\"k\":1},\"a\":[1,2]}", NULL,
           "true false [] [] []");
}

static void test_truthiness(void **state)
{
    (void)state;
    const char *data = "{\"e\":\"\",\"zero\":0,\"s0\":\"0\",\"one\":1,\"obj\":{},\"arr\":[],"
                       "\"f\":false,\"n\":null,\"sp\":\" \"}";
    const char *tpl = "{{#e}}E{{/e}}{{#zero}}Z{{/zero}}{{#s0}}S{{/s0}}{{#one}}O{{/one}}"
                      "{{#obj}}B{{/obj}}{{#arr}}A{{/arr}}{{#f}}F{{/f}}{{#n}}N{{/n}}"
                      "{{#missing}}M{{/missing}}{{#sp}}P{{/sp}}";
    expect(tpl, data, NULL, "SOBP");
    const char *inv = "{{^e}}e{{/e}}{{^zero}}z{{/zero}}{{^s0}}s{{/s0}}{{^one}}o{{/one}}"
                      "{{^obj}}b{{/obj}}{{^arr}}a{{/arr}}{{^f}}f{{/f}}{{^n}}n{{/n}}"
                      "{{^missing}}m{{/missing}}{{^sp}}p{{/sp}}";
    expect(inv, data, NULL, "ezafnm");
    /* a scalar section pushes the value itself */
    expect("{{#one}}[{{.}}]{{/one}}{{#s0}}<{{.}}>{{/s0}}", data, NULL, "[1]<0>");
    /* no data at all: every name misses */
    expect("a{{x}}{{#x}}b{{/x}}{{^x}}c{{/x}}{{.}}", NULL, NULL, "ac");
}

static void test_partials(void **state)
{
    (void)state;
    const char *p = "{\"p\":\"a\\nb\\n\",\"row\":\"<td>{{name}}</td>\\n\"}";
    /* the same partial at two indentations */
    expect("{{>p}}\n  {{>p}}\n", NULL, p, "a\nb\n  a\n  b\n");
    expect("[{{>nope}}]", NULL, p, "[]");
    expect("{{#rows}}\n  {{>row}}\n{{/rows}}\n", "{\"rows\":[{\"name\":\"A&B\"},{\"name\":\"C\"}]}",
           p, "  <td>A&amp;B</td>\n  <td>C</td>\n");
    /* the partial sees the context stack at its tag */
    expect("{{#o}}{{>q}}{{/o}}", "{\"x\":\"out\",\"o\":{\"y\":\"in\"}}", "{\"q\":\"{{x}}/{{y}}\"}",
           "out/in");
    /* delimiters set in a partial stay in it */
    expect("{{>d}}{{v}}", "{\"v\":1}", "{\"d\":\"{{=[ ]=}}[v]\"}", "11");
    /* output is appended */
    bb_buf out;
    bb_buf_init(&out, 0);
    assert_int_equal(bb_buf_puts(&out, "head:"), BB_OK);
    cJSON *parts = cJSON_Parse(p);
    assert_int_equal(bb_tpl_render("{{>p}}.", 7, NULL, parts, &out, NULL, 0), BB_OK);
    assert_string_equal(out.data, "head:a\nb\n.");
    bb_buf_free(&out);
    cJSON_Delete(parts);
}

static void test_output_cap(void **state)
{
    (void)state;
    cJSON *data = cJSON_Parse("{\"l\":[1,2,3,4,5,6,7,8,9,10]}");
    bb_buf out;
    bb_buf_init(&out, 16);
    assert_int_equal(bb_buf_puts(&out, "abc"), BB_OK);
    char err[256];
    const char *tpl = "{{#l}}<{{.}}>{{/l}}";
    assert_int_equal(bb_tpl_render(tpl, strlen(tpl), data, NULL, &out, err, sizeof err),
                     BB_ERR_NOMEM);
    assert_string_equal(out.data, "abc");
    assert_int_equal(out.len, 3);
    assert_non_null(strstr(err, "cap"));
    /* under the cap it fits */
    const char *small = "{{#l}}{{.}}{{/l}}";
    assert_int_equal(bb_tpl_render(small, strlen(small), data, NULL, &out, err, sizeof err),
                     BB_OK);
    assert_string_equal(out.data, "abc12345678910");
    bb_buf_free(&out);
    cJSON_Delete(data);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A report-sized table: 20,000 rows through a partial, about 5 MB. */
static void test_large_table(void **state)
{
    (void)state;
    enum { ROWS = 20000 };
    cJSON *data = cJSON_CreateObject();
    cJSON *rows = cJSON_AddArrayToObject(data, "rows");
    for (int i = 0; i < ROWS; i++) {
        cJSON *r = cJSON_CreateObject();
        char id[32];
        snprintf(id, sizeof id, "CUST%06d", i);
        cJSON_AddStringToObject(r, "id", id);
        cJSON_AddStringToObject(r, "name", "Zo\xc3\xab & Fr\xc3\xa8res <Salon> \"Caf\xc3\xa9\"");
        cJSON_AddNumberToObject(r, "visits", i % 50);
        cJSON_AddNumberToObject(r, "revenue", i * 1.25);
        cJSON_AddBoolToObject(r, "vip", i % 7 == 0);
        cJSON_AddItemToArray(rows, r);
    }
    cJSON *partials = cJSON_Parse(
        "{\"row\":\"<tr class=\\\"{{#vip}}vip{{/vip}}{{^vip}}std{{/vip}}\\\">\\n"
        "  <td>{{id}}</td><td>{{name}}</td><td class=\\\"num\\\">{{visits}}</td>\\n"
        "  <td class=\\\"num\\\">{{revenue}}</td><td>{{title}}</td>\\n</tr>\\n\"}");
    assert_non_null(partials);
    cJSON_AddStringToObject(data, "title", "Nightly report: customers & revenue, padded out "
                                           "to look like a real column of text here");
    const char *tpl = "<table>\n{{#rows}}\n  {{>row}}\n{{/rows}}\n</table>\n";
    bb_buf out;
    bb_buf_init(&out, 0);
    char err[256];
    double t0 = now_ms();
    assert_int_equal(bb_tpl_render(tpl, strlen(tpl), data, partials, &out, err, sizeof err),
                     BB_OK);
    double ms = now_ms() - t0;
    print_message("large table: %d rows, %zu bytes in %.1f ms\n", ROWS, out.len, ms);
    assert_true(out.len > (size_t)4 << 20);
    assert_non_null(strstr(out.data, "<table>\n  <tr class=\"vip\">\n    <td>CUST000000</td>"
                                     "<td>Zo\xc3\xab &amp; Fr\xc3\xa8res &lt;Salon&gt; "
                                     "&quot;Caf\xc3\xa9&quot;</td><td class=\"num\">0</td>\n"));
    assert_non_null(strstr(out.data, "<td>CUST019999</td>"));
    assert_non_null(strstr(out.data, "<td class=\"num\">24998.75</td>"));
    bb_buf_free(&out);
    cJSON_Delete(partials);
    cJSON_Delete(data);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_data_stays_literal),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_recursion_cap),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_truthiness),
        cmocka_unit_test(test_partials),
        cmocka_unit_test(test_output_cap),
        cmocka_unit_test(test_large_table),
    };
    const struct CMUnitTest shared[] = {cmocka_unit_test(test_spec)};
    return BB_TEST_RUN(argc, argv, unit, shared);
}
