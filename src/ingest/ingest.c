/*
 * ingest.c - one loader per input file, fed by the streaming CSV reader.
 *
 * Files are read in dependency order: customers, items, then purchases, whose
 * CustomerID and ItemID must name a row of the first two (unless a table is
 * derived). A data row is first parsed completely into locals and only then
 * committed to the dataset's columns, so a rejected row leaves no trace but
 * its quarantine line and its count.
 */
#include "ingest/ingest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/csv.h"
#include "ingest/field.h"
#include "util/buf.h"
#include "util/csvw.h"
#include "util/fmt.h"
#include "util/fs.h"
#include "util/utf8.h"

static const char *const file_keys[BB_FILE__COUNT] = {"customers", "items", "purchases"};

static const char *const role_keys[BB_FILE__COUNT][BB_MAX_COLUMNS] = {
    [BB_FILE_CUSTOMERS] = {"id", "age", "gender", "registration_date", "zip", "email", "sms"},
    [BB_FILE_ITEMS] = {"id", "name", "category", "subcategory", "unit_price"},
    [BB_FILE_PURCHASES] = {"customer_id", "item_id", "quantity", "date", "total_price",
                           "employee_id"},
};

static const int role_counts[BB_FILE__COUNT] = {BB_COL_CUST__COUNT, BB_COL_ITEM__COUNT,
                                                BB_COL_PUR__COUNT};

int bb_ingest_role_count(bb_file_kind f)
{
    return (unsigned)f < BB_FILE__COUNT ? role_counts[f] : 0;
}

const char *bb_ingest_role_key(bb_file_kind f, int role)
{
    if ((unsigned)f >= BB_FILE__COUNT || role < 0 || role >= role_counts[f])
        return NULL;
    return role_keys[f][role];
}

const char *bb_ingest_file_key(bb_file_kind f)
{
    return (unsigned)f < BB_FILE__COUNT ? file_keys[f] : NULL;
}

void bb_ingest_defaults(bb_ingest_opts *o)
{
    memset(o, 0, sizeof *o);
    o->data_dir = "data/sample";
    o->reject_threshold = 0.01;
    o->as_of = BB_DATE_NONE;
    o->max_record_bytes = (size_t)1 << 20;
    o->log_rejects = 20;
    static const char *const cust[] = {"CustomerID", "Age", "Gender", "RegistrationDate",
                                       "ZipCode", "EmailSubscription", "SMSSubscription"};
    static const char *const items[] = {"ItemID", "ItemName", "ItemCategory", "ItemSubcategory",
                                        "UnitPrice"};
    static const char *const pur[] = {"CustomerID", "ItemID", "Quantity", "PurchaseDate",
                                      "TotalPrice", "EmployeeID"};
    static const char *const files[] = {"customers.csv", "items.csv", "purchases.csv"};
    for (int f = 0; f < BB_FILE__COUNT; f++) {
        o->file[f].file = files[f];
        o->file[f].delimiter = ',';
        o->file[f].date_format = "YYYY-MM-DD";
    }
    for (int r = 0; r < BB_COL_CUST__COUNT; r++)
        o->file[BB_FILE_CUSTOMERS].column[r] = cust[r];
    for (int r = 0; r < BB_COL_ITEM__COUNT; r++)
        o->file[BB_FILE_ITEMS].column[r] = items[r];
    for (int r = 0; r < BB_COL_PUR__COUNT; r++)
        o->file[BB_FILE_PURCHASES].column[r] = pur[r];
}

/* ------------------------------------------------------------------------ */

typedef struct loader {
    const bb_ingest_opts *o;
    bb_log *log;
    bb_dataset *ds;
    bb_file_kind kind;
    bb_file_quality *q;
    const bb_ingest_file_opts *fo;
    bb_date_fmt datefmt;
    int col[BB_MAX_COLUMNS];     /* field index of each role, -1 when not mapped */
    size_t header_n;
    char **header;               /* copies of the header names */
    FILE *quarantine;
    bb_buf line;                 /* a quarantine line being assembled */
    size_t cap;                  /* capacity of the table's column arrays */
    bool derive_customers, derive_items;
    bb_err fatal;                /* set by the header check: stop reading */
    long long file_size;         /* of the file being read, for progress */
} loader;

static bool mapped(const char *name)
{
    return name && name[0];
}

/* Quotes a value for a message: at most 40 characters; control bytes, and
 * every non-ASCII byte when the text is not valid UTF-8, become '?'. */
static const char *show(char out[static 64], const char *s, size_t n)
{
    bool utf8 = bb_utf8_valid(s, n, NULL);
    size_t keep = utf8 ? bb_utf8_prefix(s, n, 40) : (n < 40 ? n : 40);
    size_t k = 0;
    out[k++] = '"';
    for (size_t i = 0; i < keep && k < 58; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = c >= 0x20 && c != 0x7f && (utf8 || c < 0x80);
        out[k++] = ok ? (char)c : '?';
    }
    if (keep < n) {
        out[k++] = '.';
        out[k++] = '.';
        out[k++] = '.';
    }
    out[k++] = '"';
    out[k] = '\0';
    return out;
}

