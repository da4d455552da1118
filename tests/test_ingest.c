/* Tests of strict loading: typed columns, every rejection reason with its
 * quarantine line, thresholds, missing files and columns, derived tables, and
 * the real files in ../shared/data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bb_test.h"
#include "ingest/ingest.h"
#include "util/buf.h"
#include "util/fs.h"

static const char *CUSTOMERS =
    "CustomerID,Age,Gender,RegistrationDate,ZipCode,EmailSubscription,SMSSubscription\n"
    "C1,58,F,2022-12-07,90015,True,True\n"
    "C2,26,M,2021-02-08,90049,false,0\n"
    "C3,,,,,,\n";
static const char *ITEMS =
    "ItemID,ItemName,ItemCategory,ItemSubcategory,UnitPrice\n"
    "I1,Haircut,Service,Styling,38.55\n"
    "I2,\"Gel, strong\",Product,Styling,12.5\n";
static const char *PURCHASES =
    "CustomerID,ItemID,Quantity,PurchaseDate,TotalPrice,EmployeeID\n"
    "C1,I1,1,2023-05-04,38.55,Emp03\n"
    "C2,I2,3,2023-05-05,37.499999999,\n";

typedef struct fixture {
    char dir[64];
    char data[128];
    char quarantine[128];
    bb_log *log;
} fixture;

static void write_text(const fixture *f, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", f->data, name);
    assert_int_equal(bb_fs_write_file(path, text, strlen(text)), BB_OK);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/bb_ingest_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->data, sizeof f->data, "%s/data", f->dir);
    snprintf(f->quarantine, sizeof f->quarantine, "%s/quarantine", f->dir);
    assert_int_equal(bb_fs_mkdirs(f->data), BB_OK);
    assert_int_equal(bb_log_new(&f->log, NULL, BB_LOG_ERROR), BB_OK);
    write_text(f, "customers.csv", CUSTOMERS);
    write_text(f, "items.csv", ITEMS);
    write_text(f, "purchases.csv", PURCHASES);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    bb_fs_rmtree(f->dir);
    bb_log_free(f->log);
    free(f);
    return 0;
}

static bb_err load(fixture *f, bb_ingest_opts *o, bb_dataset **ds, bb_file_quality *q)
{
    o->data_dir = f->data;
    o->quarantine_dir = f->quarantine;
    return bb_ingest_load(o, f->log, ds, q);
}

static char *read_text(const char *path)
{
    char *s;
    size_t n;
    if (bb_fs_read_file(path, 1 << 24, &s, &n) != BB_OK)
        return NULL;
    return s;
}

static void test_good_files(void **state)
{
    fixture *f = *state;
    bb_ingest_opts o;
    bb_ingest_defaults(&o);
    bb_dataset *ds;
    assert_int_equal(load(f, &o, &ds, NULL), BB_OK);
    assert_int_equal(ds->customers.n, 3);
    assert_int_equal(ds->items.n, 2);
    assert_int_equal(ds->purchases.n, 2);
    assert_int_equal(ds->customers.age[0], 58);
    assert_int_equal(ds->customers.age[2], -1);
    assert_int_equal(ds->customers.email[1], 0);
    assert_int_equal(ds->customers.sms[0], 1);
    assert_int_equal(ds->customers.email[2], -1);
    assert_int_equal(ds->customers.registered[0], bb_date_from_ymd(2022, 12, 7));
    assert_int_equal(ds->quality[BB_FILE_CUSTOMERS].missing[BB_COL_CUST_AGE], 1);
    assert_string_equal(bb_intern_str(ds->item_names, ds->items.name[1]), "Gel, strong");
    assert_int_equal(ds->items.unit_price_cents[1], 1250);
    /* Service/Styling and Product/Styling are two subcategories with one name. */
    assert_int_not_equal(ds->items.subcategory[0], ds->items.subcategory[1]);
    assert_string_equal(bb_dataset_subcategory_name(ds, ds->items.subcategory[1]), "Styling");
    assert_int_equal(ds->purchases.total_cents[1], 3750);
    assert_int_equal(ds->purchases.quantity[1], 3);
    assert_int_equal(ds->purchases.employee[1], BB_UNKNOWN);
    assert_string_equal(bb_intern_str(ds->employees, ds->purchases.employee[0]), "Emp03");
    assert_int_equal(ds->as_of, bb_date_from_ymd(2023, 5, 5));
    assert_true(ds->as_of_derived);
    assert_int_equal(ds->price_source, BB_PRICE_TOTAL);
    assert_int_equal(ds->quality[BB_FILE_PURCHASES].rejected, 0);
    assert_int_equal(strlen(ds->quality[BB_FILE_PURCHASES].sha256), 64);
    assert_false(bb_fs_exists(f->quarantine)); /* nothing rejected, nothing written */
    bb_dataset_free(ds);
}

