/*
 * Tests of the sales analytics (analytics/sales.h) and the sales section
 * renderers (render/section_sales.h):
 *   - last complete periods (month, week, quarter) at their edges;
 *   - a small hand-checked dataset: KPIs, subcategories keyed by category +
 *     name, rankings with ties by ItemID, the real bottom, unsold items, staff
 *     without an employee, reach, age bands, quantiles, cohorts;
 *   - random data against a brute-force recomputation (sorting and distinct
 *     counting instead of the module's stamps and counting sorts);
 *   - data without prices (revenue absent, not zero) and data without rows;
 *   - the renderers on data/sample and on data without prices: PDF (read back
 *     with pdftotext), workbook (a zip), HTML (the partial rendered);
 *   - shared: the seed data's known totals, and the brute force on it.
 * Set BB_SALES_TEST_OUT=<dir> to keep the rendered files for a look.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "analytics/sales.h"
#include "analytics/summary.h"
#include "bb_test.h"
#include "ingest/ingest.h"
#include "render/section_sales.h"
#include "render/template.h"
#include "util/buf.h"
#include "util/date.h"
#include "util/fs.h"
#include "util/rng.h"

/* ---- loading and lookups -------------------------------------------------- */

static int32_t D(const char *iso)
{
    int32_t d;
    assert_true(bb_date_parse_iso(iso, &d));
    return d;
}

static void write_dir(const char *dir, const char *customers, const char *items, const char *purchases)
{
    char path[512];
    const char *names[] = {"customers.csv", "items.csv", "purchases.csv"};
    const char *texts[] = {customers, items, purchases};
    for (int i = 0; i < 3; i++) {
        if (!texts[i])
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        assert_int_equal(bb_fs_write_file(path, texts[i], strlen(texts[i])), BB_OK);
    }
}

/* Loads the three texts (NULL: file absent) with the given purchases column
 * mapping changes (NULL: defaults). */
static bb_dataset *load_text_opts(const char *customers, const char *items, const char *purchases,
                                  const char *total_col, const char *price_col)
{
    char dir[] = "/tmp/bb_sales_XXXXXX";
    assert_non_null(mkdtemp(dir));
    write_dir(dir, customers, items, purchases);
    bb_ingest_opts o;
    bb_ingest_defaults(&o);
    o.data_dir = dir;
    if (total_col)
        o.file[BB_FILE_PURCHASES].column[BB_COL_PUR_TOTAL] = total_col;
    if (price_col)
        o.file[BB_FILE_ITEMS].column[BB_COL_ITEM_PRICE] = price_col;
    bb_dataset *ds = NULL;
    assert_int_equal(bb_ingest_load(&o, NULL, &ds, NULL), BB_OK);
    bb_fs_rmtree(dir);
    return ds;
}

static bb_dataset *load_text(const char *customers, const char *items, const char *purchases)
{
    return load_text_opts(customers, items, purchases, NULL, NULL);
}

static bb_dataset *load_dir(const char *dir)
{
    bb_ingest_opts o;
    bb_ingest_defaults(&o);
    o.data_dir = dir;
    bb_dataset *ds = NULL;
    assert_int_equal(bb_ingest_load(&o, NULL, &ds, NULL), BB_OK);
    return ds;
}

static const char *item_id(const bb_dataset *ds, const bb_sales_item *x)
{
    return bb_intern_str(ds->items.ids, x->item);
}

static const bb_sales_group *find_sub(const bb_dataset *ds, const bb_sales *s, const char *cat, const char *name)
{
    for (size_t i = 0; i < s->n_subcategories; i++) {
        const bb_sales_group *g = &s->subcategories[i];
        if (strcmp(bb_intern_str(ds->categories, g->category), cat) == 0 &&
            strcmp(bb_dataset_subcategory_name(ds, g->id), name) == 0)
            return g;
    }
    return NULL;
}

/* ---- periods ------------------------------------------------------------- */

static void expect_period(bb_period_kind k, const char *as_of, const char *first, const char *last)
{
    int32_t f, l;
    bb_sales_last_period(k, D(as_of), &f, &l);
    char a[11], b[11];
    bb_date_format(f, a);
    bb_date_format(l, b);
    if (f != D(first) || l != D(last))
        fail_msg("%s as of %s: got %s..%s, want %s..%s", bb_sales_period_name(k), as_of, a, b, first, last);
}

static void test_periods(void **state)
{
    (void)state;
    /* A month is complete on its last day, not before. */
    expect_period(BB_PERIOD_MONTH, "2023-12-31", "2023-12-01", "2023-12-31");
    expect_period(BB_PERIOD_MONTH, "2023-12-30", "2023-11-01", "2023-11-30");
    expect_period(BB_PERIOD_MONTH, "2024-01-01", "2023-12-01", "2023-12-31");
    expect_period(BB_PERIOD_MONTH, "2024-02-29", "2024-02-01", "2024-02-29");
    expect_period(BB_PERIOD_MONTH, "2023-02-28", "2023-02-01", "2023-02-28");
    /* Weeks run Monday to Sunday; 2023-12-31 is a Sunday. */
    expect_period(BB_PERIOD_WEEK, "2023-12-31", "2023-12-25", "2023-12-31");
    expect_period(BB_PERIOD_WEEK, "2023-12-30", "2023-12-18", "2023-12-24");
    expect_period(BB_PERIOD_WEEK, "2024-01-01", "2023-12-25", "2023-12-31");
    /* Quarters. */
    expect_period(BB_PERIOD_QUARTER, "2023-12-31", "2023-10-01", "2023-12-31");
    expect_period(BB_PERIOD_QUARTER, "2023-12-30", "2023-07-01", "2023-09-30");
    expect_period(BB_PERIOD_QUARTER, "2024-02-15", "2023-10-01", "2023-12-31");
    expect_period(BB_PERIOD_QUARTER, "2024-03-31", "2024-01-01", "2024-03-31");

    bb_period_kind k;
    assert_true(bb_sales_period_parse("quarter", &k));
    assert_int_equal(k, BB_PERIOD_QUARTER);
    assert_false(bb_sales_period_parse("year", &k));
    assert_false(bb_sales_period_parse(NULL, &k));
    assert_string_equal(bb_sales_period_name(BB_PERIOD_WEEK), "week");
}