static bool same_ignoring_case(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a + 32) : *a;
        char y = *b >= 'A' && *b <= 'Z' ? (char)(*b + 32) : *b;
        if (x != y)
            return false;
    }
    return *a == *b;
}

static bb_err open_quarantine(loader *L)
{
    if (L->quarantine || !L->o->quarantine_dir)
        return BB_OK;
    bb_err e = bb_fs_mkdirs(L->o->quarantine_dir);
    if (e != BB_OK) {
        bb_error(L->log, "cannot create quarantine directory %s", L->o->quarantine_dir);
        return e;
    }
    char safe[80];
    const char *slash = strrchr(L->q->name, '/');
    bb_fs_safe_name(slash ? slash + 1 : L->q->name, safe);
    snprintf(L->q->quarantine_path, sizeof L->q->quarantine_path, "%s/%s.rejects.csv",
             L->o->quarantine_dir, safe);
    L->quarantine = fopen(L->q->quarantine_path, "w");
    if (!L->quarantine) {
        bb_error(L->log, "cannot create %s", L->q->quarantine_path);
        L->q->quarantine_path[0] = '\0';
        return BB_ERR_CANTCREAT;
    }
    bb_buf_clear(&L->line);
    e = bb_buf_puts(&L->line, "line,column,reason,message");
    for (size_t i = 0; i < L->header_n && e == BB_OK; i++) {
        e = bb_buf_putc(&L->line, ',');
        if (e == BB_OK)
            e = bb_csvw_field(&L->line, L->header[i], strlen(L->header[i]), BB_CSVW_FORMULA_SAFE);
    }
    if (e == BB_OK)
        e = bb_buf_putc(&L->line, '\n');
    if (e == BB_OK && fwrite(L->line.data, 1, L->line.len, L->quarantine) != L->line.len)
        e = BB_ERR_IO;
    return e;
}

/*
 * Rejects a record: counts it, logs it, writes it to the quarantine file.
 * field < 0 means the record as a whole (no column). fields/lens are the
 * original fields (NULL for a record that could not be parsed: then raw).
 */
static bb_err reject(loader *L, uint64_t line, int field, bb_reject_reason why,
                     const char *const *fields, const size_t *lens, size_t nfields,
                     const char *raw, size_t raw_len, const char *fmt, ...)
    __attribute__((format(printf, 10, 11)));

static bb_err reject(loader *L, uint64_t line, int field, bb_reject_reason why,
                     const char *const *fields, const size_t *lens, size_t nfields,
                     const char *raw, size_t raw_len, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    L->q->rejected++;
    L->q->by_reason[why]++;
    const char *colname = field >= 0 && (size_t)field < L->header_n ? L->header[field] : "";
    if (L->q->rejected <= L->o->log_rejects) {
        if (field >= 0)
            bb_warn(L->log, "%s:%llu:%d (%s): %s", L->q->name, (unsigned long long)line, field + 1,
                    colname, msg);
        else
            bb_warn(L->log, "%s:%llu: %s", L->q->name, (unsigned long long)line, msg);
    } else if (L->q->rejected == L->o->log_rejects + 1) {
        bb_warn(L->log, "%s: more rejected rows; all are listed in the quarantine file", L->q->name);
    }

    bb_err e = open_quarantine(L);
    if (e != BB_OK || !L->quarantine)
        return e;
    bb_buf_clear(&L->line);
    char num[32];
    snprintf(num, sizeof num, "%llu,", (unsigned long long)line);
    e = bb_buf_puts(&L->line, num);
    if (e == BB_OK && field >= 0) {
        snprintf(num, sizeof num, "%d ", field + 1);
        bb_buf b2;
        bb_buf_init(&b2, 0);
        e = bb_buf_puts(&b2, num);
        if (e == BB_OK)
            e = bb_buf_puts(&b2, colname);
        if (e == BB_OK)
            e = bb_csvw_field(&L->line, b2.data, b2.len, BB_CSVW_FORMULA_SAFE);
        bb_buf_free(&b2);
    }
    if (e == BB_OK)
        e = bb_buf_putc(&L->line, ',');
    if (e == BB_OK)
        e = bb_buf_puts(&L->line, bb_reject_code(why));
    if (e == BB_OK)
        e = bb_buf_putc(&L->line, ',');
    if (e == BB_OK)
        e = bb_csvw_field(&L->line, msg, strlen(msg), BB_CSVW_FORMULA_SAFE);
    if (fields) {
        for (size_t i = 0; i < nfields && e == BB_OK; i++) {
            e = bb_buf_putc(&L->line, ',');
            if (e == BB_OK)
                e = bb_csvw_field(&L->line, fields[i], lens[i], BB_CSVW_FORMULA_SAFE);
        }
    } else {
        /* The raw text, without its final line break, in the first original column. */
        while (raw_len > 0 && (raw[raw_len - 1] == '\n' || raw[raw_len - 1] == '\r'))
            raw_len--;
        e = bb_buf_putc(&L->line, ',');
        if (e == BB_OK)
            e = bb_csvw_field(&L->line, raw, raw_len, BB_CSVW_FORMULA_SAFE);
    }
    if (e == BB_OK)
        e = bb_buf_putc(&L->line, '\n');
    if (e == BB_OK && fwrite(L->line.data, 1, L->line.len, L->quarantine) != L->line.len) {
        bb_error(L->log, "cannot write %s", L->q->quarantine_path);
        e = BB_ERR_IO;
    }
    return e;
}

