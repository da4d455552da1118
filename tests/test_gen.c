/* Unit tests for src/gen: options, the files' schema and invariants, the
 * structure the data is meant to hold, determinism, edge sizes, failures.
 * Every run writes into a fresh directory under /tmp and reads the files back
 * with the small CSV reader below (RFC 4180 quoting, no embedded newlines). */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "gen/gen.h"
#include "util/date.h"
#include "util/fs.h"

/* ---- a strict little CSV reader ---------------------------------------- */

typedef struct table {
    char *text;       /* the file, unescaped in place */
    size_t len;       /* bytes of the file as read */
    char **field;     /* nrows * ncol, row 0 is the header */
    size_t nrows;
    int ncol;
} table;

static void table_free(table *t)
{
    free(t->text);
    free(t->field);
    memset(t, 0, sizeof *t);
}

static const char *cell(const table *t, size_t row, int col)
{
    return t->field[row * (size_t)t->ncol + (size_t)col];
}

/* Reads dir/name; every row must have ncol fields and end with "\n". */
static void table_read(table *t, const char *dir, const char *name, int ncol)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    memset(t, 0, sizeof *t);
    assert_int_equal(bb_fs_read_file(path, (size_t)1 << 30, &t->text, &t->len), BB_OK);
    t->ncol = ncol;
    size_t cap = 1024, nf = 0;
    t->field = malloc(cap * sizeof *t->field);
    assert_non_null(t->field);
    char *p = t->text, *end = t->text + t->len;
    while (p < end) {
        for (int c = 0; c < ncol; c++) {
            char *out = p, *start = p;
            if (*p == '"') {
                p++;
                for (;;) {
                    assert_true(p < end);
                    if (*p == '"' && p + 1 < end && p[1] == '"') {
                        *out++ = '"';
                        p += 2;
                    } else if (*p == '"') {
                        p++;
                        break;
                    } else {
                        assert_true(*p != '\n');
                        *out++ = *p++;
                    }
                }
            } else {
                while (p < end && *p != ',' && *p != '\n') {
                    assert_true(*p != '"');
                    out++, p++;
                }
            }
            assert_true(p < end);
            assert_int_equal(*p, c + 1 < ncol ? ',' : '\n');
            p++;
            *out = '\0';
            if (nf == cap) {
                cap *= 2;
                t->field = realloc(t->field, cap * sizeof *t->field);
                assert_non_null(t->field);
            }
            t->field[nf++] = start;
        }
    }
    t->nrows = nf / (size_t)ncol;
}

/* "Cust0042" -> 41 (0-based), checking prefix and zero-padded width. */
static long id_index(const char *s, const char *prefix, int width)
{
    size_t n = strlen(prefix);
    assert_memory_equal(s, prefix, n);
    assert_int_equal((int)strlen(s + n), width);
    char *end;
    long v = strtol(s + n, &end, 10);
    assert_true(*end == '\0' && v >= 1);
    return v - 1;
}

static int64_t money_cents(const char *s)
{
    const char *dot = strchr(s, '.');
    assert_non_null(dot);
    assert_int_equal((int)strlen(dot + 1), 2); /* always two decimals */
    char *end;
    long whole = strtol(s, &end, 10);
    assert_true(end == dot && s[0] != '-');
    return whole * 100 + (dot[1] - '0') * 10 + (dot[2] - '0');
}

static int32_t iso_day(const char *s)
{
    int32_t d;
    assert_true(bb_date_parse_iso(s, &d));
    return d;
}

/* ---- runs ------------------------------------------------------------- */

typedef struct dataset {
    char dir[64];
    table cust, items, pur;
} dataset;