/* ---- a small hand-checked dataset ---------------------------------------- */

static const char *CUST =
    "CustomerID,Age,Gender,RegistrationDate,ZipCode,EmailSubscription,SMSSubscription\n"
    "A,30,F,2023-10-05,1000,True,False\n"
    "B,17,M,2023-11-20,1000,False,True\n"
    "C,70,,2023-11-02,2000,True,True\n"
    "D,,F,2023-12-10,,,\n"      /* never buys */
    "E,45,M,2022-01-01,2000,False,False\n";
static const char *ITEMS =
    "ItemID,ItemName,ItemCategory,ItemSubcategory,UnitPrice\n"
    "I3,Cut,Service,Styling,30.00\n"
    "I1,Blow dry,Service,Styling,20.00\n"
    "I2,Gel,Product,Styling,10.00\n"
    "I4,Dye,Service,Coloring,50.00\n"
    "I5,Comb,Product,Tools,5.00\n";  /* never sold */
/* As of 2023-12-31: December is the current month, November the previous. */
static const char *PURCH =
    "CustomerID,ItemID,Quantity,PurchaseDate,TotalPrice,EmployeeID\n"
    "A,I3,1,2023-11-03,30.00,E2\n"
    "A,I2,2,2023-11-03,18.00,\n"      /* same visit as the line above */
    "B,I1,1,2023-11-25,20.00,E1\n"
    "A,I3,1,2023-12-01,27.00,E1\n"
    "A,I1,1,2023-12-15,20.00,E1\n"    /* A: two visits in December */
    "C,I4,1,2023-12-15,50.00,E2\n"    /* C: first purchase in December */
    "C,I2,1,2023-12-15,10.00,\n"
    "B,I2,3,2023-12-31,30.00,\n"
    "E,I1,1,2022-12-10,20.00,E1\n";   /* a year earlier */