static bb_err on_bad(void *user, uint64_t line, const char *reason, const char *raw, size_t raw_len)
{
    loader *L = user;
    if (L->fatal != BB_OK)
        return L->fatal;
    L->q->rows++;
    bb_reject_reason why = strstr(reason, "longer") ? BB_REJ_TOO_LONG : BB_REJ_MALFORMED;
    return reject(L, line, -1, why, NULL, NULL, 0, raw, raw_len, "%s", reason);
}

/* ------------------------------------------------------------------------ */
/* header */

static bb_err take_header(loader *L, const bb_csv_row *row)
{
    L->header = calloc(row->nfields ? row->nfields : 1, sizeof *L->header);
    if (!L->header)
        return BB_ERR_NOMEM;
    L->header_n = row->nfields;
    for (size_t i = 0; i < row->nfields; i++) {
        const char *s = row->field[i];
        size_t n = row->len[i];
        bb_field_trim(&s, &n);
        L->header[i] = malloc(n + 1);
        if (!L->header[i])
            return BB_ERR_NOMEM;
        memcpy(L->header[i], s, n);
        L->header[i][n] = '\0';
    }
    int nroles = role_counts[L->kind];
    for (int r = 0; r < nroles; r++) {
        L->col[r] = -1;
        const char *want = L->fo->column[r];
        if (!mapped(want))
            continue;
        /* Exact match first, then ignoring ASCII case. */
        for (int pass = 0; pass < 2 && L->col[r] < 0; pass++) {
            for (size_t i = 0; i < L->header_n; i++) {
                bool same = pass == 0 ? strcmp(L->header[i], want) == 0
                                      : same_ignoring_case(L->header[i], want);
                if (!same)
                    continue;
                if (L->col[r] >= 0) {
                    bb_error(L->log, "%s:%llu: column '%s' appears twice in the header (columns %d and %zu)",
                             L->q->name, (unsigned long long)row->line, want, L->col[r] + 1, i + 1);
                    return BB_ERR_DATA;
                }
                L->col[r] = (int)i;
            }
        }
        if (L->col[r] < 0) {
            bb_buf found;
            bb_buf_init(&found, 4096);
            for (size_t i = 0; i < L->header_n; i++)
                bb_buf_printf(&found, "%s%s", i ? ", " : "", L->header[i]);
            bb_error(L->log,
                     "%s:%llu: required column '%s' not found in the header (found: %s); "
                     "map it with [%s] %s = <column name> in the config, or set it empty if "
                     "this export has no such column",
                     L->q->name, (unsigned long long)row->line, want, found.data ? found.data : "",
                     file_keys[L->kind], role_keys[L->kind][r]);
            bb_buf_free(&found);
            return BB_ERR_NOINPUT;
        }
    }
    return BB_OK;
}

/* ------------------------------------------------------------------------ */
/* column storage */

static bb_err grow(void **p, size_t elem, size_t cap)
{
    void *q = realloc(*p, elem * cap);
    if (!q)
        return BB_ERR_NOMEM;
    *p = q;
    return BB_OK;
}

#define GROW(ptr, cap) grow((void **)&(ptr), sizeof *(ptr), (cap))

static bb_err reserve_customers(loader *L, size_t need)
{
    if (need <= L->cap)
        return BB_OK;
    size_t cap = L->cap ? L->cap * 2 : 1024;
    while (cap < need)
        cap *= 2;
    bb_customers *c = &L->ds->customers;
    if (GROW(c->age, cap) || GROW(c->gender, cap) || GROW(c->registered, cap) ||
        GROW(c->zip, cap) || GROW(c->email, cap) || GROW(c->sms, cap))
        return BB_ERR_NOMEM;
    L->cap = cap;
    return BB_OK;
}

static bb_err reserve_items(loader *L, size_t need)
{
    if (need <= L->cap)
        return BB_OK;
    size_t cap = L->cap ? L->cap * 2 : 256;
    while (cap < need)
        cap *= 2;
    bb_items *it = &L->ds->items;
    if (GROW(it->name, cap) || GROW(it->category, cap) || GROW(it->subcategory, cap) ||
        GROW(it->unit_price_cents, cap))
        return BB_ERR_NOMEM;
    L->cap = cap;
    return BB_OK;
}

static bb_err reserve_purchases(loader *L, size_t need)
{
    if (need <= L->cap)
        return BB_OK;
    size_t cap = L->cap ? L->cap + L->cap / 2 : 4096;
    while (cap < need)
        cap += cap / 2;
    bb_purchases *p = &L->ds->purchases;
    if (GROW(p->customer, cap) || GROW(p->item, cap) || GROW(p->quantity, cap) ||
        GROW(p->day, cap) || GROW(p->total_cents, cap) || GROW(p->employee, cap))
        return BB_ERR_NOMEM;
    L->cap = cap;
    return BB_OK;
}

/* ------------------------------------------------------------------------ */
/* rows */

