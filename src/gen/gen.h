/*
 * gen.h - a synthetic salon dataset in the input schema (`bbreport gen`).
 *
 * bb_gen_write() writes OUT/customers.csv, OUT/items.csv and OUT/purchases.csv
 * exactly as the original system exports them (see README: input files):
 *
 *     customers.csv  CustomerID,Age,Gender,RegistrationDate,ZipCode,EmailSubscription,SMSSubscription
 *     items.csv      ItemID,ItemName,ItemCategory,ItemSubcategory,UnitPrice
 *     purchases.csv  CustomerID,ItemID,Quantity,PurchaseDate,TotalPrice,EmployeeID
 *
 * Guarantees (tests rely on them):
 *   - exactly `customers` customers, `items` items and `purchases` purchase
 *     rows; IDs are Cust/Item + the 1-based number zero-padded to
 *     max(4, digits of the count); every purchase names a listed customer and
 *     item;
 *   - purchases are in ascending PurchaseDate order, all within
 *     [start_day, end_day]; a customer's RegistrationDate is on or before
 *     their first purchase and on or before end_day;
 *   - services have Quantity 1 and an EmployeeID (Emp01..); products have
 *     Quantity 1..3 and an empty EmployeeID; TotalPrice is UnitPrice x
 *     Quantity, or 10-20 % less for a discounted row; money has 2 decimals;
 *   - item names are distinct, CSV-quoted when they hold ',' or '"' (at least
 *     one always does once items >= 2); the subcategories Styling and Makeup
 *     exist under both Service and Product;
 *   - the output is a pure function of (customers, items, purchases, seed,
 *     start_day, end_day): byte-identical on every run and machine with the
 *     same libm. Each random choice draws from bb_rng.
 *
 * What the data holds for models and reports to find: 1-3 favourite
 * subcategories per customer, a preferred stylist, a per-customer visit
 * cadence with jitter, heavy and light customers (log-normal activity), ~5 %
 * customers who never buy, ~15 % who stop buying at some date, new
 * registrations every month, price-sensitive customers (cheaper items,
 * discounts), services bought together with related products (coloring with
 * color-safe care, waxing with after-wax lotion), a December peak and summer
 * dip, Saturday the busiest day and Sunday the quietest, closed on Dec 25 and
 * Jan 1.
 *
 * Memory is O(customers + items), about 40 bytes a customer: purchases
 * stream out in date order from a queue of each customer's next visit day,
 * and are never held. Each file is written under a temporary name in OUT
 * (".<name>.<pid>.tmp") and renamed into place only when all three are
 * complete, so OUT never holds a half-written file under a final name.
 *
 *     bb_gen_opts o;
 *     bb_gen_defaults(&o);
 *     char msg[256];
 *     bb_err e = bb_gen_parse_args(argc - 2, argv + 2, &o, msg, sizeof msg);
 *     if (e == BB_OK && o.help)
 *         fputs(bb_gen_usage(), stdout);
 *     else if (e == BB_OK)
 *         e = bb_gen_write(&o, log);
 *     else
 *         fprintf(stderr, "bbreport gen: %s\n", msg);
 */
#ifndef BB_GEN_H
#define BB_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/log.h"

#define BB_GEN_DEFAULT_CUSTOMERS 500
#define BB_GEN_DEFAULT_ITEMS 80
#define BB_GEN_DEFAULT_PURCHASES 5000
#define BB_GEN_DEFAULT_SEED 42
#define BB_GEN_DEFAULT_START "2023-01-01"
#define BB_GEN_DEFAULT_END "2025-12-31"

/* Caps that keep memory bounded (about 40 bytes a customer, 100 an item). */
#define BB_GEN_MAX_CUSTOMERS 100000000ULL
#define BB_GEN_MAX_ITEMS 1000000ULL
#define BB_GEN_MAX_PURCHASES 10000000000ULL
#define BB_GEN_MAX_SPAN_DAYS 36600   /* end_day - start_day */

typedef struct bb_gen_opts {
    uint64_t customers;   /* >= 1 */
    uint64_t items;       /* >= 2: at least one service and one product */
    uint64_t purchases;   /* rows of purchases.csv; 0 writes the header only */
    uint64_t seed;
    int32_t start_day;    /* first possible PurchaseDate (util/date.h day number) */
    int32_t end_day;      /* last possible PurchaseDate, >= start_day */
    const char *out_dir;  /* created when missing; not owned */
    bool help;            /* --help was given: print bb_gen_usage(), write nothing */
} bb_gen_opts;

/* The defaults above; out_dir NULL (it must be given). */
void bb_gen_defaults(bb_gen_opts *o);

/* Parses gen's options: argv[0..argc) are the words after "gen" (no program
 * or command name). Accepts "--name value" and "--name=value"; later options
 * win; fields not named keep their values, so defaults (and a config) go in
 * first. String values point into argv. With --help, no other check is made.
 * On error returns BB_ERR_USAGE with a one-line message in err. */
bb_err bb_gen_parse_args(int argc, char **argv, bb_gen_opts *o, char *err, size_t errsize);

/* Help text for `bbreport gen --help`, with the defaults. Static storage. */
const char *bb_gen_usage(void);

/* Checks options without writing anything: BB_ERR_USAGE with a message in
 * err (may be NULL when errsize is 0). */
bb_err bb_gen_check(const bb_gen_opts *o, char *err, size_t errsize);

/* Writes the three files into o->out_dir (see the guarantees above). Errors:
 * BB_ERR_USAGE (bad options), BB_ERR_CANTCREAT (directory or file cannot be
 * created), BB_ERR_IO (write failed, e.g. disk full), BB_ERR_NOMEM. A
 * failure before the final renames leaves earlier files in OUT untouched; no
 * temporary file is left behind. Details go to log (may be NULL). */
bb_err bb_gen_write(const bb_gen_opts *o, bb_log *log);

#endif