static void test_small(void **state)
{
    (void)state;
    bb_dataset *ds = load_text(CUST, ITEMS, PURCH);
    bb_sales_opts o;
    bb_sales_defaults(&o);
    o.top_n = 2;
    bb_sales *s = NULL;
    assert_int_equal(bb_sales_compute(ds, &o, &s), BB_OK);
    assert_true(s->has_revenue);
    assert_true(s->paid_prices);
    assert_int_equal(s->revenue_cents, 22500);
    assert_int_equal(s->units, 12);
    assert_int_equal(s->visits, 7);
    assert_int_equal(s->active_customers, 4);
    assert_int_equal(s->period[BB_SALES_CUR].first, D("2023-12-01"));
    assert_string_equal(s->period[BB_SALES_CUR].label, "December 2023");
    assert_string_equal(s->period[BB_SALES_PREV].label, "November 2023");
    assert_string_equal(s->period[BB_SALES_YEAR_AGO].short_label, "Dec 2022");
    assert_true(s->period[BB_SALES_YEAR_AGO].has_data);

    const bb_sales_kpi *K = s->kpi;
    /* December: 27 + 20 + 50 + 10 + 30 = 137.00; visits A 12-01, A 12-15, C 12-15, B 12-31. */
    assert_true(K[BB_KPI_REVENUE].has[BB_SALES_CUR]);
    assert_true(K[BB_KPI_REVENUE].value[BB_SALES_CUR] == 13700);
    assert_true(K[BB_KPI_VISITS].value[BB_SALES_CUR] == 4);
    assert_true(K[BB_KPI_UNITS].value[BB_SALES_CUR] == 7);
    assert_true(K[BB_KPI_ACTIVE].value[BB_SALES_CUR] == 3);
    assert_true(K[BB_KPI_NEW].value[BB_SALES_CUR] == 1);        /* C */
    assert_true(K[BB_KPI_AVG_VISIT].value[BB_SALES_CUR] == 3425); /* 137 / 4 */
    assert_true(K[BB_KPI_REV_PER_CUSTOMER].value[BB_SALES_CUR] == 4567); /* 45.666.. rounds up */
    assert_float_equal(K[BB_KPI_REPEAT_RATE].value[BB_SALES_CUR], 1.0 / 3.0, 1e-12);
    /* November: 68.00, 2 visits, 2 customers, both new. */
    assert_true(K[BB_KPI_REVENUE].value[BB_SALES_PREV] == 6800);
    assert_true(K[BB_KPI_NEW].value[BB_SALES_PREV] == 2);
    assert_float_equal(K[BB_KPI_REVENUE].change_pct[BB_SALES_PREV], (13700.0 - 6800.0) / 6800.0, 1e-12);
    assert_true(K[BB_KPI_REVENUE].change[BB_SALES_PREV] == 6900);
    /* December 2022: E alone. */
    assert_true(K[BB_KPI_REVENUE].value[BB_SALES_YEAR_AGO] == 2000);
    assert_true(K[BB_KPI_REPEAT_RATE].value[BB_SALES_YEAR_AGO] == 0);
    assert_float_equal(K[BB_KPI_REPEAT_RATE].change[BB_SALES_YEAR_AGO], 1.0 / 3.0, 1e-12);

    /* Two categories; Styling is two subcategories. */
    assert_int_equal(s->n_categories, 2);
    assert_string_equal(bb_intern_str(ds->categories, s->categories[0].id), "Service");
    assert_int_equal(s->categories[0].revenue_cents, 16700);
    assert_int_equal(s->categories[1].units, 6);
    assert_int_equal(s->n_subcategories, 4);
    const bb_sales_group *svc = find_sub(ds, s, "Service", "Styling"), *prd = find_sub(ds, s, "Product", "Styling");
    assert_non_null(svc);
    assert_non_null(prd);
    assert_int_equal(svc->revenue_cents, 11700);
    assert_int_equal(prd->revenue_cents, 5800);
    assert_int_equal(prd->units, 6);
    assert_float_equal(prd->period_share[BB_SALES_CUR], 4000.0 / 13700.0, 1e-12);
    assert_float_equal(prd->share_change, 4000.0 / 13700.0 - 1800.0 / 6800.0, 1e-12);
    /* Tools sold nothing: still listed, last. */
    assert_string_equal(bb_dataset_subcategory_name(ds, s->subcategories[3].id), "Tools");
    assert_int_equal(s->subcategories[3].revenue_cents, 0);

    /* Items by revenue: I1 60.00, I2 58.00, I3 57.00, I4 50.00, I5 0. */
    assert_int_equal(s->n_items, 5);
    const char *want[] = {"I1", "I2", "I3", "I4", "I5"};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(item_id(ds, &s->items[i]), want[i]);
        assert_int_equal(s->items[i].revenue_rank, i + 1);
    }
    assert_int_equal(s->n_top, 2);
    assert_int_equal(s->bottom_first, 3);   /* the real bottom: I4 and the unsold I5 */
    assert_int_equal(s->items[4].last_day, BB_DATE_NONE);
    assert_int_equal(s->items[2].list_cents, 6000);
    assert_float_equal(s->items[2].paid_vs_list, 57.0 / 60.0, 1e-12);
    /* By units: I2 6, then I1 3, I3 2, I4 1, I5 0. */
    assert_string_equal(item_id(ds, &s->items[s->items_by_units[0]]), "I2");
    assert_string_equal(item_id(ds, &s->items[s->items_by_units[1]]), "I1");
    assert_int_equal(s->items[s->items_by_units[4]].units_rank, 5);
    /* Unsold in December, by ItemID: only I5 (I3, I1, I2, I4 all sold). */
    assert_int_equal(s->n_unsold, 1);
    assert_string_equal(item_id(ds, &s->items[s->unsold[0]]), "I5");

    /* Staff: E1 87.00 (A twice, B, E), E2 80.00, no employee 58.00, last. */
    assert_int_equal(s->n_staff, 3);
    assert_string_equal(bb_intern_str(ds->employees, s->staff[0].employee), "E1");
    assert_int_equal(s->staff[0].revenue_cents, 8700);
    assert_int_equal(s->staff[0].services, 4);
    assert_int_equal(s->staff[0].customers, 3);
    assert_int_equal(s->staff[1].customers, 2);
    assert_int_equal(s->staff[2].employee, BB_UNKNOWN);
    assert_int_equal(s->staff[2].customers, 3);
    assert_int_equal(s->staff[2].units, 6);
    assert_string_equal(bb_intern_str(ds->categories, s->staff[2].top_category), "Product");
    assert_float_equal(s->staff[2].top_category_share, 1.0, 0);

    /* Customers: spend A 95, B 50, C 60, E 20 (D never bought). */
    assert_int_equal(s->spend.n, 4);
    assert_float_equal(s->spend.min, 2000, 0);
    assert_float_equal(s->spend.max, 9500, 0);
    assert_float_equal(s->spend.p50, 5500, 1e-9);          /* (50 + 60) / 2 */
    assert_float_equal(s->spend.p25, 2000 + 0.75 * 3000, 1e-9);
    assert_float_equal(s->spend.mean, 22500.0 / 4, 1e-9);
    assert_float_equal(s->visit_value.max, 6000, 0);       /* C: 60 in one visit */
    assert_float_equal(s->visit_value.min, 2000, 0);
    assert_int_equal(s->age[0].customers, 1);  /* B, 17 */
    assert_int_equal(s->age[2].revenue_cents, 9500); /* A, 30 */
    assert_int_equal(s->age[BB_SALES_AGE_BANDS - 1].customers, 1); /* D */
    assert_int_equal(s->age[BB_SALES_AGE_BANDS - 1].active, 0);
    assert_int_equal(s->n_genders, 3);       /* F, M, unknown (C) */
    assert_int_equal(s->genders[2].id, BB_UNKNOWN);
    assert_string_equal(bb_intern_str(ds->genders, s->genders[0].id), "F"); /* 95.00 against M's 70.00 */
    assert_int_equal(s->reach_all.customers, 5);
    assert_int_equal(s->reach_all.email, 2);
    assert_int_equal(s->reach_all.either, 3);
    assert_int_equal(s->reach_all.both, 1);
    assert_int_equal(s->reach_all.email_unknown, 1);
    assert_int_equal(s->reach_active.customers, 4);
    assert_float_equal(s->reach_all.sms_share, 2.0 / 5.0, 1e-12);

    /* Cohorts from the first purchase month (2022-12) to December 2023: E
     * registered before it; D bought nothing. A: Oct 2023, active in Nov (1)
     * and Dec (2). */
    const bb_sales_cohorts *co = &s->cohorts;
    assert_int_equal(co->n_cohorts, 13);
    assert_int_equal(co->before_data, 1);
    size_t oct = 10; /* 2022-12 + 10 months */
    assert_int_equal(co->month[oct], bb_date_month_index(D("2023-10-01")));
    assert_int_equal(co->size[oct], 1);
    assert_int_equal(co->active[oct * co->n_offsets + 0], 0);
    assert_int_equal(co->active[oct * co->n_offsets + 1], 1);
    assert_int_equal(co->active[oct * co->n_offsets + 2], 1);
    assert_int_equal(co->active[oct * co->n_offsets + 3], -1);   /* January 2024: not complete */
    assert_true(isnan(co->retention[oct * co->n_offsets + 3]));
    assert_int_equal(co->size[11], 2);                            /* B and C, November */
    assert_float_equal(co->retention[11 * co->n_offsets + 0], 0.5, 0); /* B bought in November */
    assert_float_equal(co->retention[11 * co->n_offsets + 1], 1.0, 0); /* both in December */

    /* Trends: months and weeks add up, moving averages, weekdays. */
    assert_int_equal(s->n_months, 13);
    assert_int_equal(s->months[12].revenue_cents, 13700);
    assert_int_equal(s->months[12].customers, 3);
    assert_true(s->months[12].has_prev_year);
    assert_int_equal(s->months[12].prev_year_revenue_cents, 2000);
    assert_float_equal(s->months[12].prev_year_change_pct, 11700.0 / 2000.0, 1e-12);
    assert_int_equal(s->n_days, (size_t)(D("2023-12-31") - D("2022-12-10") + 1));
    const bb_sales_day *last = &s->days[s->n_days - 1];
    assert_float_equal(last->ma7, 3000.0 / 7.0, 1e-9);        /* 12-25..12-31: B's 30.00 */
    assert_float_equal(last->ma28, (2000.0 + 6000.0 + 3000.0) / 28.0, 1e-9);
    assert_true(isnan(s->days[5].ma7));
    int64_t week_sum = 0;
    for (size_t w = 0; w < s->n_weeks; w++)
        week_sum += s->weeks[w].revenue_cents;
    assert_int_equal(week_sum, s->revenue_cents);
    assert_int_equal(s->weekdays[6].revenue_cents, 3000);  /* Sundays: 2023-12-31 only */
    assert_int_equal(s->weekdays[5].revenue_cents, 2000 + 2000); /* Saturdays: 2022-12-10, 2023-11-25 */
    assert_true(s->n_findings >= 5);
    assert_non_null(strstr(s->findings[0], "Revenue in December 2023: 137.00, up 101.5 % vs November 2023"));
    bb_sales_free(s);
    bb_dataset_free(ds);
}

