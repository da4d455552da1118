/*
 * ingest.h - reading the three input files into a bb_dataset, strictly.
 *
 * Files are found in a data directory by configured names; columns are found
 * by header name (configurable per file, so another system's export is read
 * without editing it); extra columns are ignored. A mapped column missing
 * from the header fails at once (BB_ERR_NOINPUT) naming file and column; a
 * role mapped to "" means "this export has no such column" and its default
 * applies (quantity 1, no employee, list price, or no price at all).
 *
 * Every data row is checked: field count, UTF-8, types (integers, money,
 * dates in the file's date format, booleans), ranges (age 0..120, quantity
 * 1..1,000,000, prices >= 0), dates not after an explicit as-of date, unique
 * IDs in customers and items, known CustomerID and ItemID in purchases. A row
 * failing a check is rejected: a message naming file, line and column goes to
 * the log (the first log_rejects per file, then a count), the row goes to
 * <quarantine_dir>/<file>.rejects.csv as
 *     line,column,reason,message,<the original fields>
 * and reading goes on. When the rejected share of a file exceeds
 * reject_threshold, the load fails with BB_ERR_DATA after that file.
 *
 * customers.csv and items.csv are optional: when absent, customers and items
 * are derived from the IDs in purchases (quality[f].derived is set).
 *
 *     bb_ingest_opts o;
 *     bb_ingest_defaults(&o);
 *     o.data_dir = "data/sample";
 *     o.quarantine_dir = "out/runs/.tmp/quarantine";
 *     bb_dataset *ds;
 *     bb_file_quality q[BB_FILE__COUNT];
 *     bb_err e = bb_ingest_load(&o, log, &ds, q);
 */
#ifndef BB_INGEST_H
#define BB_INGEST_H

#include "ingest/dataset.h"
#include "util/date.h"
#include "util/err.h"
#include "util/log.h"

enum {
    BB_COL_CUST_ID = 0, BB_COL_CUST_AGE, BB_COL_CUST_GENDER, BB_COL_CUST_REGISTERED,
    BB_COL_CUST_ZIP, BB_COL_CUST_EMAIL, BB_COL_CUST_SMS, BB_COL_CUST__COUNT
};
enum {
    BB_COL_ITEM_ID = 0, BB_COL_ITEM_NAME, BB_COL_ITEM_CATEGORY, BB_COL_ITEM_SUBCATEGORY,
    BB_COL_ITEM_PRICE, BB_COL_ITEM__COUNT
};
enum {
    BB_COL_PUR_CUSTOMER = 0, BB_COL_PUR_ITEM, BB_COL_PUR_QUANTITY, BB_COL_PUR_DATE,
    BB_COL_PUR_TOTAL, BB_COL_PUR_EMPLOYEE, BB_COL_PUR__COUNT
};

typedef struct bb_ingest_file_opts {
    const char *file;                    /* name in the data directory */
    char delimiter;
    const char *date_format;             /* see util/date.h, e.g. "YYYY-MM-DD" */
    const char *column[BB_MAX_COLUMNS];  /* header name per role; NULL or "" = absent */
} bb_ingest_file_opts;

typedef struct bb_ingest_opts {
    const char *data_dir;
    const char *quarantine_dir;  /* NULL: rejected rows are counted and logged only */
    double reject_threshold;     /* allowed rejected share per file, e.g. 0.01 */
    int32_t as_of;               /* BB_DATE_NONE: the last purchase date */
    size_t max_record_bytes;
    unsigned log_rejects;        /* rejects logged one by one per file */
    /* Called while a file is read: its name, bytes read, its size. May be NULL. */
    void (*progress)(void *user, const char *file, uint64_t done, uint64_t total);
    void *progress_user;
    bb_ingest_file_opts file[BB_FILE__COUNT];
} bb_ingest_opts;

/* The original system's schema (see README: input files). */
void bb_ingest_defaults(bb_ingest_opts *o);
/* Number of column roles of a file, and their names as used in config keys. */
int bb_ingest_role_count(bb_file_kind f);
const char *bb_ingest_role_key(bb_file_kind f, int role);
const char *bb_ingest_file_key(bb_file_kind f);  /* "customers", "items", "purchases" */

/* Loads the dataset. quality (may be NULL) receives what was seen of each
 * file even when the load fails, for the failure report. *out is NULL on
 * failure. */
bb_err bb_ingest_load(const bb_ingest_opts *o, bb_log *log, bb_dataset **out,
                      bb_file_quality quality[BB_FILE__COUNT]);

#endif