/* A field by role, trimmed; *n = 0 and "" when the role is not mapped. */
static const char *get(const loader *L, const bb_csv_row *row, int role, size_t *n)
{
    int i = L->col[role];
    if (i < 0) {
        *n = 0;
        return "";
    }
    const char *s = row->field[i];
    *n = row->len[i];
    bb_field_trim(&s, n);
    return s;
}

#define REJECT(role, why, ...)                                                                 \
    reject(L, row->line, L->col[role], (why), row->field, row->len, row->nfields, NULL, 0,     \
           __VA_ARGS__)

/* Field count and UTF-8: the checks common to every file. */
static bool row_shape_ok(loader *L, const bb_csv_row *row, bb_err *e)
{
    if (row->nfields != L->header_n) {
        *e = reject(L, row->line, -1, BB_REJ_FIELD_COUNT, row->field, row->len, row->nfields, NULL,
                    0, "expected %zu fields as in the header, found %zu", L->header_n,
                    row->nfields);
        return false;
    }
    for (size_t i = 0; i < row->nfields; i++) {
        size_t bad;
        if (!bb_utf8_valid(row->field[i], row->len[i], &bad)) {
            *e = reject(L, row->line, (int)i, BB_REJ_UTF8, row->field, row->len, row->nfields,
                        NULL, 0, "invalid UTF-8 at byte %zu of the field", bad + 1);
            return false;
        }
    }
    return true;
}

static bb_err date_field(loader *L, const bb_csv_row *row, int role, bool required, int32_t *day,
                         bool *rejected)
{
    size_t n;
    const char *s = get(L, row, role, &n);
    char v[64];
    *rejected = true;
    *day = BB_DATE_NONE;
    if (n == 0) {
        if (required)
            return REJECT(role, BB_REJ_MISSING, "a date is required");
        *rejected = false;
        L->q->missing[role]++;
        return BB_OK;
    }
    if (!bb_date_parse(&L->datefmt, s, n, day))
        return REJECT(role, BB_REJ_NOT_DATE, "%s is not a valid date in the format %s", show(v, s, n),
                      L->datefmt.text);
    if (L->o->as_of != BB_DATE_NONE && *day > L->o->as_of) {
        char asof[11];
        bb_date_format(L->o->as_of, asof);
        return REJECT(role, BB_REJ_AFTER_AS_OF, "%s is after the as-of date %s", show(v, s, n), asof);
    }
    *rejected = false;
    return BB_OK;
}

static bb_err customer_row(loader *L, const bb_csv_row *row)
{
    bb_err e = BB_OK;
    char v[64];
    bool rej;
    size_t n;
    const char *s;
    if (!row_shape_ok(L, row, &e))
        return e;

    size_t id_len;
    const char *id = get(L, row, BB_COL_CUST_ID, &id_len);
    if (id_len == 0)
        return REJECT(BB_COL_CUST_ID, BB_REJ_MISSING, "a customer ID is required");

    int16_t age = -1;
    s = get(L, row, BB_COL_CUST_AGE, &n);
    if (L->col[BB_COL_CUST_AGE] >= 0) {
        int64_t a;
        bb_field_status st = bb_field_int(s, n, &a);
        if (st == BB_FIELD_EMPTY)
            L->q->missing[BB_COL_CUST_AGE]++;
        else if (st != BB_FIELD_OK)
            return REJECT(BB_COL_CUST_AGE, BB_REJ_NOT_INTEGER, "%s is not a whole number of years",
                          show(v, s, n));
        else if (a < 0 || a > 120)
            return REJECT(BB_COL_CUST_AGE, BB_REJ_RANGE, "age %s is outside 0..120", show(v, s, n));
        else
            age = (int16_t)a;
    }

    int32_t registered;
    e = date_field(L, row, BB_COL_CUST_REGISTERED, false, &registered, &rej);
    if (rej || e != BB_OK)
        return e;

    int8_t flags[2] = {-1, -1};
    const int flag_roles[2] = {BB_COL_CUST_EMAIL, BB_COL_CUST_SMS};
    for (int k = 0; k < 2; k++) {
        if (L->col[flag_roles[k]] < 0)
            continue;
        s = get(L, row, flag_roles[k], &n);
        bool b;
        bb_field_status st = bb_field_bool(s, n, &b);
        if (st == BB_FIELD_EMPTY)
            L->q->missing[flag_roles[k]]++;
        else if (st != BB_FIELD_OK)
            return REJECT(flag_roles[k], BB_REJ_NOT_BOOL, "%s is not True/False", show(v, s, n));
        else
            flags[k] = b;
    }

    /* All checks passed but uniqueness: commit. */
    bb_dataset *ds = L->ds;
    bb_customers *c = &ds->customers;
    uint32_t cid;
    bool added;
    if ((e = bb_intern_put(c->ids, id, id_len, &cid, &added)) != BB_OK)
        return e;
    if (!added)
        return REJECT(BB_COL_CUST_ID, BB_REJ_DUPLICATE, "customer ID %s appears on an earlier line",
                      show(v, id, id_len));
    if ((e = reserve_customers(L, (size_t)cid + 1)) != BB_OK)
        return e;
    c->age[cid] = age;
    c->registered[cid] = registered;
    c->email[cid] = flags[0];
    c->sms[cid] = flags[1];
    c->gender[cid] = BB_UNKNOWN;
    c->zip[cid] = BB_UNKNOWN;
    s = get(L, row, BB_COL_CUST_GENDER, &n);
    if (n > 0)
        e = bb_intern_put(ds->genders, s, n, &c->gender[cid], NULL);
    else if (L->col[BB_COL_CUST_GENDER] >= 0)
        L->q->missing[BB_COL_CUST_GENDER]++;
    s = get(L, row, BB_COL_CUST_ZIP, &n);
    if (e == BB_OK && n > 0)
        e = bb_intern_put(ds->zips, s, n, &c->zip[cid], NULL);
    else if (n == 0 && L->col[BB_COL_CUST_ZIP] >= 0)
        L->q->missing[BB_COL_CUST_ZIP]++;
    c->n = cid + 1;
    L->q->accepted++;
    return e;
}

