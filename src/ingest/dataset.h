/*
 * dataset.h - the immutable, typed, columnar input every stage reads.
 *
 * Layout: one struct of arrays per table, row i of a table is index i in each
 * of its arrays. Strings are interned (util/intern.h): a customer, item,
 * category, subcategory, gender, zip code or employee is a dense uint32 id,
 * and its text is bb_intern_str(table, id). Money is int64 cents, dates are
 * int32 day numbers (util/date.h), unknown values have explicit sentinels
 * (BB_UNKNOWN for ids, BB_DATE_NONE for dates, -1 for ages, prices and flags).
 *
 * Subcategories are keyed by category AND name, so Service/Styling and
 * Product/Styling stay two subcategories: the interned key is
 * "<category id>:<name>" and bb_dataset_subcategory_name() returns the name.
 *
 * A dataset is built by ingest (ingest.h) and then only read. It owns all its
 * memory; bb_dataset_free() releases it.
 */
#ifndef BB_DATASET_H
#define BB_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/intern.h"

#define BB_UNKNOWN UINT32_MAX

typedef enum bb_reject_reason {
    BB_REJ_MALFORMED = 0,   /* CSV syntax */
    BB_REJ_TOO_LONG,
    BB_REJ_FIELD_COUNT,
    BB_REJ_UTF8,
    BB_REJ_MISSING,
    BB_REJ_NOT_INTEGER,
    BB_REJ_NOT_MONEY,
    BB_REJ_NOT_DATE,
    BB_REJ_NOT_BOOL,
    BB_REJ_RANGE,
    BB_REJ_AFTER_AS_OF,
    BB_REJ_DUPLICATE,
    BB_REJ_UNKNOWN_CUSTOMER,
    BB_REJ_UNKNOWN_ITEM,
    BB_REJ__COUNT
} bb_reject_reason;

/* Stable machine code ("unknown_item") and human label ("unknown ItemID"). */
const char *bb_reject_code(bb_reject_reason r);
const char *bb_reject_label(bb_reject_reason r);

typedef enum bb_file_kind { BB_FILE_CUSTOMERS = 0, BB_FILE_ITEMS, BB_FILE_PURCHASES, BB_FILE__COUNT } bb_file_kind;

#define BB_MAX_COLUMNS 8

/* What ingest saw of one input file: shown in the data-quality section. */
typedef struct bb_file_quality {
    char name[256];            /* file name as configured, e.g. "purchases.csv" */
    char path[1024];           /* full path read ("" when absent) */
    bool present;              /* the file was read */
    bool derived;              /* absent: the table was derived from purchases */
    uint64_t bytes, lines, rows, accepted, rejected, blank_lines;
    bool bom, crlf;
    char sha256[65];
    uint64_t by_reason[BB_REJ__COUNT];
    /* empty optional values per column role (see ingest.h roles) */
    uint64_t missing[BB_MAX_COLUMNS];
    char quarantine_path[1024]; /* "" when nothing was rejected */
    double threshold;          /* allowed rejected share */
} bb_file_quality;

typedef struct bb_customers {
    uint32_t n;
    bb_intern *ids;
    int16_t *age;              /* -1 unknown */
    uint32_t *gender;          /* id in bb_dataset.genders or BB_UNKNOWN */
    int32_t *registered;       /* day or BB_DATE_NONE */
    uint32_t *zip;             /* id in bb_dataset.zips or BB_UNKNOWN */
    int8_t *email, *sms;       /* 1 subscribed, 0 not, -1 unknown */
} bb_customers;

typedef struct bb_items {
    uint32_t n;
    bb_intern *ids;
    uint32_t *name;            /* id in bb_dataset.item_names */
    uint32_t *category;        /* id in bb_dataset.categories */
    uint32_t *subcategory;     /* id in bb_dataset.subcategories */
    int64_t *unit_price_cents; /* -1 unknown */
} bb_items;

typedef enum bb_price_source {
    BB_PRICE_TOTAL = 0,        /* the purchases file has a total price column */
    BB_PRICE_LIST,             /* no total column: list price x quantity */
    BB_PRICE_NONE,             /* no prices at all: revenue is unknown */
} bb_price_source;

typedef struct bb_purchases {
    size_t n;
    uint32_t *customer;
    uint32_t *item;
    int32_t *quantity;
    int32_t *day;
    int64_t *total_cents;      /* 0 when price_source is BB_PRICE_NONE */
    uint32_t *employee;        /* id in bb_dataset.employees or BB_UNKNOWN (none) */
} bb_purchases;

typedef struct bb_dataset {
    bb_customers customers;
    bb_items items;
    bb_purchases purchases;
    bb_intern *genders, *zips, *item_names, *categories, *subcategories, *employees;
    bb_price_source price_source;
    bool has_quantity;         /* false: every row counted as one unit */
    int32_t first_day, last_day;   /* purchase date range (BB_DATE_NONE if no purchases) */
    int32_t as_of;
    bool as_of_derived;        /* true: as_of is the last purchase date */
    uint64_t registered_after_as_of;
    bb_file_quality quality[BB_FILE__COUNT];
} bb_dataset;

void bb_dataset_free(bb_dataset *ds);
/* Display name of a subcategory (without its category key). */
const char *bb_dataset_subcategory_name(const bb_dataset *ds, uint32_t id);
/* Bytes held by the dataset's arrays and string tables. */
size_t bb_dataset_bytes(const bb_dataset *ds);

#endif