/* ---- brute force ----------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Distinct values among keys[0..n) (sorted in place). */
static int64_t distinct(uint64_t *keys, size_t n)
{
    qsort(keys, n, sizeof *keys, cmp_u64);
    int64_t d = 0;
    for (size_t i = 0; i < n; i++)
        d += i == 0 || keys[i] != keys[i - 1];
    return d;
}

/* Recomputes KPIs, staff customers, monthly customers, cohort activity,
 * category sums and the item ranking by brute force and compares. */
static void brute_force_check(const bb_dataset *ds, const bb_sales *s)
{
    const bb_purchases *p = &ds->purchases;
    uint64_t *keys = malloc((p->n + 1) * sizeof *keys);
    assert_non_null(keys);
    int32_t *first = malloc((ds->customers.n + 1) * sizeof *first);
    assert_non_null(first);
    for (uint32_t c = 0; c < ds->customers.n; c++)
        first[c] = INT32_MAX;
    for (size_t i = 0; i < p->n; i++)
        if (p->day[i] < first[p->customer[i]])
            first[p->customer[i]] = p->day[i];

    for (int j = 0; j < BB_SALES_NPERIODS; j++) {
        const bb_sales_period *P = &s->period[j];
        int64_t rev = 0, units = 0;
        size_t n = 0;
        for (size_t i = 0; i < p->n; i++) {
            if (p->day[i] < P->first || p->day[i] > P->last)
                continue;
            rev += p->total_cents[i];
            units += p->quantity[i];
            keys[n++] = (uint64_t)p->customer[i] << 32 | (uint32_t)p->day[i];
        }
        int64_t visits = distinct(keys, n);
        /* keys sorted: per customer, count distinct days */
        int64_t active = 0, repeat = 0;
        for (size_t i = 0; i < n;) {
            size_t k = i;
            int64_t days = 0;
            while (k < n && keys[k] >> 32 == keys[i] >> 32) {
                days += k == i || keys[k] != keys[k - 1];
                k++;
            }
            active++;
            repeat += days >= 2;
            i = k;
        }
        int64_t fresh = 0;
        for (uint32_t c = 0; c < ds->customers.n; c++)
            fresh += first[c] >= P->first && first[c] <= P->last;
        if (!P->has_data)
            continue;
        if (s->has_revenue)
            assert_true(s->kpi[BB_KPI_REVENUE].value[j] == (double)rev);
        assert_true(s->kpi[BB_KPI_UNITS].value[j] == (double)units);
        assert_true(s->kpi[BB_KPI_VISITS].value[j] == (double)visits);
        assert_true(s->kpi[BB_KPI_ACTIVE].value[j] == (double)active);
        assert_true(s->kpi[BB_KPI_NEW].value[j] == (double)fresh);
        if (active)
            assert_float_equal(s->kpi[BB_KPI_REPEAT_RATE].value[j], (double)repeat / (double)active, 1e-12);
        if (s->has_revenue && visits) {
            double avg = (double)rev / (double)visits;
            assert_true(fabs(s->kpi[BB_KPI_AVG_VISIT].value[j] - avg) <= 0.5);
        }
    }

    /* Staff: distinct customers per employee. */
    for (size_t k = 0; k < s->n_staff; k++) {
        size_t n = 0;
        int64_t rev = 0;
        for (size_t i = 0; i < p->n; i++)
            if (p->employee[i] == s->staff[k].employee) {
                keys[n++] = p->customer[i];
                rev += p->total_cents[i];
            }
        assert_int_equal(s->staff[k].services, n);
        assert_int_equal(s->staff[k].customers, distinct(keys, n));
        assert_int_equal(s->staff[k].revenue_cents, rev);
    }

    /* Months: distinct customers per month. */
    for (size_t m = 0; m < s->n_months; m++) {
        size_t n = 0;
        for (size_t i = 0; i < p->n; i++)
            if (p->day[i] >= s->months[m].first && p->day[i] <= s->months[m].last)
                keys[n++] = p->customer[i];
        assert_int_equal(s->months[m].customers, distinct(keys, n));
    }

    /* Cohorts: customers of the cohort with a purchase k months after it. */
    const bb_sales_cohorts *co = &s->cohorts;
    for (size_t c = 0; c < co->n_cohorts; c++) {
        uint32_t size = 0;
        for (uint32_t u = 0; u < ds->customers.n; u++)
            size += ds->customers.registered[u] != BB_DATE_NONE &&
                    bb_date_month_index(ds->customers.registered[u]) == co->month[c];
        assert_int_equal(co->size[c], size);
        for (size_t k = 0; k < co->n_offsets; k++) {
            int64_t got = co->active[c * co->n_offsets + k];
            if (got < 0)
                continue;
            size_t n = 0;
            for (size_t i = 0; i < p->n; i++) {
                int32_t reg = ds->customers.registered[p->customer[i]];
                if (reg != BB_DATE_NONE && bb_date_month_index(reg) == co->month[c] &&
                    bb_date_month_index(p->day[i]) == co->month[c] + (int32_t)k)
                    keys[n++] = p->customer[i];
            }
            assert_int_equal(got, distinct(keys, n));
        }
    }

    /* Categories: sums of their rows. */
    for (size_t g = 0; g < s->n_subcategories; g++) {
        int64_t rev = 0, units = 0;
        for (size_t i = 0; i < p->n; i++)
            if (ds->items.subcategory[p->item[i]] == s->subcategories[g].id)
                rev += p->total_cents[i], units += p->quantity[i];
        assert_int_equal(s->subcategories[g].revenue_cents, rev);
        assert_int_equal(s->subcategories[g].units, units);
        if (g > 0 && s->has_revenue)
            assert_true(s->subcategories[g - 1].revenue_cents >= s->subcategories[g].revenue_cents);
    }

    /* Items: in ranking order, ties by ItemID. */
    for (size_t i = 1; i < s->n_items; i++) {
        const bb_sales_item *a = &s->items[i - 1], *b = &s->items[i];
        int64_t ka = s->has_revenue ? a->revenue_cents : a->units, kb = s->has_revenue ? b->revenue_cents : b->units;
        assert_true(ka > kb || (ka == kb && strcmp(item_id(ds, a), item_id(ds, b)) < 0));
        const bb_sales_item *ua = &s->items[s->items_by_units[i - 1]], *ub = &s->items[s->items_by_units[i]];
        assert_true(ua->units > ub->units || (ua->units == ub->units && strcmp(item_id(ds, ua), item_id(ds, ub)) < 0));
    }
    free(keys);
    free(first);
}