static bb_err item_row(loader *L, const bb_csv_row *row)
{
    bb_err e = BB_OK;
    char v[64];
    size_t n;
    const char *s;
    if (!row_shape_ok(L, row, &e))
        return e;

    size_t id_len;
    const char *id = get(L, row, BB_COL_ITEM_ID, &id_len);
    if (id_len == 0)
        return REJECT(BB_COL_ITEM_ID, BB_REJ_MISSING, "an item ID is required");

    int64_t price = -1;
    if (L->col[BB_COL_ITEM_PRICE] >= 0) {
        s = get(L, row, BB_COL_ITEM_PRICE, &n);
        bb_field_status st = bb_field_cents(s, n, &price);
        if (st == BB_FIELD_EMPTY) {
            price = -1;
            L->q->missing[BB_COL_ITEM_PRICE]++;
        } else if (st != BB_FIELD_OK) {
            return REJECT(BB_COL_ITEM_PRICE, BB_REJ_NOT_MONEY, "%s is not an amount such as 12.50",
                          show(v, s, n));
        } else if (price < 0) {
            return REJECT(BB_COL_ITEM_PRICE, BB_REJ_RANGE, "price %s is negative", show(v, s, n));
        }
    }

    bb_dataset *ds = L->ds;
    bb_items *it = &ds->items;
    uint32_t iid;
    bool added;
    if ((e = bb_intern_put(it->ids, id, id_len, &iid, &added)) != BB_OK)
        return e;
    if (!added)
        return REJECT(BB_COL_ITEM_ID, BB_REJ_DUPLICATE, "item ID %s appears on an earlier line",
                      show(v, id, id_len));
    if ((e = reserve_items(L, (size_t)iid + 1)) != BB_OK)
        return e;
    it->unit_price_cents[iid] = price;

    s = get(L, row, BB_COL_ITEM_NAME, &n);
    if (n == 0) {
        if (L->col[BB_COL_ITEM_NAME] >= 0)
            L->q->missing[BB_COL_ITEM_NAME]++;
        s = id, n = id_len; /* an item without a name is shown by its ID */
    }
    e = bb_intern_put(ds->item_names, s, n, &it->name[iid], NULL);

    s = get(L, row, BB_COL_ITEM_CATEGORY, &n);
    if (n == 0 && L->col[BB_COL_ITEM_CATEGORY] >= 0)
        L->q->missing[BB_COL_ITEM_CATEGORY]++;
    if (e == BB_OK)
        e = bb_intern_put(ds->categories, s, n, &it->category[iid], NULL);

    s = get(L, row, BB_COL_ITEM_SUBCATEGORY, &n);
    if (n == 0 && L->col[BB_COL_ITEM_SUBCATEGORY] >= 0)
        L->q->missing[BB_COL_ITEM_SUBCATEGORY]++;
    if (e == BB_OK) {
        bb_buf key;
        bb_buf_init(&key, 0);
        e = bb_buf_printf(&key, "%u:", (unsigned)it->category[iid]);
        if (e == BB_OK)
            e = bb_buf_append(&key, s, n);
        if (e == BB_OK)
            e = bb_intern_put(ds->subcategories, key.data, key.len, &it->subcategory[iid], NULL);
        bb_buf_free(&key);
    }
    it->n = iid + 1;
    L->q->accepted++;
    return e;
}