static void make_dir(char dir[64])
{
    snprintf(dir, 64, "/tmp/bbgen-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static bb_err run_gen(const char *dir, uint64_t n, uint64_t m, uint64_t p, uint64_t seed,
                      const char *start, const char *end)
{
    bb_gen_opts o;
    bb_gen_defaults(&o);
    o.customers = n;
    o.items = m;
    o.purchases = p;
    o.seed = seed;
    if (start)
        assert_true(bb_date_parse_iso(start, &o.start_day));
    if (end)
        assert_true(bb_date_parse_iso(end, &o.end_day));
    o.out_dir = dir;
    return bb_gen_write(&o, NULL);
}

static void load(dataset *ds, uint64_t n, uint64_t m, uint64_t p, uint64_t seed,
                 const char *start, const char *end)
{
    make_dir(ds->dir);
    assert_int_equal(run_gen(ds->dir, n, m, p, seed, start, end), BB_OK);
    table_read(&ds->cust, ds->dir, "customers.csv", 7);
    table_read(&ds->items, ds->dir, "items.csv", 5);
    table_read(&ds->pur, ds->dir, "purchases.csv", 6);
}

static void unload(dataset *ds)
{
    table_free(&ds->cust);
    table_free(&ds->items);
    table_free(&ds->pur);
    assert_int_equal(bb_fs_rmtree(ds->dir), BB_OK);
}

static bool same_file(const char *a, const char *b)
{
    char *x, *y;
    size_t nx, ny;
    assert_int_equal(bb_fs_read_file(a, (size_t)1 << 30, &x, &nx), BB_OK);
    assert_int_equal(bb_fs_read_file(b, (size_t)1 << 30, &y, &ny), BB_OK);
    bool same = nx == ny && memcmp(x, y, nx) == 0;
    free(x);
    free(y);
    return same;
}

/* Names in dir starting with '.': temporary files left behind. */
static int hidden_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] == '.' && strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* Per-purchase facts joined with items, filled by check_invariants(), which
 * holds the checks every dataset must pass. */
typedef struct joined {
    char *is_service;        /* per item */
    int *key;                /* per item: index of (category, subcategory) among keys[] */
    int64_t *price;          /* per item */
    long *pcust, *pitem;     /* per purchase row */
    int32_t *pday;
    int64_t *ptotal, *plist;
} joined;

static const char *const keys[][2] = {
    {"Service", "Haircut"},          {"Service", "Coloring"},     {"Service", "Treatment"},
    {"Service", "Styling"},          {"Service", "Makeup"},       {"Service", "Facial"},
    {"Service", "Waxing"},           {"Product", "Shampoo"},      {"Product", "Conditioner"},
    {"Product", "Treatment Products"}, {"Product", "Styling Products"},
    {"Product", "Styling"},          {"Product", "Makeup"},       {"Product", "Skincare"},
    {"Product", "Other"},
};
#define N_KEYS ((int)(sizeof keys / sizeof keys[0]))

static int id_width(uint64_t count)
{
    int d = 1;
    for (uint64_t v = count; v >= 10; v /= 10)
        d++;
    return d > 4 ? d : 4;
}