/* Random data: customers (every 7th without registration date, the last
 * five never buying), 30 items in two categories sharing subcategory names
 * (the last five never sold), purchases over two years, employees E1..En
 * and rows without one. */
static char *random_purchases(uint64_t seed, int customers, int employees, int rows, bb_buf *cust, bb_buf *items)
{
    bb_rng r;
    bb_rng_seed(&r, seed, 0);
    bb_buf_puts(cust, "CustomerID,Age,Gender,RegistrationDate,ZipCode,EmailSubscription,SMSSubscription\n");
    for (int c = 0; c < customers; c++) {
        int32_t reg = D("2021-06-01") + (int32_t)bb_rng_below(&r, 900);
        char d[11];
        bb_date_format(reg, d);
        bb_buf_printf(cust, "C%04d,%d,%s,%s,%d,%s,%s\n", c, (int)bb_rng_below(&r, 80) + 12,
                      bb_rng_below(&r, 3) == 0 ? "" : "F", c % 7 == 0 ? "" : d, 1000 + (int)bb_rng_below(&r, 5),
                      bb_rng_below(&r, 2) ? "True" : "False", bb_rng_below(&r, 2) ? "True" : "False");
    }
    static const char *subs[] = {"Styling", "Care", "Color"};
    bb_buf_puts(items, "ItemID,ItemName,ItemCategory,ItemSubcategory,UnitPrice\n");
    for (int i = 0; i < 30; i++)
        bb_buf_printf(items, "I%02d,Item %d,%s,%s,%d.50\n", i, i, i % 2 ? "Service" : "Product", subs[i % 3], 5 + i);
    bb_buf p;
    bb_buf_init(&p, 0);
    bb_buf_puts(&p, "CustomerID,ItemID,Quantity,PurchaseDate,TotalPrice,EmployeeID\n");
    for (int k = 0; k < rows; k++) {
        int32_t day = D("2022-01-01") + (int32_t)bb_rng_below(&r, 730);
        char d[11];
        bb_date_format(day, d);
        int e = (int)bb_rng_below(&r, (uint64_t)employees + 1);
        /* Items 25..29 never sell: the bottom of the ranking. Employee 0: none. */
        bb_buf_printf(&p, "C%04d,I%02d,%d,%s,%d.%02d,", (int)bb_rng_below(&r, (uint64_t)customers - 5),
                      (int)bb_rng_below(&r, 25),
                      1 + (int)bb_rng_below(&r, 3), d, (int)bb_rng_below(&r, 90), (int)bb_rng_below(&r, 100));
        if (e)
            bb_buf_printf(&p, "E%d", e);
        bb_buf_putc(&p, '\n');
    }
    return bb_buf_detach(&p);
}