static bb_err purchase_row(loader *L, const bb_csv_row *row)
{
    bb_err e = BB_OK;
    char v[64];
    bool rej;
    size_t n;
    const char *s;
    bb_dataset *ds = L->ds;
    if (!row_shape_ok(L, row, &e))
        return e;

    size_t cust_len, item_len;
    const char *cust = get(L, row, BB_COL_PUR_CUSTOMER, &cust_len);
    const char *item = get(L, row, BB_COL_PUR_ITEM, &item_len);
    uint32_t cid = BB_UNKNOWN, iid = BB_UNKNOWN;
    if (cust_len == 0)
        return REJECT(BB_COL_PUR_CUSTOMER, BB_REJ_MISSING, "a customer ID is required");
    if (!L->derive_customers && !bb_intern_get(ds->customers.ids, cust, cust_len, &cid))
        return REJECT(BB_COL_PUR_CUSTOMER, BB_REJ_UNKNOWN_CUSTOMER,
                      "customer %s is not in the customers file", show(v, cust, cust_len));
    if (item_len == 0)
        return REJECT(BB_COL_PUR_ITEM, BB_REJ_MISSING, "an item ID is required");
    if (!L->derive_items && !bb_intern_get(ds->items.ids, item, item_len, &iid))
        return REJECT(BB_COL_PUR_ITEM, BB_REJ_UNKNOWN_ITEM, "item %s is not in the items file",
                      show(v, item, item_len));

    int64_t qty = 1;
    if (L->col[BB_COL_PUR_QUANTITY] >= 0) {
        s = get(L, row, BB_COL_PUR_QUANTITY, &n);
        bb_field_status st = bb_field_int(s, n, &qty);
        if (st == BB_FIELD_EMPTY)
            return REJECT(BB_COL_PUR_QUANTITY, BB_REJ_MISSING, "a quantity is required");
        if (st != BB_FIELD_OK)
            return REJECT(BB_COL_PUR_QUANTITY, BB_REJ_NOT_INTEGER, "%s is not a whole number",
                          show(v, s, n));
        if (qty < 1 || qty > 1000000)
            return REJECT(BB_COL_PUR_QUANTITY, BB_REJ_RANGE,
                          "quantity %s must be between 1 and 1,000,000", show(v, s, n));
    }

    int32_t day;
    e = date_field(L, row, BB_COL_PUR_DATE, true, &day, &rej);
    if (rej || e != BB_OK)
        return e;

    int64_t total = 0;
    if (L->col[BB_COL_PUR_TOTAL] >= 0) {
        s = get(L, row, BB_COL_PUR_TOTAL, &n);
        bb_field_status st = bb_field_cents(s, n, &total);
        if (st == BB_FIELD_EMPTY)
            return REJECT(BB_COL_PUR_TOTAL, BB_REJ_MISSING, "a total price is required");
        if (st != BB_FIELD_OK)
            return REJECT(BB_COL_PUR_TOTAL, BB_REJ_NOT_MONEY, "%s is not an amount such as 12.50",
                          show(v, s, n));
        if (total < 0)
            return REJECT(BB_COL_PUR_TOTAL, BB_REJ_RANGE, "total price %s is negative",
                          show(v, s, n));
    }

    /* Commit. */
    if (L->derive_customers && (e = bb_intern_put(ds->customers.ids, cust, cust_len, &cid, NULL)))
        return e;
    if (L->derive_items && (e = bb_intern_put(ds->items.ids, item, item_len, &iid, NULL)))
        return e;
    bb_purchases *p = &ds->purchases;
    if ((e = reserve_purchases(L, p->n + 1)) != BB_OK)
        return e;
    uint32_t emp = BB_UNKNOWN;
    s = get(L, row, BB_COL_PUR_EMPLOYEE, &n);
    if (n > 0 && (e = bb_intern_put(ds->employees, s, n, &emp, NULL)) != BB_OK)
        return e;
    if (ds->price_source == BB_PRICE_LIST) {
        int64_t unit = ds->items.unit_price_cents[iid];
        total = unit > 0 ? unit * qty : 0;
    }
    size_t k = p->n++;
    p->customer[k] = cid;
    p->item[k] = iid;
    p->quantity[k] = (int32_t)qty;
    p->day[k] = day;
    p->total_cents[k] = total;
    p->employee[k] = emp;
    if (ds->first_day == BB_DATE_NONE || day < ds->first_day)
        ds->first_day = day;
    if (ds->last_day == BB_DATE_NONE || day > ds->last_day)
        ds->last_day = day;
    L->q->accepted++;
    return BB_OK;
}

static bb_err on_row(void *user, const bb_csv_row *row)
{
    loader *L = user;
    if (row->index == 0) {
        L->fatal = take_header(L, row);
        return L->fatal;
    }
    L->q->rows++;
    switch (L->kind) {
    case BB_FILE_CUSTOMERS:
        return customer_row(L, row);
    case BB_FILE_ITEMS:
        return item_row(L, row);
    default:
        return purchase_row(L, row);
    }
}

/* ------------------------------------------------------------------------ */

static void loader_done(loader *L)
{
    if (L->quarantine)
        fclose(L->quarantine);
    L->quarantine = NULL;
    for (size_t i = 0; i < L->header_n; i++)
        free(L->header[i]);
    free(L->header);
    L->header = NULL;
    L->header_n = 0;
    bb_buf_free(&L->line);
}

static void on_progress(void *user, uint64_t bytes)
{
    loader *L = user;
    L->o->progress(L->o->progress_user, L->q->name, bytes,
                   L->file_size > 0 ? (uint64_t)L->file_size : bytes);
}