static void test_bom_crlf_and_order(void **state)
{
    fixture *f = *state;
    /* Columns in another order, an extra column, BOM, CRLF. */
    write_text(f, "purchases.csv",
               "\xef\xbb\xbf" "PurchaseDate,Note,ItemID,CustomerID,TotalPrice,Quantity,EmployeeID\r\n"
               "2023-05-04,\"hello, world\",I1,C1,104.72999999999999,1,Emp01\r\n");
    bb_ingest_opts o;
    bb_ingest_defaults(&o);
    bb_dataset *ds;
    assert_int_equal(load(f, &o, &ds, NULL), BB_OK);
    assert_int_equal(ds->purchases.n, 1);
    assert_int_equal(ds->purchases.total_cents[0], 10473);
    assert_true(ds->quality[BB_FILE_PURCHASES].bom);
    assert_true(ds->quality[BB_FILE_PURCHASES].crlf);
    bb_dataset_free(ds);
}

/* One bad row per reason; each must be rejected with its reason, column and line. */
static void test_rejections(void **state)
{
    fixture *f = *state;
    bb_buf p;
    bb_buf_init(&p, 0);
    bb_buf_puts(&p, "CustomerID,ItemID,Quantity,PurchaseDate,TotalPrice,EmployeeID\n");
    for (int i = 0; i < 300; i++) /* enough good rows to stay under a 5 % threshold */
        bb_buf_puts(&p, "C1,I1,1,2023-05-04,38.55,Emp03\n");
    bb_buf_puts(&p,
                "C9,I1,1,2023-05-04,1.00,\n"            /* 302 unknown customer */
                "C1,I9,1,2023-05-04,1.00,\n"            /* 303 unknown item */
                "C1,I1,-2,2023-05-04,1.00,\n"           /* 304 quantity range */
                "C1,I1,two,2023-05-04,1.00,\n"          /* 305 not integer */
                "C1,I1,1,2023-02-30,1.00,\n"            /* 306 not a date */
                "C1,I1,1,2023-05-04,-1.00,\n"           /* 307 negative price */
                "C1,I1,1,2023-05-04,$1,\n"              /* 308 not money */
                "C1,I1,1,2023-05-04\n"                  /* 309 field count */
                ",I1,1,2023-05-04,1.00,\n"              /* 310 missing customer */
                "C1,I1,1,2023-05-04,\"=cmd|' /C calc'!A0\",\n" /* 311 formula text, not money */
                "C1,I\xff,1,2023-05-04,1.00,\n"         /* 312 invalid UTF-8 */
                "C1,\"I1\" x,1,2023-05-04,1.00,\n"      /* 313 malformed CSV */
                "C1,I1,1,2023-05-04,1.00,\n");          /* 314 good */
    write_text(f, "purchases.csv", p.data);
    bb_buf_free(&p);
    bb_ingest_opts o;
    bb_ingest_defaults(&o);
    o.reject_threshold = 0.05;
    bb_dataset *ds;
    assert_int_equal(load(f, &o, &ds, NULL), BB_OK);
    const bb_file_quality *q = &ds->quality[BB_FILE_PURCHASES];
    assert_int_equal(ds->purchases.n, 301);
    assert_int_equal(q->rows, 313);
    assert_int_equal(q->rejected, 12);
    assert_int_equal(q->by_reason[BB_REJ_UNKNOWN_CUSTOMER], 1);
    assert_int_equal(q->by_reason[BB_REJ_UNKNOWN_ITEM], 1);
    assert_int_equal(q->by_reason[BB_REJ_RANGE], 2);
    assert_int_equal(q->by_reason[BB_REJ_NOT_INTEGER], 1);
    assert_int_equal(q->by_reason[BB_REJ_NOT_DATE], 1);
    assert_int_equal(q->by_reason[BB_REJ_NOT_MONEY], 2);
    assert_int_equal(q->by_reason[BB_REJ_FIELD_COUNT], 1);
    assert_int_equal(q->by_reason[BB_REJ_MISSING], 1);
    assert_int_equal(q->by_reason[BB_REJ_UTF8], 1);
    assert_int_equal(q->by_reason[BB_REJ_MALFORMED], 1);

    char *text = read_text(q->quarantine_path);
    assert_non_null(text);
    assert_non_null(strstr(text, "line,column,reason,message,CustomerID,ItemID,Quantity,PurchaseDate,TotalPrice,EmployeeID\n"));
    assert_non_null(strstr(text, "302,1 CustomerID,unknown_customer,"));
    assert_non_null(strstr(text, "303,2 ItemID,unknown_item,"));
    assert_non_null(strstr(text, "304,3 Quantity,out_of_range,"));
    assert_non_null(strstr(text, ",C1,I1,-2,2023-05-04,1.00,\n")); /* "-2" is kept a number */
    assert_non_null(strstr(text, "306,4 PurchaseDate,not_date,"));
    assert_non_null(strstr(text, "309,,field_count,"));
    assert_non_null(strstr(text, "312,2 ItemID,invalid_utf8,"));
    assert_non_null(strstr(text, "313,,malformed_csv,"));
    /* The formula is defused for spreadsheets: a leading apostrophe inside quotes. */
    assert_non_null(strstr(text, "\"'=cmd|' /C calc'!A0\""));
    assert_null(strstr(text, ",=cmd"));
    free(text);
    bb_dataset_free(ds);
}

