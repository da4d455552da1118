/* Tests of the data summary: visits, monthly buckets, revenue, against a
 * brute-force recomputation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "analytics/summary.h"
#include "ingest/ingest.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/rng.h"

static bb_dataset *load_text(const char *customers, const char *items, const char *purchases)
{
    char dir[] = "/tmp/bb_analytics_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/customers.csv", dir);
    assert_int_equal(bb_fs_write_file(path, customers, strlen(customers)), BB_OK);
    snprintf(path, sizeof path, "%s/items.csv", dir);
    assert_int_equal(bb_fs_write_file(path, items, strlen(items)), BB_OK);
    snprintf(path, sizeof path, "%s/purchases.csv", dir);
    assert_int_equal(bb_fs_write_file(path, purchases, strlen(purchases)), BB_OK);
    bb_ingest_opts o;
    bb_ingest_defaults(&o);
    o.data_dir = dir;
    bb_dataset *ds;
    assert_int_equal(bb_ingest_load(&o, NULL, &ds, NULL), BB_OK);
    bb_fs_rmtree(dir);
    return ds;
}

static const char *CUST = "CustomerID,Age,Gender,RegistrationDate,ZipCode,EmailSubscription,SMSSubscription\n"
                          "A,30,F,2023-01-01,1,True,True\nB,40,M,2023-01-01,1,True,True\n"
                          "C,50,M,2023-01-01,1,True,True\n";
static const char *ITEMS = "ItemID,ItemName,ItemCategory,ItemSubcategory,UnitPrice\n"
                           "X,x,Service,S,10.00\nY,y,Product,P,5.00\n";

static void test_visits_and_months(void **state)
{
    (void)state;
    bb_dataset *ds = load_text(CUST, ITEMS,
                               "CustomerID,ItemID,Quantity,PurchaseDate,TotalPrice,EmployeeID\n"
                               "A,X,1,2023-03-31,10.00,E1\n"
                               "A,Y,2,2023-03-31,10.00,\n"  /* same visit */
                               "B,X,1,2023-01-15,10.00,E1\n"
                               "A,X,1,2023-01-15,10.00,E2\n"
                               "A,Y,1,2023-01-16,5.00,\n");
    bb_summary s;
    assert_int_equal(bb_summary_compute(ds, &s), BB_OK);
    assert_int_equal(s.purchases, 5);
    assert_int_equal(s.visits, 4);
    assert_int_equal(s.units, 6);
    assert_int_equal(s.revenue_cents, 4500);
    assert_int_equal(s.active_customers, 2);
    assert_int_equal(s.customers, 3);
    assert_int_equal(s.employees, 2);
    assert_int_equal(s.n_months, 3); /* January to March, February empty */
    assert_int_equal(s.months[0].visits, 3);
    assert_int_equal(s.months[0].customers, 2);
    assert_int_equal(s.months[0].revenue_cents, 2500);
    assert_int_equal(s.months[1].rows, 0);
    assert_int_equal(s.months[2].visits, 1);
    assert_int_equal(s.months[2].units, 3);
    bb_summary_free(&s);
    bb_dataset_free(ds);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Random purchases: visits equal the number of distinct (customer, day) pairs. */
static void test_visits_brute_force(void **state)
{
    (void)state;
    bb_buf p;
    bb_buf_init(&p, 0);
    bb_buf_puts(&p, "CustomerID,ItemID,Quantity,PurchaseDate,TotalPrice,EmployeeID\n");
    bb_rng rng;
    bb_rng_seed(&rng, 7, 0);
    const char *ids[] = {"A", "B", "C"};
    uint64_t keys[3000];
    for (int i = 0; i < 3000; i++) {
        int c = (int)bb_rng_below(&rng, 3);
        int d = 1 + (int)bb_rng_below(&rng, 28);
        int m = 1 + (int)bb_rng_below(&rng, 12);
        bb_buf_printf(&p, "%s,X,1,2023-%02d-%02d,1.00,\n", ids[c], m, d);
        keys[i] = (uint64_t)c << 32 | (uint64_t)(m * 100 + d);
    }
    qsort(keys, 3000, sizeof keys[0], cmp_u64);
    int64_t distinct = 0;
    for (int i = 0; i < 3000; i++)
        distinct += i == 0 || keys[i] != keys[i - 1];
    bb_dataset *ds = load_text(CUST, ITEMS, p.data);
    bb_buf_free(&p);
    bb_summary s;
    assert_int_equal(bb_summary_compute(ds, &s), BB_OK);
    assert_int_equal(s.visits, distinct);
    assert_int_equal(s.revenue_cents, 300000);
    int64_t month_visits = 0;
    for (size_t m = 0; m < s.n_months; m++)
        month_visits += s.months[m].visits;
    assert_int_equal(month_visits, distinct);
    bb_summary_free(&s);
    bb_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_visits_and_months),
        cmocka_unit_test(test_visits_brute_force),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