/* Reads one file. A missing optional file is not an error: *present = false. */
static bb_err load_file(loader *L, bb_file_kind kind, bool optional, bool *present)
{
    const bb_ingest_file_opts *fo = &L->o->file[kind];
    bb_file_quality *q = &L->ds->quality[kind];
    L->kind = kind;
    L->fo = fo;
    L->q = q;
    L->cap = 0;
    L->fatal = BB_OK;
    bb_buf_init(&L->line, 0);
    *present = false;
    snprintf(q->name, sizeof q->name, "%s", fo->file ? fo->file : "");
    q->threshold = L->o->reject_threshold;
    for (int r = 0; r < BB_MAX_COLUMNS; r++)
        L->col[r] = -1;

    if (!mapped(fo->file)) {
        if (optional)
            return BB_OK;
        bb_error(L->log, "no %s file is configured", file_keys[kind]);
        return BB_ERR_NOINPUT;
    }
    int plen = snprintf(q->path, sizeof q->path, "%s/%s", L->o->data_dir, fo->file);
    if (plen < 0 || (size_t)plen >= sizeof q->path) {
        bb_error(L->log, "path too long: %s/%s", L->o->data_dir, fo->file);
        return BB_ERR_NOINPUT;
    }
    if (!bb_fs_exists(q->path)) {
        q->path[0] = '\0';
        if (optional)
            return BB_OK;
        bb_error(L->log, "%s/%s: input file not found", L->o->data_dir, fo->file);
        return BB_ERR_NOINPUT;
    }
    if (!bb_date_fmt_compile(&L->datefmt, fo->date_format ? fo->date_format : "")) {
        bb_error(L->log, "[%s] date_format '%s' is not a date pattern (use YYYY, MM, DD, M, D and separators)",
                 file_keys[kind], fo->date_format ? fo->date_format : "");
        return BB_ERR_CONFIG;
    }
    *present = true;
    q->present = true;

    bb_csv_opts co = {.delimiter = fo->delimiter ? fo->delimiter : ',',
                      .max_record_bytes = L->o->max_record_bytes,
                      .progress = L->o->progress ? on_progress : NULL,
                      .progress_user = L};
    L->file_size = bb_fs_size(q->path);
    bb_csv_stats st;
    if (kind == BB_FILE_PURCHASES) {
        long long size = bb_fs_size(q->path);
        if (size > 0 && reserve_purchases(L, (size_t)(size / 40) + 16) != BB_OK)
            return BB_ERR_NOMEM;
    }
    bb_err e = bb_csv_read_file(q->path, &co, on_row, on_bad, L, &st);
    q->bytes = st.bytes;
    q->lines = st.lines;
    q->blank_lines = st.blank_lines;
    q->bom = st.bom;
    q->crlf = st.crlf;
    memcpy(q->sha256, st.sha256, sizeof q->sha256);
    if (e == BB_ERR_NOINPUT || e == BB_ERR_IO) {
        bb_error(L->log, "%s: cannot read the file", q->path);
        return e;
    }
    if (e != BB_OK)
        return e;
    if (st.records == 0) {
        bb_error(L->log, "%s:1: the file is empty: a header row is required", q->name);
        return BB_ERR_DATA;
    }
    if (q->blank_lines)
        bb_info(L->log, "%s: %llu blank lines skipped", q->name, (unsigned long long)q->blank_lines);
    return BB_OK;
}

/* "quarantine/<file>.rejects.csv": where the rejects are once the run is published. */
static const char *quarantine_name(const bb_file_quality *q, char *out, size_t size)
{
    const char *slash = strrchr(q->quarantine_path, '/');
    snprintf(out, size, "quarantine/%s", slash ? slash + 1 : q->quarantine_path);
    return out;
}

static bb_err check_threshold(loader *L, bb_file_quality *q)
{
    if (q->rejected == 0)
        return BB_OK;
    double share = q->rows ? (double)q->rejected / (double)q->rows : 1.0;
    char a[32], b[32], c[32], d[32], where[1100] = "the log";
    bb_fmt_int(a, sizeof a, (int64_t)q->rejected);
    bb_fmt_int(b, sizeof b, (int64_t)q->rows);
    bb_fmt_pct(c, sizeof c, share, 2);
    bb_fmt_pct(d, sizeof d, q->threshold, 2);
    if (q->quarantine_path[0])
        quarantine_name(q, where, sizeof where);
    if (share > q->threshold) {
        bb_error(L->log,
                 "%s: %s of %s rows rejected (%s), above the reject threshold of %s; "
                 "the rejected rows are listed in %s",
                 q->name, a, b, c, d, where);
        return BB_ERR_DATA;
    }
    bb_warn(L->log, "%s: %s of %s rows rejected (%s, threshold %s); they are listed in %s", q->name, a,
            b, c, d, where);
    return BB_OK;
}

static bb_err new_tables(bb_dataset *ds)
{
    bb_intern **tables[] = {&ds->customers.ids, &ds->items.ids, &ds->genders,       &ds->zips,
                            &ds->item_names,    &ds->categories, &ds->subcategories, &ds->employees};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        if (bb_intern_new(tables[i], 0) != BB_OK)
            return BB_ERR_NOMEM;
    return BB_OK;
}

