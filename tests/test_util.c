/* Unit tests for src/util: dates, number formatting, interning, UTF-8, buffers, names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/buf.h"
#include "util/date.h"
#include "util/fmt.h"
#include "util/fs.h"
#include "util/intern.h"
#include "util/rng.h"
#include "util/sha256.h"
#include "util/utf8.h"

static void test_date_roundtrip(void **state)
{
    (void)state;
    assert_int_equal(bb_date_from_ymd(1970, 1, 1), 0);
    assert_int_equal(bb_date_from_ymd(2000, 3, 1), 11017);
    assert_int_equal(bb_date_from_ymd(2023, 12, 31), 19722);
    for (int32_t d = -800000; d < 800000; d += 37) {
        int y, m, dd;
        bb_date_to_ymd(d, &y, &m, &dd);
        assert_int_equal(bb_date_from_ymd(y, m, dd), d);
    }
    char s[11];
    bb_date_format(19722, s);
    assert_string_equal(s, "2023-12-31");
    assert_int_equal(bb_date_weekday(bb_date_from_ymd(2026, 11, 25)), 2); /* a Wednesday */
}

static void test_date_parse(void **state)
{
    (void)state;
    bb_date_fmt iso, dmy, us;
    int32_t d;
    assert_true(bb_date_fmt_compile(&iso, "YYYY-MM-DD"));
    assert_true(bb_date_fmt_compile(&dmy, "DD-MM-YYYY"));
    assert_true(bb_date_fmt_compile(&us, "M/D/YYYY"));
    assert_false(bb_date_fmt_compile(&us, "YYYY-MM"));
    assert_false(bb_date_fmt_compile(&us, "YY-MM-DD"));
    assert_true(bb_date_fmt_compile(&us, "M/D/YYYY"));

    assert_true(bb_date_parse(&iso, "2024-02-29", 10, &d));
    assert_int_equal(d, bb_date_from_ymd(2024, 2, 29));
    assert_false(bb_date_parse(&iso, "2023-02-29", 10, &d)); /* not a leap year */
    assert_false(bb_date_parse(&iso, "2023-13-01", 10, &d));
    assert_false(bb_date_parse(&iso, "2023-1-01", 9, &d));
    assert_false(bb_date_parse(&iso, "2023-01-01x", 11, &d));
    assert_false(bb_date_parse(&iso, "", 0, &d));
    assert_true(bb_date_parse(&dmy, "21-07-2015", 10, &d));
    assert_int_equal(d, bb_date_from_ymd(2015, 7, 21));
    assert_true(bb_date_parse(&us, "5/1/2015", 8, &d));
    assert_int_equal(d, bb_date_from_ymd(2015, 5, 1));
    assert_true(bb_date_parse(&us, "12/31/2015", 10, &d));
}

static void test_fmt(void **state)
{
    (void)state;
    char b[64];
    assert_string_equal(bb_fmt_int(b, sizeof b, 0), "0");
    assert_string_equal(bb_fmt_int(b, sizeof b, 999), "999");
    assert_string_equal(bb_fmt_int(b, sizeof b, 1000), "1,000");
    assert_string_equal(bb_fmt_int(b, sizeof b, -1234567), "-1,234,567");
    assert_string_equal(bb_fmt_int(b, sizeof b, INT64_MIN), "-9,223,372,036,854,775,808");
    assert_string_equal(bb_fmt_money(b, sizeof b, 123456), "1,234.56");
    assert_string_equal(bb_fmt_money(b, sizeof b, 5), "0.05");
    assert_string_equal(bb_fmt_money(b, sizeof b, -38447614), "-384,476.14");
    assert_string_equal(bb_fmt_pct(b, sizeof b, 0.1234, 1), "12.3 %");
    assert_string_equal(bb_fmt_pct(b, sizeof b, -0.05, 1), "-5.0 %");
    assert_string_equal(bb_fmt_fixed(b, sizeof b, 1234567.891, 2), "1,234,567.89");
    assert_string_equal(bb_fmt_fixed(b, sizeof b, -0.001, 2), "0.00");
    assert_string_equal(bb_fmt_cents_plain(b, sizeof b, -1005), "-10.05");
    assert_string_equal(bb_fmt_bytes(b, sizeof b, 1536), "1.5 KiB");
    /* truncation keeps a terminated string */
    assert_string_equal(bb_fmt_int(b, 4, 123456), "123");
}