static void test_threshold(void **state)
{
    fixture *f = *state;
    write_text(f, "purchases.csv",
               "CustomerID,ItemID,Quantity,PurchaseDate,TotalPrice,EmployeeID\n"
               "C1,I1,1,2023-05-04,38.55,Emp03\n"
               "C1,I1,0,2023-05-04,38.55,Emp03\n");
    bb_ingest_opts o;
    bb_ingest_defaults(&o);
    bb_dataset *ds;
    bb_file_quality q[BB_FILE__COUNT];
    assert_int_equal(load(f, &o, &ds, q), BB_ERR_DATA);
    assert_null(ds);
    assert_int_equal(q[BB_FILE_PURCHASES].rejected, 1);
    assert_true(bb_fs_exists(q[BB_FILE_PURCHASES].quarantine_path));
    o.reject_threshold = 0.5; /* exactly at the threshold passes */
    assert_int_equal(load(f, &o, &ds, q), BB_OK);
    bb_dataset_free(ds);
}

static void test_missing_inputs(void **state)
{
    fixture *f = *state;
    bb_ingest_opts o;
    bb_ingest_defaults(&o);
    bb_dataset *ds;
    /* A required column missing fails at once. */
    write_text(f, "purchases.csv", "CustomerID,ItemID,PurchaseDate,TotalPrice,EmployeeID\n"
                                   "C1,I1,2023-05-04,38.55,Emp03\n");
    assert_int_equal(load(f, &o, &ds, NULL), BB_ERR_NOINPUT);
    /* ... unless the mapping says the export has no such column. */
    o.file[BB_FILE_PURCHASES].column[BB_COL_PUR_QUANTITY] = "";
    assert_int_equal(load(f, &o, &ds, NULL), BB_OK);
    assert_int_equal(ds->purchases.quantity[0], 1);
    assert_false(ds->has_quantity);
    bb_dataset_free(ds);
    /* An empty purchases file. */
    write_text(f, "purchases.csv", "");
    assert_int_equal(load(f, &o, &ds, NULL), BB_ERR_DATA);
    /* A header and no rows. */
    write_text(f, "purchases.csv", "CustomerID,ItemID,PurchaseDate,TotalPrice,EmployeeID\n");
    assert_int_equal(load(f, &o, &ds, NULL), BB_ERR_DATA);
    /* No purchases file at all. */
    char path[256];
    snprintf(path, sizeof path, "%s/purchases.csv", f->data);
    unlink(path);
    assert_int_equal(load(f, &o, &ds, NULL), BB_ERR_NOINPUT);
    /* A bad date pattern in the config. */
    write_text(f, "purchases.csv", PURCHASES);
    bb_ingest_defaults(&o);
    o.file[BB_FILE_PURCHASES].date_format = "YYYY-QQ";
    assert_int_equal(load(f, &o, &ds, NULL), BB_ERR_CONFIG);
}

static void test_derived_tables(void **state)
{
    fixture *f = *state;
    char path[256];
    snprintf(path, sizeof path, "%s/customers.csv", f->data);
    unlink(path);
    snprintf(path, sizeof path, "%s/items.csv", f->data);
    unlink(path);
    bb_ingest_opts o;
    bb_ingest_defaults(&o);
    bb_dataset *ds;
    assert_int_equal(load(f, &o, &ds, NULL), BB_OK);
    assert_true(ds->quality[BB_FILE_CUSTOMERS].derived);
    assert_true(ds->quality[BB_FILE_ITEMS].derived);
    assert_int_equal(ds->customers.n, 2);
    assert_int_equal(ds->items.n, 2);
    assert_int_equal(ds->customers.age[0], -1);
    assert_string_equal(bb_intern_str(ds->item_names, ds->items.name[0]), "I1");
    bb_dataset_free(ds);
}