static void test_brute_force(void **state)
{
    (void)state;
    for (int kind = 0; kind < 3; kind++) {
        bb_buf c, it;
        bb_buf_init(&c, 0);
        bb_buf_init(&it, 0);
        char *p = random_purchases(11 + (uint64_t)kind, 60, 4, 3000, &c, &it);
        bb_dataset *ds = load_text(c.data, it.data, p);
        bb_sales_opts o;
        bb_sales_defaults(&o);
        o.period = (bb_period_kind)kind;
        bb_sales *s = NULL;
        assert_int_equal(bb_sales_compute(ds, &o, &s), BB_OK);
        brute_force_check(ds, s);
        assert_int_equal(s->n_items - s->bottom_first, 10);
        for (size_t i = s->n_items - 5; i < s->n_items; i++)
            assert_int_equal(s->items[i].units, 0);
        bb_sales_free(s);
        bb_dataset_free(ds);
        free(p);
        bb_buf_free(&c);
        bb_buf_free(&it);
    }
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* More employees than the 64-bit mask holds (the counting-sort path), and
 * more customers than the radix sort's threshold. */
static void test_many_employees(void **state)
{
    (void)state;
    bb_buf c, it;
    bb_buf_init(&c, 0);
    bb_buf_init(&it, 0);
    char *p = random_purchases(5, 5000, 100, 12000, &c, &it);
    bb_dataset *ds = load_text(c.data, it.data, p);
    assert_int_equal(bb_intern_count(ds->employees), 100);
    bb_sales *s = NULL;
    assert_int_equal(bb_sales_compute(ds, NULL, &s), BB_OK);
    brute_force_check(ds, s);
    /* The distribution against a qsort of the same values. */
    double *spend = calloc(ds->customers.n, sizeof *spend);
    assert_non_null(spend);
    uint8_t *seen = calloc(ds->customers.n, 1);
    for (size_t i = 0; i < ds->purchases.n; i++) {
        spend[ds->purchases.customer[i]] += (double)ds->purchases.total_cents[i];
        seen[ds->purchases.customer[i]] = 1;
    }
    size_t n = 0;
    for (uint32_t u = 0; u < ds->customers.n; u++)
        if (seen[u])
            spend[n++] = spend[u];
    assert_true(n > 4096);
    qsort(spend, n, sizeof *spend, cmp_dbl);
    assert_int_equal(s->spend.n, n);
    assert_float_equal(s->spend.min, spend[0], 0);
    assert_float_equal(s->spend.max, spend[n - 1], 0);
    double pos = 0.9 * (double)(n - 1);
    size_t lo = (size_t)pos;
    assert_float_equal(s->spend.p90, spend[lo] + (spend[lo + 1] - spend[lo]) * (pos - (double)lo), 1e-6);
    free(seen);
    free(spend);
    bb_sales_free(s);
    bb_dataset_free(ds);
    free(p);
    bb_buf_free(&c);
    bb_buf_free(&it);
}

/* ---- data without prices, without rows, bad options ------------------------- */

static void test_no_prices(void **state)
{
    (void)state;
    bb_dataset *ds = load_text_opts(CUST, ITEMS, PURCH, "", "");
    assert_int_equal(ds->price_source, BB_PRICE_NONE);
    bb_sales *s = NULL;
    assert_int_equal(bb_sales_compute(ds, NULL, &s), BB_OK);
    assert_false(s->has_revenue);
    assert_false(s->kpi[BB_KPI_REVENUE].known);
    assert_false(s->kpi[BB_KPI_REVENUE].has[BB_SALES_CUR]);
    assert_true(isnan(s->kpi[BB_KPI_REVENUE].value[BB_SALES_CUR]));  /* absent, not zero */
    assert_false(s->kpi[BB_KPI_AVG_VISIT].has[BB_SALES_CUR]);
    assert_true(s->kpi[BB_KPI_VISITS].value[BB_SALES_CUR] == 4);
    /* Ranked by units: I2 (6) first; no revenue ranks. */
    assert_string_equal(item_id(ds, &s->items[0]), "I2");
    assert_int_equal(s->items[0].revenue_rank, 0);
    assert_true(isnan(s->paid_vs_list));
    assert_true(isnan(s->items[0].paid_vs_list));
    assert_string_equal(bb_intern_str(ds->categories, s->categories[0].id), "Product"); /* 6 units each: by name */
    assert_float_equal(s->weekdays[6].revenue_share, 3.0 / 12.0, 1e-12);  /* units on Sundays */
    assert_true(s->n_findings >= 3);
    assert_non_null(strstr(s->findings[0], "Visits in December 2023: 4"));
    for (size_t i = 0; i < s->n_findings; i++)
        assert_null(strstr(s->findings[i], "revenue"));
    bb_sales_free(s);
    bb_dataset_free(ds);
}

/* Without a customers file: no demographics, no cohorts, reach unknown. */
static void test_no_customers_file(void **state)
{
    (void)state;
    bb_dataset *ds = load_text(NULL, ITEMS, PURCH);
    assert_true(ds->quality[BB_FILE_CUSTOMERS].derived);
    bb_sales *s = NULL;
    assert_int_equal(bb_sales_compute(ds, NULL, &s), BB_OK);
    assert_int_equal(s->cohorts.n_cohorts, 0);
    assert_int_equal(s->age[BB_SALES_AGE_BANDS - 1].customers, ds->customers.n);
    assert_int_equal(s->reach_all.email_unknown, ds->customers.n);
    assert_int_equal(s->reach_all.either, 0);
    assert_int_equal(s->n_genders, 1);
    assert_int_equal(s->genders[0].id, BB_UNKNOWN);
    assert_true(s->kpi[BB_KPI_REVENUE].value[BB_SALES_CUR] == 13700);
    for (size_t i = 0; i < s->n_findings; i++)
        assert_null(strstr(s->findings[i], "registered"));
    bb_sales_free(s);
    bb_dataset_free(ds);
}

static void test_empty_and_options(void **state)
{
    (void)state;
    /* A dataset with customers and items but no purchases: built by hand,
     * since ingest refuses a file without rows. */
    bb_dataset *ds = calloc(1, sizeof *ds);
    assert_non_null(ds);
    bb_intern **t[] = {&ds->customers.ids, &ds->items.ids, &ds->genders,       &ds->zips,
                       &ds->item_names,    &ds->categories, &ds->subcategories, &ds->employees};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        assert_int_equal(bb_intern_new(t[i], 0), BB_OK);
    ds->first_day = ds->last_day = BB_DATE_NONE;
    ds->as_of = D("2024-05-05");
    bb_sales *s = NULL;
    assert_int_equal(bb_sales_compute(ds, NULL, &s), BB_OK);
    assert_int_equal(s->n_days, 0);
    assert_int_equal(s->n_items, 0);
    assert_int_equal(s->n_staff, 0);
    assert_false(s->period[BB_SALES_CUR].has_data);
    assert_false(s->kpi[BB_KPI_VISITS].has[BB_SALES_CUR]);
    assert_true(isnan(s->spend.p50));
    bb_sales_free(s);

    bb_sales_opts o;
    bb_sales_defaults(&o);
    assert_int_equal(o.period, BB_PERIOD_MONTH);
    assert_int_equal(o.top_n, 10);
    o.top_n = 0;
    s = (bb_sales *)&o; /* must be reset on failure */
    assert_int_equal(bb_sales_compute(ds, &o, &s), BB_ERR_CONFIG);
    assert_null(s);
    o.top_n = 10;
    o.period = (bb_period_kind)7;
    assert_int_equal(bb_sales_compute(ds, &o, &s), BB_ERR_CONFIG);
    bb_sales_free(NULL);
    bb_dataset_free(ds);
}

/* ---- renderers ----------------------------------------------------------------- */

static char *run_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *run_out(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    bb_buf b;
    bb_buf_init(&b, 0);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        bb_buf_append(&b, chunk, n);
    if (pclose(p) != 0)
        fail_msg("command failed: %s", cmd);
    return bb_buf_detach(&b);
}

static const char *PAGE =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sales</title></head>\n"
    "<body><main>\n{{>sales}}\n</main></body></html>\n";

/* Renders every sales output of ds into dir like the report renderers will:
 * charts, a PDF with the summary and the section, a workbook, the HTML. */
static void render_all(const bb_dataset *ds, const bb_sales *s, const char *dir)
{
    bb_log *log = NULL;
    assert_int_equal(bb_log_new(&log, stderr, BB_LOG_WARN), BB_OK);
    bb_summary sum;
    assert_int_equal(bb_summary_compute(ds, &sum), BB_OK);
    bb_report r = {.ds = ds, .summary = &sum, .sales = s, .title = "Sales report", .business_name = "",
                   .version = "test", .run_id = "test", .data_dir = "test", .epoch = 1704067199, .run_dir = dir};
    bb_date_format(ds->as_of, r.as_of);
    assert_int_equal(bb_section_sales_charts(&r, log), BB_OK);
    assert_non_null(bb_report_find_chart(&r, "sales_daily"));
    assert_non_null(bb_report_find_chart(&r, "sales_top_items"));

    bb_pdf_opts po = {.title = "Sales report", .header_right = "test", .epoch = r.epoch, .toc = true};
    bb_pdf *pdf = NULL;
    assert_int_equal(bb_pdf_new(&pdf, &po), BB_OK);
    assert_int_equal(bb_pdf_cover(pdf, "Sales report", NULL, NULL, 0), BB_OK);
    assert_int_equal(bb_pdf_heading(pdf, 1, "Summary"), BB_OK);
    assert_int_equal(bb_section_sales_summary_pdf(&r, pdf), BB_OK);
    assert_int_equal(bb_section_sales_pdf(&r, pdf), BB_OK);
    char path[1024];
    snprintf(path, sizeof path, "%s/report.pdf", dir);
    assert_int_equal(bb_pdf_save(pdf, path), BB_OK);
    bb_pdf_free(pdf);

    snprintf(path, sizeof path, "%s/workbook.xlsx", dir);
    bb_xlsx_opts xo = {.title = "Sales report", .created_epoch = r.epoch, .log = log};
    bb_xlsx *wb = NULL;
    assert_int_equal(bb_xlsx_new(&wb, path, &xo), BB_OK);
    if (s->has_revenue) {
        bb_section_sales_sheets sh;
        assert_int_equal(bb_section_sales_xlsx_sheets(&r, wb, log, &sh), BB_OK);
        assert_string_equal(bb_xlsx_sheet_name(sh.monthly), "Monthly");
        assert_string_equal(bb_xlsx_sheet_name(sh.kpis), "KPIs");
        assert_non_null(sh.cohorts);
    } else {
        assert_int_equal(bb_section_sales_xlsx(&r, wb, log), BB_OK);
    }
    assert_int_equal(bb_xlsx_close(wb), BB_OK);

    cJSON *model = cJSON_CreateObject(), *partials = cJSON_CreateObject();
    assert_int_equal(bb_section_sales_html(&r, model, log), BB_OK);
    char *tpl = NULL;
    assert_int_equal(bb_report_template(&r, "sales.html", &tpl, log), BB_OK);
    cJSON_AddStringToObject(partials, "sales", tpl);
    bb_buf out;
    bb_buf_init(&out, 0);
    char err[256];
    assert_int_equal(bb_tpl_render(PAGE, strlen(PAGE), model, partials, &out, err, sizeof err), BB_OK);
    snprintf(path, sizeof path, "%s/report.html", dir);
    assert_int_equal(bb_fs_write_file(path, out.data, out.len), BB_OK);
    bb_buf_free(&out);
    free(tpl);
    cJSON_Delete(model);
    cJSON_Delete(partials);
    bb_summary_free(&sum);
    bb_log_free(log);
}

static void check_outputs(const char *dir, const char *const *pdf_words, const char *const *html_words)
{
    char *text = run_out("pdftotext -q -layout '%s/report.pdf' -", dir);
    for (size_t i = 0; pdf_words[i]; i++)
        if (!strstr(text, pdf_words[i]))
            fail_msg("report.pdf lacks %s", pdf_words[i]);
    free(text);
    char path[1024], *data;
    size_t len;
    snprintf(path, sizeof path, "%s/workbook.xlsx", dir);
    assert_int_equal(bb_fs_read_file(path, (size_t)64 << 20, &data, &len), BB_OK);
    assert_true(len > 4 && memcmp(data, "PK", 2) == 0);
    free(data);
    snprintf(path, sizeof path, "%s/report.html", dir);
    assert_int_equal(bb_fs_read_file(path, (size_t)64 << 20, &data, &len), BB_OK);
    assert_non_null(strstr(data, "<section id=\"sales\""));
    assert_null(strstr(data, "{{"));
    for (size_t i = 0; html_words[i]; i++)
        if (!strstr(data, html_words[i]))
            fail_msg("report.html lacks %s", html_words[i]);
    free(data);
}

static void with_dir(void (*body)(const char *dir, void *arg), void *arg, const char *name)
{
    const char *keep = getenv("BB_SALES_TEST_OUT");
    char dir[1024];
    if (keep && *keep) {
        snprintf(dir, sizeof dir, "%s/%s", keep, name);
        assert_int_equal(bb_fs_mkdirs(dir), BB_OK);
    } else {
        snprintf(dir, sizeof dir, "/tmp/bb_sales_render_XXXXXX");
        assert_non_null(mkdtemp(dir));
    }
    body(dir, arg);
    if (!(keep && *keep))
        bb_fs_rmtree(dir);
}

static void render_sample(const char *dir, void *arg)
{
    (void)arg;
    bb_dataset *ds = load_dir("data/sample");
    bb_sales *s = NULL;
    assert_int_equal(bb_sales_compute(ds, NULL, &s), BB_OK);
    render_all(ds, s, dir);
    static const char *const pdf[] = {"Sales", "Trends", "Categories", "Items", "Customers", "Staff", "Cohorts",
                                      "December 2025", "Revenue per customer", "No employee",
                                      "Total spend per customer", "Mean visit value", NULL};
    static const char *const html[] = {"<svg", "Repeat-customer rate", "Findings", "Haircut (Men&#39;s)",
                                       "No employee", NULL};
    check_outputs(dir, pdf, html);
    /* Every chart has its files. */
    static const char *const charts[] = {"daily", "monthly", "weekdays", "categories", "subcategories",
                                         "top_items", "bottom_items", "age", "cohorts"};
    for (size_t i = 0; i < sizeof charts / sizeof charts[0]; i++) {
        char path[1100];
        snprintf(path, sizeof path, "%s/charts/sales_%s.png", dir, charts[i]);
        assert_true(bb_fs_exists(path));
        snprintf(path, sizeof path, "%s/charts/sales_%s.svg", dir, charts[i]);
        assert_true(bb_fs_exists(path));
    }
    bb_sales_free(s);
    bb_dataset_free(ds);
}

static void render_no_prices(const char *dir, void *arg)
{
    (void)arg;
    bb_dataset *ds = load_text_opts(CUST, ITEMS, PURCH, "", "");
    bb_sales *s = NULL;
    assert_int_equal(bb_sales_compute(ds, NULL, &s), BB_OK);
    render_all(ds, s, dir);
    static const char *const pdf[] = {"Sales", "revenue is not known", "Units sold", NULL};
    static const char *const html[] = {"revenue is not known", NULL};
    check_outputs(dir, pdf, html);
    char *text = run_out("pdftotext -q '%s/report.pdf' -", dir);
    assert_null(strstr(text, "Revenue per customer"));
    free(text);
    bb_sales_free(s);
    bb_dataset_free(ds);
}

static void test_render_sample(void **state)
{
    (void)state;
    with_dir(render_sample, NULL, "sample");
}

static void test_render_no_prices(void **state)
{
    (void)state;
    with_dir(render_no_prices, NULL, "no_prices");
}

/* The section functions do nothing without sales results. */
static void test_render_absent(void **state)
{
    (void)state;
    bb_report r = {0};
    assert_int_equal(bb_section_sales_charts(&r, NULL), BB_OK);
    assert_int_equal(r.n_charts, 0);
    assert_int_equal(bb_section_sales_summary_pdf(&r, NULL), BB_OK);
    assert_int_equal(bb_section_sales_pdf(&r, NULL), BB_OK);
    assert_int_equal(bb_section_sales_xlsx(&r, NULL, NULL), BB_OK);
    cJSON *m = cJSON_CreateObject();
    assert_int_equal(bb_section_sales_html(&r, m, NULL), BB_OK);
    assert_null(cJSON_GetObjectItem(m, "sales"));
    cJSON_Delete(m);
}

/* ---- shared: the seed data ------------------------------------------------------ */

static void render_seed(const char *dir, void *arg)
{
    bb_dataset *ds = load_dir(arg);
    bb_sales *s = NULL;
    assert_int_equal(bb_sales_compute(ds, NULL, &s), BB_OK);
    render_all(ds, s, dir);
    static const char *const pdf[] = {"December 2023", "384,476.14", "Hair Coloring (Roots)", "26,218.80",
                                      "no change vs Nov 2023", NULL};
    static const char *const html[] = {"Hair Coloring (Roots)", "26,218.80", NULL};
    check_outputs(dir, pdf, html);
    bb_sales_free(s);
    bb_dataset_free(ds);
}

static void test_seed(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/data/seed", bb_test_shared_dir());
    bb_dataset *ds = load_dir(dir);
    for (int kind = 0; kind < 3; kind++) {
        bb_sales_opts o;
        bb_sales_defaults(&o);
        o.period = (bb_period_kind)kind;
        bb_sales *s = NULL;
        assert_int_equal(bb_sales_compute(ds, &o, &s), BB_OK);
        assert_int_equal(s->revenue_cents, 38447614);
        assert_string_equal(bb_intern_str(ds->item_names, ds->items.name[s->items[0].item]), "Hair Coloring (Roots)");
        assert_int_equal(s->items[0].revenue_cents, 2621880);
        for (size_t i = 0; i < s->n_categories; i++) {
            const char *name = bb_intern_str(ds->categories, s->categories[i].id);
            if (strcmp(name, "Service") == 0)
                assert_int_equal(s->categories[i].units, 3521);
            else
                assert_int_equal(s->categories[i].units, 2909);
        }
        assert_int_equal(s->n_categories, 2);
        brute_force_check(ds, s);
        bb_sales_free(s);
    }
    bb_dataset_free(ds);
    with_dir(render_seed, dir, "seed");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_periods),         cmocka_unit_test(test_small),
        cmocka_unit_test(test_brute_force),     cmocka_unit_test(test_many_employees),
        cmocka_unit_test(test_no_prices),
        cmocka_unit_test(test_no_customers_file), cmocka_unit_test(test_empty_and_options),
        cmocka_unit_test(test_render_absent),
        cmocka_unit_test(test_render_sample),   cmocka_unit_test(test_render_no_prices),
    };
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(test_seed),
    };
    return BB_TEST_RUN(argc, argv, unit, shared);
}