static void test_intern(void **state)
{
    (void)state;
    bb_intern *t;
    assert_int_equal(bb_intern_new(&t, 0), BB_OK);
    char key[32];
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(key, sizeof key, "Cust%06d", i);
        uint32_t id;
        bool added;
        assert_int_equal(bb_intern_put(t, key, (size_t)n, &id, &added), BB_OK);
        assert_true(added);
        assert_int_equal(id, (uint32_t)i);
    }
    uint32_t id;
    bool added;
    assert_int_equal(bb_intern_put(t, "Cust000042", 10, &id, &added), BB_OK);
    assert_false(added);
    assert_int_equal(id, 42);
    assert_true(bb_intern_get(t, "Cust099999", 10, &id));
    assert_int_equal(id, 99999);
    assert_false(bb_intern_get(t, "Cust100000", 10, &id));
    assert_string_equal(bb_intern_str(t, 7), "Cust000007");
    assert_int_equal(bb_intern_count(t), 100000);
    /* the empty string is a value like any other */
    assert_int_equal(bb_intern_put(t, "", 0, &id, &added), BB_OK);
    assert_true(added);
    bb_intern_free(t);
    bb_intern_free(NULL);

    /* the pool cap is enforced */
    assert_int_equal(bb_intern_new(&t, 16), BB_OK);
    assert_int_equal(bb_intern_put(t, "0123456789", 10, &id, NULL), BB_OK);
    assert_int_equal(bb_intern_put(t, "abcdefghij", 10, &id, NULL), BB_ERR_NOMEM);
    bb_intern_free(t);
}

static void test_utf8(void **state)
{
    (void)state;
    size_t bad;
    assert_true(bb_utf8_valid("Caf\xc3\xa9 Zo\xc3\xab \xe2\x82\xac", 14, NULL));
    assert_false(bb_utf8_valid("ab\xff", 3, &bad));
    assert_int_equal(bad, 2);
    assert_false(bb_utf8_valid("\xc0\xaf", 2, &bad));         /* overlong '/' */
    assert_false(bb_utf8_valid("\xed\xa0\x80", 3, &bad));     /* surrogate */
    assert_false(bb_utf8_valid("\xf4\x90\x80\x80", 4, &bad)); /* > U+10FFFF */
    assert_false(bb_utf8_valid("x\xe2\x82", 3, &bad));        /* truncated */
    assert_int_equal(bad, 1);
    assert_true(bb_utf8_valid("\xf0\x9f\x98\x80", 4, NULL));   /* emoji */
    assert_int_equal(bb_utf8_length("a\xc3\xa9z", 4), 3);
    assert_int_equal(bb_utf8_prefix("a\xc3\xa9z", 4, 2), 3);
}

static void test_buf(void **state)
{
    (void)state;
    bb_buf b;
    bb_buf_init(&b, 10);
    assert_int_equal(bb_buf_puts(&b, "hello"), BB_OK);
    assert_int_equal(bb_buf_printf(&b, "%d", 1234), BB_OK);
    assert_string_equal(b.data, "hello1234");
    assert_int_equal(bb_buf_puts(&b, "xx"), BB_ERR_NOMEM); /* over the cap */
    assert_string_equal(b.data, "hello1234");
    char *s = bb_buf_detach(&b);
    assert_string_equal(s, "hello1234");
    free(s);
    bb_buf_free(&b);
}

static void test_safe_name(void **state)
{
    (void)state;
    char out[80];
    bb_fs_safe_name("Cust0001", out);
    assert_string_equal(out, "Cust0001");
    bb_fs_safe_name("../etc/passwd", out);
    assert_null(strchr(out, '/'));
    assert_true(out[0] != '.');
    char other[80];
    bb_fs_safe_name("..-etc-passwd", other);
    assert_string_not_equal(out, other);
    bb_fs_safe_name("", out);
    assert_true(strlen(out) > 0);
}

static void test_rng_and_sha(void **state)
{
    (void)state;
    bb_rng a, b;
    bb_rng_seed(&a, 42, 0);
    bb_rng_seed(&b, 42, 0);
    for (int i = 0; i < 100; i++)
        assert_true(bb_rng_next(&a) == bb_rng_next(&b));
    bb_rng_seed(&b, 42, 1);
    assert_true(bb_rng_next(&a) != bb_rng_next(&b));
    int hist[7] = {0};
    for (int i = 0; i < 70000; i++)
        hist[bb_rng_below(&a, 7)]++;
    for (int i = 0; i < 7; i++)
        assert_in_range(hist[i], 9500, 10500);
    char hex[65];
    assert_int_equal(bb_sha256_of("abc", 3, hex), BB_OK);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date_roundtrip), cmocka_unit_test(test_date_parse),
        cmocka_unit_test(test_fmt),            cmocka_unit_test(test_intern),
        cmocka_unit_test(test_utf8),           cmocka_unit_test(test_buf),
        cmocka_unit_test(test_safe_name),      cmocka_unit_test(test_rng_and_sha),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