static void check_invariants(const dataset *ds, joined *j, uint64_t n, uint64_t m, uint64_t p,
                             int32_t start, int32_t end)
{
    const char *ch[] = {"CustomerID", "Age", "Gender", "RegistrationDate", "ZipCode",
                        "EmailSubscription", "SMSSubscription"};
    for (int c = 0; c < 7; c++)
        assert_string_equal(cell(&ds->cust, 0, c), ch[c]);
    assert_int_equal(ds->cust.nrows, n + 1);
    assert_int_equal(ds->items.nrows, m + 1);
    assert_int_equal(ds->pur.nrows, p + 1);
    const char *ih[] = {"ItemID", "ItemName", "ItemCategory", "ItemSubcategory", "UnitPrice"};
    for (int c = 0; c < 5; c++)
        assert_string_equal(cell(&ds->items, 0, c), ih[c]);
    const char *ph[] = {"CustomerID", "ItemID", "Quantity", "PurchaseDate", "TotalPrice",
                        "EmployeeID"};
    for (int c = 0; c < 6; c++)
        assert_string_equal(cell(&ds->pur, 0, c), ph[c]);

    int32_t *reg = calloc(n, sizeof *reg), *first_buy = calloc(n, sizeof *first_buy);
    assert_true(reg && first_buy);
    for (size_t r = 1; r <= n; r++) {
        assert_int_equal(id_index(cell(&ds->cust, r, 0), "Cust", id_width(n)), (long)r - 1);
        long age = strtol(cell(&ds->cust, r, 1), NULL, 10);
        assert_in_range(age, 18, 80);
        const char *g = cell(&ds->cust, r, 2);
        assert_true(strcmp(g, "F") == 0 || strcmp(g, "M") == 0 || strcmp(g, "X") == 0);
        reg[r - 1] = iso_day(cell(&ds->cust, r, 3));
        assert_true(reg[r - 1] <= end);
        first_buy[r - 1] = INT32_MAX;
        const char *zip = cell(&ds->cust, r, 4);
        assert_int_equal((int)strlen(zip), 5);
        assert_int_equal((int)strspn(zip, "0123456789"), 5);
        for (int c = 5; c <= 6; c++) {
            const char *b = cell(&ds->cust, r, c);
            assert_true(strcmp(b, "True") == 0 || strcmp(b, "False") == 0);
        }
    }

    j->is_service = calloc(m, 1);
    j->key = calloc(m, sizeof *j->key);
    j->price = calloc(m, sizeof *j->price);
    assert_true(j->is_service && j->key && j->price);
    for (size_t r = 1; r <= m; r++) {
        assert_int_equal(id_index(cell(&ds->items, r, 0), "Item", id_width(m)), (long)r - 1);
        assert_true(strlen(cell(&ds->items, r, 1)) > 0);
        const char *cat = cell(&ds->items, r, 2), *sub = cell(&ds->items, r, 3);
        assert_true(strcmp(cat, "Service") == 0 || strcmp(cat, "Product") == 0);
        j->is_service[r - 1] = cat[0] == 'S';
        j->key[r - 1] = -1;
        for (int k = 0; k < N_KEYS; k++)
            if (strcmp(cat, keys[k][0]) == 0 && strcmp(sub, keys[k][1]) == 0)
                j->key[r - 1] = k;
        assert_true(j->key[r - 1] >= 0);
        j->price[r - 1] = money_cents(cell(&ds->items, r, 4));
        assert_true(j->price[r - 1] > 0);
    }

    j->pcust = calloc(p + 1, sizeof *j->pcust);
    j->pitem = calloc(p + 1, sizeof *j->pitem);
    j->pday = calloc(p + 1, sizeof *j->pday);
    j->ptotal = calloc(p + 1, sizeof *j->ptotal);
    j->plist = calloc(p + 1, sizeof *j->plist);
    assert_true(j->pcust && j->pitem && j->pday && j->ptotal && j->plist);
    int32_t prev = INT32_MIN;
    for (size_t r = 1; r <= p; r++) {
        long c = id_index(cell(&ds->pur, r, 0), "Cust", id_width(n));
        long it = id_index(cell(&ds->pur, r, 1), "Item", id_width(m));
        assert_true(c < (long)n && it < (long)m);
        long qty = strtol(cell(&ds->pur, r, 2), NULL, 10);
        int32_t day = iso_day(cell(&ds->pur, r, 3));
        assert_true(day >= start && day <= end);
        assert_true(day >= prev);
        prev = day;
        int64_t total = money_cents(cell(&ds->pur, r, 4));
        const char *emp = cell(&ds->pur, r, 5);
        if (j->is_service[it]) {
            assert_int_equal(qty, 1);
            assert_memory_equal(emp, "Emp", 3);
            assert_true(strlen(emp) >= 5 && strtol(emp + 3, NULL, 10) >= 1);
        } else {
            assert_in_range(qty, 1, 3);
            assert_string_equal(emp, "");
        }
        int64_t list = j->price[it] * qty;
        assert_true(total <= list);
        assert_true(total * 100 >= list * 79); /* at most a 20 % discount, cents floored */
        if (day < first_buy[c])
            first_buy[c] = day;
        j->pcust[r] = c;
        j->pitem[r] = it;
        j->pday[r] = day;
        j->ptotal[r] = total;
        j->plist[r] = list;
    }
    for (size_t c = 0; c < n; c++)
        assert_true(reg[c] <= first_buy[c]);
    free(reg);
    free(first_buy);
}