/* Customers or items seen only in purchases: IDs with everything else unknown. */
static bb_err finish_derived(loader *L)
{
    bb_dataset *ds = L->ds;
    if (L->derive_customers) {
        uint32_t n = bb_intern_count(ds->customers.ids);
        L->cap = 0;
        if (reserve_customers(L, n ? n : 1) != BB_OK)
            return BB_ERR_NOMEM;
        bb_customers *c = &ds->customers;
        for (uint32_t i = 0; i < n; i++) {
            c->age[i] = -1;
            c->gender[i] = BB_UNKNOWN;
            c->registered[i] = BB_DATE_NONE;
            c->zip[i] = BB_UNKNOWN;
            c->email[i] = c->sms[i] = -1;
        }
        c->n = n;
        ds->quality[BB_FILE_CUSTOMERS].derived = true;
    }
    if (L->derive_items) {
        uint32_t n = bb_intern_count(ds->items.ids);
        L->cap = 0;
        if (reserve_items(L, n ? n : 1) != BB_OK)
            return BB_ERR_NOMEM;
        bb_items *it = &ds->items;
        uint32_t none_cat, none_sub;
        if (bb_intern_put(ds->categories, "", 0, &none_cat, NULL) != BB_OK)
            return BB_ERR_NOMEM;
        char key[16];
        int klen = snprintf(key, sizeof key, "%u:", (unsigned)none_cat);
        if (bb_intern_put(ds->subcategories, key, (size_t)klen, &none_sub, NULL) != BB_OK)
            return BB_ERR_NOMEM;
        for (uint32_t i = 0; i < n; i++) {
            const char *id = bb_intern_str(it->ids, i);
            if (bb_intern_put(ds->item_names, id, bb_intern_len(it->ids, i), &it->name[i], NULL) != BB_OK)
                return BB_ERR_NOMEM;
            it->category[i] = none_cat;
            it->subcategory[i] = none_sub;
            it->unit_price_cents[i] = -1;
        }
        it->n = n;
        ds->quality[BB_FILE_ITEMS].derived = true;
    }
    return BB_OK;
}

bb_err bb_ingest_load(const bb_ingest_opts *o, bb_log *log, bb_dataset **out,
                      bb_file_quality quality[BB_FILE__COUNT])
{
    *out = NULL;
    bb_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return BB_ERR_NOMEM;
    ds->first_day = ds->last_day = BB_DATE_NONE;
    loader L = {.o = o, .log = log, .ds = ds};
    bb_err e = new_tables(ds);
    bool present;

    if (e == BB_OK) {
        e = load_file(&L, BB_FILE_CUSTOMERS, true, &present);
        loader_done(&L);
        L.derive_customers = e == BB_OK && !present;
        if (e == BB_OK && present)
            e = check_threshold(&L, &ds->quality[BB_FILE_CUSTOMERS]);
        if (L.derive_customers)
            bb_info(log, "%s not found in %s: customers are derived from purchases (IDs only)",
                    mapped(o->file[BB_FILE_CUSTOMERS].file) ? o->file[BB_FILE_CUSTOMERS].file : "customers file",
                    o->data_dir);
    }
    if (e == BB_OK) {
        e = load_file(&L, BB_FILE_ITEMS, true, &present);
        loader_done(&L);
        L.derive_items = e == BB_OK && !present;
        if (e == BB_OK && present)
            e = check_threshold(&L, &ds->quality[BB_FILE_ITEMS]);
        if (L.derive_items)
            bb_info(log, "%s not found in %s: items are derived from purchases (IDs only)",
                    mapped(o->file[BB_FILE_ITEMS].file) ? o->file[BB_FILE_ITEMS].file : "items file",
                    o->data_dir);
    }
    if (e == BB_OK) {
        const char *const *cols = o->file[BB_FILE_PURCHASES].column;
        ds->has_quantity = mapped(cols[BB_COL_PUR_QUANTITY]);
        if (mapped(cols[BB_COL_PUR_TOTAL]))
            ds->price_source = BB_PRICE_TOTAL;
        else if (!L.derive_items && mapped(o->file[BB_FILE_ITEMS].column[BB_COL_ITEM_PRICE]))
            ds->price_source = BB_PRICE_LIST;
        else
            ds->price_source = BB_PRICE_NONE;
        e = load_file(&L, BB_FILE_PURCHASES, false, &present);
        loader_done(&L);
        if (e == BB_OK && ds->quality[BB_FILE_PURCHASES].accepted == 0) {
            bb_error(log, "%s: no usable purchase rows", ds->quality[BB_FILE_PURCHASES].name);
            e = BB_ERR_DATA;
        }
        if (e == BB_OK)
            e = check_threshold(&L, &ds->quality[BB_FILE_PURCHASES]);
    }
    if (e == BB_OK)
        e = finish_derived(&L);
    if (e == BB_OK) {
        ds->as_of_derived = o->as_of == BB_DATE_NONE;
        ds->as_of = ds->as_of_derived ? ds->last_day : o->as_of;
        for (uint32_t i = 0; i < ds->customers.n; i++)
            if (ds->customers.registered[i] != BB_DATE_NONE && ds->customers.registered[i] > ds->as_of)
                ds->registered_after_as_of++;
        if (ds->registered_after_as_of)
            bb_warn(log, "%llu customers registered after the as-of date",
                    (unsigned long long)ds->registered_after_as_of);
    }
    if (quality)
        memcpy(quality, ds->quality, sizeof ds->quality);
    if (e != BB_OK) {
        bb_dataset_free(ds);
        return e;
    }
    *out = ds;
    return BB_OK;
}