static void test_as_of(void **state)
{
    fixture *f = *state;
    bb_ingest_opts o;
    bb_ingest_defaults(&o);
    o.as_of = bb_date_from_ymd(2023, 5, 4);
    o.reject_threshold = 0.5;
    bb_dataset *ds;
    assert_int_equal(load(f, &o, &ds, NULL), BB_OK);
    assert_int_equal(ds->purchases.n, 1);
    assert_int_equal(ds->quality[BB_FILE_PURCHASES].by_reason[BB_REJ_AFTER_AS_OF], 1);
    assert_false(ds->as_of_derived);
    bb_dataset_free(ds);
}

/* ---- real files ---- */

static void shared_path(char *out, size_t size, const char *rel)
{
    snprintf(out, size, "%s/%s", bb_test_shared_dir(), rel);
}

static void test_seed(void **state)
{
    fixture *f = *state;
    char dir[1024];
    shared_path(dir, sizeof dir, "data/seed");
    bb_ingest_opts o;
    bb_ingest_defaults(&o);
    o.data_dir = dir;
    o.quarantine_dir = f->quarantine;
    bb_dataset *ds;
    assert_int_equal(bb_ingest_load(&o, f->log, &ds, NULL), BB_OK);
    assert_int_equal(ds->customers.n, 500);
    assert_int_equal(ds->items.n, 69);
    assert_int_equal(ds->purchases.n, 5000);
    for (int k = 0; k < BB_FILE__COUNT; k++)
        assert_int_equal(ds->quality[k].rejected, 0);
    int64_t total = 0;
    for (size_t i = 0; i < ds->purchases.n; i++)
        total += ds->purchases.total_cents[i];
    assert_int_equal(total, 38447614); /* 384,476.14 */
    assert_int_equal(ds->as_of, bb_date_from_ymd(2023, 12, 31));
    bb_dataset_free(ds);
}

static void groceries_opts(bb_ingest_opts *o, const char *dir, const char *file)
{
    bb_ingest_defaults(o);
    o->data_dir = dir;
    o->file[BB_FILE_PURCHASES].file = file;
    o->file[BB_FILE_PURCHASES].date_format = "DD-MM-YYYY";
    const char **c = o->file[BB_FILE_PURCHASES].column;
    c[BB_COL_PUR_CUSTOMER] = "Member_number";
    c[BB_COL_PUR_ITEM] = "itemDescription";
    c[BB_COL_PUR_DATE] = "Date";
    c[BB_COL_PUR_QUANTITY] = "";
    c[BB_COL_PUR_TOTAL] = "";
    c[BB_COL_PUR_EMPLOYEE] = "";
}

static void test_groceries(void **state)
{
    fixture *f = *state;
    char dir[1024];
    shared_path(dir, sizeof dir, "data/groceries");
    bb_ingest_opts o;
    groceries_opts(&o, dir, "Groceries_dataset.csv");
    o.quarantine_dir = f->quarantine;
    bb_dataset *ds;
    assert_int_equal(bb_ingest_load(&o, f->log, &ds, NULL), BB_OK);
    assert_int_equal(ds->purchases.n, 38765);
    assert_int_equal(ds->quality[BB_FILE_PURCHASES].rejected, 0);
    assert_int_equal(ds->customers.n, 3898);
    assert_true(ds->quality[BB_FILE_PURCHASES].crlf);
    assert_int_equal(ds->price_source, BB_PRICE_NONE);
    assert_int_equal(ds->first_day, bb_date_from_ymd(2014, 1, 1));
    assert_int_equal(ds->last_day, bb_date_from_ymd(2015, 12, 30));
    bb_dataset_free(ds);

    /* The dirty twin: exactly the 54 rows with a blank member, date or item. */
    groceries_opts(&o, dir, "Groceries_dataset_dirty55blanks.csv");
    o.quarantine_dir = f->quarantine;
    assert_int_equal(bb_ingest_load(&o, f->log, &ds, NULL), BB_OK);
    const bb_file_quality *q = &ds->quality[BB_FILE_PURCHASES];
    assert_int_equal(q->rejected, 54);
    assert_int_equal(q->by_reason[BB_REJ_MISSING], 54);
    assert_int_equal(ds->purchases.n, 38765 - 54);
    char *text = read_text(q->quarantine_path);
    assert_non_null(text);
    int lines = 0;
    for (char *p = text; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 55); /* header + 54 */
    assert_non_null(strstr(text, "1159,1 Member_number,missing_value,")); /* the wholly blank row */
    assert_non_null(strstr(text, "289,1 Member_number,missing_value,a customer ID is required,,27-06-2015,liquor (appetizer)\n"));
    free(text);
    bb_dataset_free(ds);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test_setup_teardown(test_good_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bom_crlf_and_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threshold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_inputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_derived_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_as_of, setup, teardown),
    };
    const struct CMUnitTest shared[] = {
        cmocka_unit_test_setup_teardown(test_seed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_groceries, setup, teardown),
    };
    return BB_TEST_RUN(argc, argv, unit, shared);
}