static void joined_free(joined *j)
{
    free(j->is_service);
    free(j->key);
    free(j->price);
    free(j->pcust);
    free(j->pitem);
    free(j->pday);
    free(j->ptotal);
    free(j->plist);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_size_desc(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* ---- tests -------------------------------------------------------------- */

static void test_parse_args(void **state)
{
    (void)state;
    bb_gen_opts o;
    char msg[256];
    bb_gen_defaults(&o);
    char *ok[] = {"--customers", "1000", "--items=50", "--purchases", "0", "--seed", "7",
                  "--start", "2024-02-29", "--end=2024-12-31", "--out", "/tmp/x"};
    assert_int_equal(bb_gen_parse_args(12, ok, &o, msg, sizeof msg), BB_OK);
    assert_true(o.customers == 1000 && o.items == 50 && o.purchases == 0 && o.seed == 7);
    assert_int_equal(o.start_day, bb_date_from_ymd(2024, 2, 29));
    assert_int_equal(o.end_day, bb_date_from_ymd(2024, 12, 31));
    assert_string_equal(o.out_dir, "/tmp/x");
    assert_false(o.help);

    /* the largest seed fits; a later option wins */
    bb_gen_defaults(&o);
    char *seed[] = {"--out", "d", "--seed", "18446744073709551615", "--items", "9", "--items", "3"};
    assert_int_equal(bb_gen_parse_args(8, seed, &o, msg, sizeof msg), BB_OK);
    assert_true(o.seed == UINT64_MAX && o.items == 3);

    /* --help needs nothing else */
    bb_gen_defaults(&o);
    char *help[] = {"--help"};
    assert_int_equal(bb_gen_parse_args(1, help, &o, msg, sizeof msg), BB_OK);
    assert_true(o.help);

    struct {
        int argc;
        char *argv[4];
        const char *says;
    } bad[] = {
        {2, {"--out", "d", NULL, NULL}, NULL}, /* fine: the control case */
        {1, {"--customers", NULL, NULL, NULL}, "needs a value"},
        {3, {"--out", "d", "--bogus"}, "unknown option '--bogus'"},
        {3, {"--out", "d", "extra"}, "unexpected argument 'extra'"},
        {4, {"--out", "d", "--customers", "-5"}, "whole number"},
        {4, {"--out", "d", "--customers", "12x"}, "whole number"},
        {4, {"--out", "d", "--customers", ""}, "whole number"},
        {4, {"--out", "d", "--purchases", "99999999999999999999"}, "whole number"},
        {4, {"--out", "d", "--customers", "0"}, "--customers must be"},
        {4, {"--out", "d", "--items", "1"}, "--items must be"},
        {4, {"--out", "d", "--start", "2023-02-30"}, "expected a date"},
        {4, {"--out", "d", "--start", "2026-01-01"}, "--start must not be after --end"},
        {2, {"--customers", "5", NULL, NULL}, "--out DIR is required"},
        {3, {"--out", "d", "--help=yes"}, "takes no value"},
        {4, {"--out", "d", "--start", "1899-12-31"}, "between"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bb_gen_defaults(&o);
        bb_err e = bb_gen_parse_args(bad[i].argc, bad[i].argv, &o, msg, sizeof msg);
        if (!bad[i].says) {
            assert_int_equal(e, BB_OK);
            continue;
        }
        assert_int_equal(e, BB_ERR_USAGE);
        if (!strstr(msg, bad[i].says))
            fail_msg("case %zu: '%s' does not say '%s'", i, msg, bad[i].says);
    }
}

static void test_usage_and_defaults(void **state)
{
    (void)state;
    bb_gen_opts o;
    bb_gen_defaults(&o);
    assert_true(o.customers == 500 && o.items == 80 && o.purchases == 5000 && o.seed == 42);
    assert_int_equal(o.start_day, bb_date_from_ymd(2023, 1, 1));
    assert_int_equal(o.end_day, bb_date_from_ymd(2025, 12, 31));
    assert_null(o.out_dir);
    const char *u = bb_gen_usage();
    const char *expect[] = {"--customers", "(default 500)", "(default 80)", "(default 5000)",
                            "(default 42)", "(default 2023-01-01)", "(default 2025-12-31)",
                            "--out DIR", "--help"};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
        assert_non_null(strstr(u, expect[i]));
    /* bb_gen_write validates too: options built in code are not trusted */
    o.out_dir = "/tmp/never-created-by-bbgen";
    o.items = 1;
    assert_int_equal(bb_gen_write(&o, NULL), BB_ERR_USAGE);
    assert_false(bb_fs_exists(o.out_dir));
}

static void test_schema_and_invariants(void **state)
{
    (void)state;
    const uint64_t n = 400, m = 120, p = 12000;
    dataset ds;
    load(&ds, n, m, p, 11, NULL, NULL);
    joined j;
    check_invariants(&ds, &j, n, m, p, bb_date_from_ymd(2023, 1, 1),
                     bb_date_from_ymd(2025, 12, 31));

    /* item names distinct, quoted where needed, IDs grouped by subcategory */
    char path[128], *raw;
    size_t raw_len;
    snprintf(path, sizeof path, "%s/items.csv", ds.dir);
    assert_int_equal(bb_fs_read_file(path, 1 << 20, &raw, &raw_len), BB_OK);
    assert_non_null(strstr(raw, ",\"Shampoo, Argan Oil (250 ml)\",Product,Shampoo,"));
    assert_non_null(strstr(raw, ",\"Hair Serum \"\"Glass Shine\"\"\",Product,"));
    free(raw);
    int with_comma = 0, with_quote = 0;
    for (size_t a = 1; a <= m; a++) {
        const char *na = cell(&ds.items, a, 1);
        with_comma += strchr(na, ',') != NULL;
        with_quote += strchr(na, '"') != NULL;
        for (size_t b = a + 1; b <= m; b++)
            assert_string_not_equal(na, cell(&ds.items, b, 1));
        if (a > 1)
            assert_true(j.key[a - 1] >= j.key[a - 2]);
    }
    assert_true(with_comma > 0 && with_quote > 0);
    /* Styling and Makeup under both categories */
    bool seen[N_KEYS] = {false};
    for (size_t i = 0; i < m; i++)
        seen[j.key[i]] = true;
    for (int k = 0; k < N_KEYS; k++)
        assert_true(seen[k]);

    /* some customers never buy; most rows are at list price; some discounted */
    char *bought = calloc(n, 1);
    size_t discounted = 0;
    for (size_t r = 1; r <= p; r++) {
        bought[j.pcust[r]] = 1;
        discounted += j.ptotal[r] < j.plist[r];
    }
    size_t buyers = 0;
    for (size_t c = 0; c < n; c++)
        buyers += bought[c];
    assert_in_range(n - buyers, 5, n / 5);
    assert_in_range(discounted, p / 50, p / 4);
    free(bought);
    assert_int_equal(hidden_files(ds.dir), 0);
    joined_free(&j);
    unload(&ds);
}

static void test_structure(void **state)
{
    (void)state;
    const uint64_t n = 1500, m = 150, p = 40000;
    dataset ds;
    load(&ds, n, m, p, 5, NULL, NULL);
    joined j;
    check_invariants(&ds, &j, n, m, p, bb_date_from_ymd(2023, 1, 1),
                     bb_date_from_ymd(2025, 12, 31));

    /* favourites: the share of a customer's rows in their top subcategory,
     * for customers with 10+ rows, is far above the uniform 1/15 */
    int (*per)[N_KEYS] = calloc(n, sizeof *per);
    size_t *rows = calloc(n, sizeof *rows);
    int32_t *last = calloc(n, sizeof *last);
    assert_true(per && rows && last);
    for (size_t r = 1; r <= p; r++) {
        per[j.pcust[r]][j.key[j.pitem[r]]]++;
        rows[j.pcust[r]]++;
        last[j.pcust[r]] = j.pday[r];
    }
    double share_sum = 0;
    int counted = 0;
    for (size_t c = 0; c < n; c++) {
        if (rows[c] < 10)
            continue;
        int top = 0;
        for (int k = 0; k < N_KEYS; k++)
            top = per[c][k] > top ? per[c][k] : top;
        share_sum += (double)top / (double)rows[c];
        counted++;
    }
    assert_true(counted > 100);
    assert_true(share_sum / counted > 0.35);

    /* heterogeneity: the top 10 % of buyers make well over 10 % of rows */
    size_t *sorted = malloc(n * sizeof *sorted);
    assert_non_null(sorted);
    memcpy(sorted, rows, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_size_desc);
    size_t top_rows = 0;
    for (size_t c = 0; c < n / 10; c++)
        top_rows += sorted[c];
    assert_true(top_rows > p * 30 / 100);
    free(sorted);

    /* churn: some regular buyers go silent for their last year */
    int silent = 0;
    for (size_t c = 0; c < n; c++)
        silent += rows[c] >= 5 && last[c] < bb_date_from_ymd(2025, 1, 1);
    assert_true(silent >= 15);

    /* season: December above the January after it and July below the June
     * before it (both against the customer base's growth); weekdays:
     * Saturday busiest, Sunday quietest; closed on Dec 25 and Jan 1 */
    int64_t month_rev[36] = {0};
    size_t weekday[7] = {0};
    for (size_t r = 1; r <= p; r++) {
        int y, mo, d;
        bb_date_to_ymd(j.pday[r], &y, &mo, &d);
        month_rev[(y - 2023) * 12 + mo - 1] += j.ptotal[r];
        weekday[bb_date_weekday(j.pday[r])]++;
        assert_false(mo == 12 && d == 25);
        assert_false(mo == 1 && d == 1);
    }
    for (int y = 0; y < 2; y++) {
        assert_true(month_rev[y * 12 + 11] > month_rev[y * 12 + 12] * 5 / 4);
        assert_true(month_rev[y * 12 + 6] < month_rev[y * 12 + 5]);
        assert_true(month_rev[y * 12 + 11] > month_rev[y * 12 + 6] * 3 / 2);
    }
    for (int w = 0; w < 5; w++)
        assert_true(weekday[5] > weekday[w] && weekday[6] < weekday[w]);
    assert_true(weekday[5] > 3 * weekday[6]);

    /* new registrations in every month of the window */
    bool month_seen[36] = {false};
    for (size_t r = 1; r <= n; r++) {
        int y, mo, d;
        bb_date_to_ymd(iso_day(cell(&ds.cust, r, 3)), &y, &mo, &d);
        if (y >= 2023 && y <= 2025)
            month_seen[(y - 2023) * 12 + mo - 1] = true;
    }
    for (int i = 0; i < 36; i++)
        assert_true(month_seen[i]);

    /* co-purchase: customers who had a coloring service buy color-safe care
     * far more often than the others (what item-kNN should find) */
    char *colored = calloc(n, 1), *color_safe = calloc(n, 1);
    for (size_t r = 1; r <= p; r++) {
        long it = j.pitem[r];
        if (j.key[it] == 1)
            colored[j.pcust[r]] = 1;
        if (strstr(cell(&ds.items, (size_t)it + 1, 1), "Color-Safe"))
            color_safe[j.pcust[r]] = 1;
    }
    int a = 0, ab = 0, nb = 0, nab = 0;
    for (size_t c = 0; c < n; c++) {
        if (!rows[c])
            continue;
        if (colored[c]) {
            a++;
            ab += color_safe[c];
        } else {
            nb++;
            nab += color_safe[c];
        }
    }
    assert_true(a > 50 && nb > 50);
    assert_true((double)ab / a > 3.0 * (double)nab / nb);

    /* cadence: gaps between a regular's visit days are regular (a memoryless
     * process would give a coefficient of variation near 1) */
    double *cvs = calloc(n, sizeof *cvs);
    int ncv = 0;
    for (size_t c = 0; c < n; c++) {
        if (rows[c] < 12)
            continue;
        int32_t prev = INT32_MIN;
        double s = 0, s2 = 0;
        int gaps = 0;
        for (size_t r = 1; r <= p; r++) {
            if (j.pcust[r] != (long)c || j.pday[r] == prev)
                continue;
            if (prev != INT32_MIN) {
                double gap = j.pday[r] - prev;
                s += gap;
                s2 += gap * gap;
                gaps++;
            }
            prev = j.pday[r];
        }
        if (gaps >= 5) {
            double mean = s / gaps;
            cvs[ncv++] = sqrt(s2 / gaps - mean * mean) / mean;
        }
    }
    assert_true(ncv > 50);
    int regular = 0;
    for (int i = 0; i < ncv; i++)
        regular += cvs[i] < 0.5;
    assert_true(regular > ncv / 2);

    free(cvs);
    free(colored);
    free(color_safe);
    free(per);
    free(rows);
    free(last);
    joined_free(&j);
    unload(&ds);
}

static void test_deterministic(void **state)
{
    (void)state;
    static const char *const files[] = {"customers.csv", "items.csv", "purchases.csv"};
    char a[64], b[64], c[64];
    make_dir(a);
    make_dir(b);
    make_dir(c);
    assert_int_equal(run_gen(a, 300, 400, 5000, 99, NULL, NULL), BB_OK);
    assert_int_equal(run_gen(b, 300, 400, 5000, 99, NULL, NULL), BB_OK);
    assert_int_equal(run_gen(c, 300, 400, 5000, 100, NULL, NULL), BB_OK);
    for (int i = 0; i < 3; i++) {
        char pa[128], pb[128], pc[128];
        snprintf(pa, sizeof pa, "%s/%s", a, files[i]);
        snprintf(pb, sizeof pb, "%s/%s", b, files[i]);
        snprintf(pc, sizeof pc, "%s/%s", c, files[i]);
        assert_true(same_file(pa, pb));
        if (i != 1) /* the catalogue's base items keep their list prices */
            assert_false(same_file(pa, pc));
    }
    /* a rerun into the same directory replaces the files with the same bytes */
    char pa[128], pb[128];
    assert_int_equal(run_gen(b, 300, 400, 5000, 99, NULL, NULL), BB_OK);
    snprintf(pa, sizeof pa, "%s/purchases.csv", a);
    snprintf(pb, sizeof pb, "%s/purchases.csv", b);
    assert_true(same_file(pa, pb));
    assert_int_equal(hidden_files(b), 0);
    assert_int_equal(bb_fs_rmtree(a), BB_OK);
    assert_int_equal(bb_fs_rmtree(b), BB_OK);
    assert_int_equal(bb_fs_rmtree(c), BB_OK);
}

static void test_edge_sizes(void **state)
{
    (void)state;
    dataset ds;
    joined j;

    /* one customer, two items, one day: all rows that customer's, that day */
    load(&ds, 1, 2, 100, 3, "2024-03-09", "2024-03-09");
    int32_t day = bb_date_from_ymd(2024, 3, 9);
    check_invariants(&ds, &j, 1, 2, 100, day, day);
    assert_true(j.is_service[0] && !j.is_service[1]);
    assert_string_equal(cell(&ds.items, 2, 1), "Shampoo, Argan Oil (250 ml)");
    joined_free(&j);
    unload(&ds);

    /* no purchases: the header alone */
    load(&ds, 3, 2, 0, 3, NULL, NULL);
    check_invariants(&ds, &j, 3, 2, 0, bb_date_from_ymd(2023, 1, 1),
                     bb_date_from_ymd(2025, 12, 31));
    assert_int_equal(ds.pur.len, strlen("CustomerID,ItemID,Quantity,PurchaseDate,TotalPrice,"
                                        "EmployeeID\n"));
    joined_free(&j);
    unload(&ds);

    /* 20 items already span every subcategory, Styling and Makeup twice */
    load(&ds, 50, 20, 500, 8, NULL, NULL);
    check_invariants(&ds, &j, 50, 20, 500, bb_date_from_ymd(2023, 1, 1),
                     bb_date_from_ymd(2025, 12, 31));
    bool seen[N_KEYS] = {false};
    for (int i = 0; i < 20; i++)
        seen[j.key[i]] = true;
    assert_true(seen[3] && seen[4] && seen[11] && seen[12]);
    joined_free(&j);
    unload(&ds);

    /* a big catalogue of variants with distinct names; five-digit IDs */
    const uint64_t n = 12000, m = 3000, p = 3000;
    load(&ds, n, m, p, 8, "2024-12-20", "2025-01-10");
    check_invariants(&ds, &j, n, m, p, bb_date_from_ymd(2024, 12, 20),
                     bb_date_from_ymd(2025, 1, 10));
    assert_string_equal(cell(&ds.cust, 1, 0), "Cust00001");
    assert_string_equal(cell(&ds.items, m, 0), "Item3000");
    const char **names = malloc(m * sizeof *names);
    assert_non_null(names);
    for (size_t i = 0; i < m; i++)
        names[i] = cell(&ds.items, i + 1, 1);
    qsort(names, m, sizeof *names, cmp_str);
    for (size_t a = 1; a < m; a++)
        assert_string_not_equal(names[a], names[a - 1]);
    free(names);
    joined_free(&j);
    unload(&ds);
}

static void test_failures(void **state)
{
    (void)state;
    char dir[64];
    make_dir(dir);
    char file[128], under[160];
    snprintf(file, sizeof file, "%s/plain-file", dir);
    assert_int_equal(bb_fs_write_file(file, "x", 1), BB_OK);
    snprintf(under, sizeof under, "%s/sub", file);
    assert_int_equal(run_gen(under, 10, 5, 10, 1, NULL, NULL), BB_ERR_CANTCREAT);

    /* A write failure (the file size limit standing in for a full disk)
     * fails with BB_ERR_IO, leaves the previous files as they were and no
     * temporary file behind. */
    assert_int_equal(run_gen(dir, 20, 10, 50, 1, NULL, NULL), BB_OK);
    char pur[128], before[128];
    snprintf(pur, sizeof pur, "%s/purchases.csv", dir);
    long long size_before = bb_fs_size(pur);
    snprintf(before, sizeof before, "%s/purchases.before", dir);
    assert_int_equal(rename(pur, before), 0);
    assert_int_equal(run_gen(dir, 20, 10, 50, 1, NULL, NULL), BB_OK);
    assert_true(same_file(pur, before));

    struct rlimit old, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    small = old;
    small.rlim_cur = 256 * 1024;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    bb_err e = run_gen(dir, 2000, 10, 100000, 2, NULL, NULL);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(e, BB_ERR_IO);
    assert_int_equal(bb_fs_size(pur), size_before);
    assert_true(same_file(pur, before));
    assert_int_equal(hidden_files(dir), 0);
    assert_int_equal(bb_fs_rmtree(dir), BB_OK);
}

/* A million rows: exact count and date order (speed is measured by
 * scripts/bench.sh, not here). */
static void test_million_rows(void **state)
{
    (void)state;
    char dir[64];
    make_dir(dir);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(run_gen(dir, 50000, 500, 1000000, 77, NULL, NULL), BB_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    print_message("gen: 1,000,000 purchases in %.2f s\n", secs);

    char path[128], *text;
    size_t len;
    snprintf(path, sizeof path, "%s/purchases.csv", dir);
    assert_int_equal(bb_fs_read_file(path, (size_t)1 << 30, &text, &len), BB_OK);
    size_t lines = 0;
    char prev[11] = "0000-00-00";
    for (char *p = text, *end = text + len; p < end; lines++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        assert_non_null(nl);
        if (lines > 0) {
            char *date = p; /* the fourth field */
            for (int commas = 0; commas < 3; date++)
                commas += *date == ',';
            assert_true(memcmp(date, prev, 10) >= 0);
            memcpy(prev, date, 10);
        }
        p = nl + 1;
    }
    assert_int_equal(lines, 1000001);
    assert_string_equal(prev, "2025-12-31");
    free(text);
    assert_int_equal(bb_fs_rmtree(dir), BB_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_args),     cmocka_unit_test(test_usage_and_defaults),
        cmocka_unit_test(test_schema_and_invariants), cmocka_unit_test(test_structure),
        cmocka_unit_test(test_deterministic),  cmocka_unit_test(test_edge_sizes),
        cmocka_unit_test(test_failures),       cmocka_unit_test(test_million_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
