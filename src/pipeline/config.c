#include "pipeline/config.h"

#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/date.h"
#include "util/fmt.h"

typedef enum opt_type {
    OPT_STRING,
    OPT_PATH,      /* a string; relative paths in an INI file are relative to the file */
    OPT_INT,
    OPT_U64,
    OPT_RATIO,     /* a number in [0, 1] */
    OPT_DATE,      /* YYYY-MM-DD or empty */
    OPT_CHAR,      /* one character, e.g. a delimiter; "tab" for TAB */
    OPT_BOOL,      /* true/false, yes/no, 1/0 */
} opt_type;

enum {
    OPT_NOFP = 1,    /* cannot change results: not part of the run id */
    OPT_SECRET = 2,  /* never written out (manifest, --print-config) */
};

typedef struct opt_def {
    const char *section;
    const char *key;
    opt_type type;
    size_t offset;
    const char *def;
    int64_t min, max;   /* for OPT_INT */
    unsigned flags;
    const char *help;
} opt_def;

#define RUN(key, type, field, def, min, max, flags, help)                                      \
    {"run", key, type, offsetof(bb_config, field), def, min, max, flags, help}
#define REPORT(key, field, def, help)                                                          \
    {"report", key, OPT_STRING, offsetof(bb_config, field), def, 0, 0, 0, help}
#define SEG(key, type, field, def, min, max, help)                                             \
    {"segment", key, type, offsetof(bb_config, segment) + offsetof(bb_config_segment, field), def, \
     min, max, 0, help}
#define REC(key, type, field, def, min, max, help)                                             \
    {"recommend", key, type,                                                                   \
     offsetof(bb_config, recommend) + offsetof(bb_config_recommend, field), def, min, max, 0, help}
#define MAIL_F(key, type, field, def, min, max, flags, help)                                   \
    {"mail", key, type, offsetof(bb_config, mail) + offsetof(bb_config_mail, field), def, min,   \
     max, OPT_NOFP | (flags), help}
#define MAIL(key, type, field, def, min, max, help) MAIL_F(key, type, field, def, min, max, 0, help)
#define IN(f, sect, key, type, field, def, help)                                               \
    {sect, key, type, offsetof(bb_config, input) + (f) * sizeof(bb_config_input) +             \
                          offsetof(bb_config_input, field), def, 0, 0, 0, help}
#define COL(f, sect, role, key, def, help)                                                     \
    {sect, key, OPT_STRING, offsetof(bb_config, input) + (f) * sizeof(bb_config_input) +       \
                                offsetof(bb_config_input, column) + (role) * sizeof(char *),   \
     def, 0, 0, 0, help}

#define FILE_OPTS(f, sect, name)                                                               \
    IN(f, sect, "file", OPT_STRING, file, name,                                                \
       "file name in the data directory (" name "); when absent, derived from purchases"),     \
        IN(f, sect, "delimiter", OPT_CHAR, delimiter, ",", "field delimiter (\"tab\" for TAB)"), \
        IN(f, sect, "date_format", OPT_STRING, date_format, "YYYY-MM-DD",                      \
           "date pattern: YYYY, MM, DD (or M, D for 1-2 digits) and separators")

static const opt_def opts[] = {
    RUN("data", OPT_PATH, data_dir, "data/sample", 0, 0, 0,
        "directory with customers.csv, items.csv, purchases.csv"),
    RUN("out", OPT_PATH, out_dir, "out", 0, 0, OPT_NOFP,
        "output directory: runs/<as-of>_<run-id>/ and the latest link"),
    RUN("as_of", OPT_DATE, as_of, "", 0, 0, 0,
        "report date YYYY-MM-DD; empty: the last purchase date"),
    RUN("seed", OPT_U64, seed, "42", 0, 0, 0, "seed of every random choice"),
    RUN("threads", OPT_INT, threads, "0", 0, 256, OPT_NOFP, "worker threads; 0: all cores"),
    RUN("reject_threshold", OPT_RATIO, reject_threshold, "0.01", 0, 0, 0,
        "largest share of rejected rows per file before the run fails"),
    RUN("max_record_bytes", OPT_INT, max_record_bytes, "1048576", 64, 1 << 30, 0,
        "longest accepted CSV record in bytes"),
    RUN("log_rejects", OPT_INT, log_rejects, "20", 0, 1000000, OPT_NOFP,
        "rejected rows logged one by one per file (all go to quarantine)"),
    RUN("top_n", OPT_INT, top_n, "5", 1, 100, 0, "recommendations per customer"),
    RUN("sheets", OPT_STRING, sheets, "all", 0, 0, 0,
        "per-customer sheets (customers/<id>.pdf): all, none, segment:<name> or ids:<file> (one ID a line)"),
    RUN("keep_runs", OPT_INT, keep_runs, "30", 0, 100000, OPT_NOFP,
        "complete runs kept in out/runs (older ones are deleted; 0: keep all); as many failed runs are kept"),
    REPORT("business_name", business_name, "", "business name on the cover"),
    REPORT("title", title, "Sales report", "report title"),
    {"report", "templates", OPT_PATH, offsetof(bb_config, templates_dir), "", 0, 0, 0,
     "directory with report.html and the other templates; empty: the built-in ones"},
    {"sales", "period", OPT_STRING, offsetof(bb_config, sales_period), "month", 0, 0, 0,
     "KPI period: month, week (Monday to Sunday) or quarter; the last complete one by the as-of date"},
    {"sales", "top_items", OPT_INT, offsetof(bb_config, sales_top_items), "10", 1, 1000, 0,
     "items in the top and bottom lists"},

    SEG("k", OPT_INT, k, "5", 1, 50, "number of segments of customers with purchases"),
    SEG("k_min", OPT_INT, k_min, "2", 2, 50, "smallest k of the quality scan"),
    SEG("k_max", OPT_INT, k_max, "10", 2, 50, "largest k of the quality scan"),
    SEG("n_init", OPT_INT, n_init, "10", 1, 1000, "k-means restarts; the lowest inertia is kept"),
    SEG("max_iter", OPT_INT, max_iter, "300", 1, 100000, "Lloyd iterations at most per restart"),
    SEG("tol", OPT_RATIO, tol, "0.0001", 0, 0,
        "convergence: centre shift below tol x the mean feature variance (scikit-learn's rule)"),
    SEG("silhouette_sample", OPT_INT, silhouette_sample, "10000", 100, 10000000,
        "customers the silhouette is computed on (exactly up to this many, a fixed-seed sample above)"),
    SEG("scan_sample", OPT_INT, scan_sample, "10000", 0, 100000000,
        "customers the k = k_min..k_max scan runs on (a fixed-seed sample above; 0: all)"),
    SEG("features", OPT_STRING, features, "", 0, 0,
        "features clustered on, comma-separated; empty: all (see README: segmentation)"),
    SEG("log_features", OPT_STRING, log_features, "", 0, 0,
        "features taken as log(1 + x) before scaling; empty: the skewed ones"),
    REC("holdout_days", OPT_INT, holdout_days, "90", 7, 3660,
        "days before the as-of date held out to test the models (and as many before them to validate)"),
    REC("k", OPT_INT, k, "10", 1, 1000, "cutoff of Recall@K and NDCG@K"),
    REC("serve", OPT_STRING, serve, "", 0, 0,
        "model that serves: autoencoder, ease, itemknn, popularity; empty: the best on validation"),
    REC("loss", OPT_STRING, loss, "multinomial", 0, 0, "autoencoder output and loss: multinomial, bce or mse"),
    REC("hidden", OPT_STRING, hidden, "128,64,32,64,128", 0, 0, "autoencoder hidden layer sizes"),
    REC("dropout", OPT_RATIO, dropout, "0.2", 0, 0, "dropout of hidden units"),
    REC("input_dropout", OPT_RATIO, input_dropout, "0.5", 0, 0, "denoising dropout of the input"),
    REC("l2", OPT_RATIO, l2, "0.001", 0, 0, "L2 weight penalty"),
    REC("lr", OPT_RATIO, lr, "0.001", 0, 0, "Adam learning rate"),
    REC("max_epochs", OPT_INT, max_epochs, "30", 1, 10000, "training epochs at most"),
    REC("batch", OPT_INT, batch, "256", 1, 65536, "customers per Adam step"),
    REC("patience", OPT_INT, patience, "3", 1, 1000, "epochs without a better validation NDCG before stopping"),
    REC("epoch_rows", OPT_INT, epoch_rows, "100000", 0, 100000000,
        "customers sampled per epoch at most (0: all)"),
    REC("repeatable", OPT_STRING, repeatable, "Haircut", 0, 0,
        "subcategories recommended again although bought (services booked again), comma-separated"),
    MAIL("smtp_url", OPT_STRING, smtp_url, "", 0, 0,
         "mail server, smtp://host:587 (STARTTLS) or smtps://host:465; empty: no mail"),
    MAIL("from", OPT_STRING, from, "", 0, 0, "sender, e.g. Reports <reports@example.com>"),
    MAIL("to", OPT_STRING, to, "", 0, 0, "recipients of the report, comma-separated"),
    MAIL("operators", OPT_STRING, operators, "", 0, 0,
         "recipients of failure notices, comma-separated; empty: no notices"),
    MAIL("subject", OPT_STRING, subject, "{{heading}}, as of {{as_of}}", 0, 0,
         "subject line, a template over the run summary"),
    MAIL("starttls", OPT_BOOL, starttls, "true", 0, 0, "require STARTTLS on smtp:// URLs"),
    MAIL("username", OPT_STRING, username, "", 0, 0,
         "SMTP login; empty: the environment variable BB_SMTP_USER"),
    MAIL_F("password", OPT_STRING, password, "", 0, 0, OPT_SECRET,
           "SMTP password; empty: the environment variable BB_SMTP_PASSWORD (preferred)"),
    MAIL("attach_workbook", OPT_BOOL, attach_workbook, "false", 0, 0,
         "attach workbook.xlsx as well as report.pdf"),
    MAIL("max_bytes", OPT_INT, max_bytes, "10485760", 0, (int64_t)1 << 40,
         "largest message; above it the attachments are left out and the mail says where they are"),
    MAIL("retries", OPT_INT, retries, "3", 0, 100, "attempts after the first when the server is unavailable"),
    MAIL("retry_delay_ms", OPT_INT, retry_delay_ms, "2000", 0, 3600000,
         "wait before the first retry, doubled each time"),
    MAIL("timeout_s", OPT_INT, timeout_s, "60", 1, 86400, "time limit of one attempt in seconds"),

    FILE_OPTS(BB_FILE_CUSTOMERS, "customers", "customers.csv"),
    COL(BB_FILE_CUSTOMERS, "customers", BB_COL_CUST_ID, "id", "CustomerID", "customer ID column"),
    COL(BB_FILE_CUSTOMERS, "customers", BB_COL_CUST_AGE, "age", "Age", "age column (empty: none)"),
    COL(BB_FILE_CUSTOMERS, "customers", BB_COL_CUST_GENDER, "gender", "Gender", "gender column"),
    COL(BB_FILE_CUSTOMERS, "customers", BB_COL_CUST_REGISTERED, "registration_date",
        "RegistrationDate", "registration date column"),
    COL(BB_FILE_CUSTOMERS, "customers", BB_COL_CUST_ZIP, "zip", "ZipCode", "zip code column"),
    COL(BB_FILE_CUSTOMERS, "customers", BB_COL_CUST_EMAIL, "email", "EmailSubscription",
        "e-mail opt-in column (True/False)"),
    COL(BB_FILE_CUSTOMERS, "customers", BB_COL_CUST_SMS, "sms", "SMSSubscription",
        "SMS opt-in column (True/False)"),

    FILE_OPTS(BB_FILE_ITEMS, "items", "items.csv"),
    COL(BB_FILE_ITEMS, "items", BB_COL_ITEM_ID, "id", "ItemID", "item ID column"),
    COL(BB_FILE_ITEMS, "items", BB_COL_ITEM_NAME, "name", "ItemName", "item name column"),
    COL(BB_FILE_ITEMS, "items", BB_COL_ITEM_CATEGORY, "category", "ItemCategory", "category column"),
    COL(BB_FILE_ITEMS, "items", BB_COL_ITEM_SUBCATEGORY, "subcategory", "ItemSubcategory",
        "subcategory column"),
    COL(BB_FILE_ITEMS, "items", BB_COL_ITEM_PRICE, "unit_price", "UnitPrice", "list price column"),

    FILE_OPTS(BB_FILE_PURCHASES, "purchases", "purchases.csv"),
    COL(BB_FILE_PURCHASES, "purchases", BB_COL_PUR_CUSTOMER, "customer_id", "CustomerID",
        "customer ID column"),
    COL(BB_FILE_PURCHASES, "purchases", BB_COL_PUR_ITEM, "item_id", "ItemID", "item ID column"),
    COL(BB_FILE_PURCHASES, "purchases", BB_COL_PUR_QUANTITY, "quantity", "Quantity",
        "quantity column (empty: every row is one unit)"),
    COL(BB_FILE_PURCHASES, "purchases", BB_COL_PUR_DATE, "date", "PurchaseDate", "purchase date column"),
    COL(BB_FILE_PURCHASES, "purchases", BB_COL_PUR_TOTAL, "total_price", "TotalPrice",
        "amount paid column (empty: list price x quantity, or no revenue)"),
    COL(BB_FILE_PURCHASES, "purchases", BB_COL_PUR_EMPLOYEE, "employee_id", "EmployeeID",
        "employee column (empty: none)"),
};

#define NOPTS (sizeof opts / sizeof opts[0])

static void *field(bb_config *c, const opt_def *d)
{
    return (char *)c + d->offset;
}

static const void *cfield(const bb_config *c, const opt_def *d)
{
    return (const char *)c + d->offset;
}

/* The command-line name: "--as-of" for [run] as_of, "--purchases-date-format" otherwise. */
static void cli_name(const opt_def *d, char *out, size_t size)
{
    bool run = strcmp(d->section, "run") == 0 || strcmp(d->section, "report") == 0;
    if (strcmp(d->section, "report") == 0 && strcmp(d->key, "title") == 0)
        run = false; /* --report-title reads better than --title */
    snprintf(out, size, "%s%s%s", run ? "" : d->section, run ? "" : "-", d->key);
    for (char *p = out; *p; p++)
        if (*p == '_')
            *p = '-';
}

static const opt_def *find(const char *section, const char *key)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (strcmp(opts[i].section, section) == 0 && strcmp(opts[i].key, key) == 0)
            return &opts[i];
    return NULL;
}

static bb_err set_value(bb_config *c, const opt_def *d, const char *value, const char *base_dir,
                        char *err, size_t errsize)
{
    void *f = field(c, d);
    char *end;
    switch (d->type) {
    case OPT_STRING:
    case OPT_PATH: {
        char *copy;
        if (d->type == OPT_PATH && base_dir && value[0] && value[0] != '/') {
            size_t n = strlen(base_dir) + strlen(value) + 2;
            copy = malloc(n);
            if (copy)
                snprintf(copy, n, "%s/%s", base_dir, value);
        } else {
            copy = strdup(value);
        }
        if (!copy)
            return BB_ERR_NOMEM;
        free(*(char **)f);
        *(char **)f = copy;
        return BB_OK;
    }
    case OPT_INT: {
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end || v < d->min || v > d->max) {
            snprintf(err, errsize, "[%s] %s: '%s' is not a whole number in %lld..%lld",
                     d->section, d->key, value, (long long)d->min, (long long)d->max);
            return BB_ERR_CONFIG;
        }
        *(int64_t *)f = v;
        return BB_OK;
    }
    case OPT_U64: {
        errno = 0;
        unsigned long long v = strtoull(value, &end, 10);
        if (errno || end == value || *end || value[0] == '-') {
            snprintf(err, errsize, "[%s] %s: '%s' is not a non-negative whole number", d->section,
                     d->key, value);
            return BB_ERR_CONFIG;
        }
        *(uint64_t *)f = v;
        return BB_OK;
    }
    case OPT_RATIO: {
        /* Parsed without strtod so that the C locale never matters. */
        int64_t v = 0, scale = 1;
        const char *p = value;
        bool digits = false;
        for (; *p >= '0' && *p <= '9'; p++, digits = true)
            v = v * 10 + (*p - '0');
        if (*p == '.')
            for (p++; *p >= '0' && *p <= '9' && scale < 1000000000; p++, digits = true)
                v = v * 10 + (*p - '0'), scale *= 10;
        double r = (double)v / (double)scale;
        if (!digits || *p || r > 1.0) {
            snprintf(err, errsize, "[%s] %s: '%s' is not a number between 0 and 1 (e.g. 0.01 for 1 %%)",
                     d->section, d->key, value);
            return BB_ERR_CONFIG;
        }
        *(double *)f = r;
        return BB_OK;
    }
    case OPT_DATE: {
        int32_t day = BB_DATE_NONE;
        if (value[0] && !bb_date_parse_iso(value, &day)) {
            snprintf(err, errsize, "[%s] %s: '%s' is not a date YYYY-MM-DD", d->section, d->key,
                     value);
            return BB_ERR_CONFIG;
        }
        *(int32_t *)f = day;
        return BB_OK;
    }
    case OPT_BOOL: {
        static const char *const yes[] = {"true", "yes", "1", "on"};
        static const char *const no[] = {"false", "no", "0", "off"};
        for (size_t i = 0; i < 4; i++) {
            if (strcmp(value, yes[i]) == 0 || strcmp(value, no[i]) == 0) {
                *(bool *)f = strcmp(value, yes[i]) == 0;
                return BB_OK;
            }
        }
        snprintf(err, errsize, "[%s] %s: '%s' is not true or false", d->section, d->key, value);
        return BB_ERR_CONFIG;
    }
    case OPT_CHAR:
        if (strcmp(value, "tab") == 0 || strcmp(value, "\\t") == 0) {
            *(char *)f = '\t';
            return BB_OK;
        }
        if (strlen(value) != 1 || value[0] == '"' || value[0] == '\n' || value[0] == '\r') {
            snprintf(err, errsize, "[%s] %s: '%s' must be one character (or \"tab\")", d->section,
                     d->key, value);
            return BB_ERR_CONFIG;
        }
        *(char *)f = value[0];
        return BB_OK;
    }
    return BB_ERR_INTERNAL;
}

/* The value as text, as it would be written in an INI file. A secret is
 * never written: it reads "" (or "(set)" with show_set). */
static void value_text_masked(const bb_config *c, const opt_def *d, char *out, size_t size,
                              bool show_set);

static void value_text(const bb_config *c, const opt_def *d, char *out, size_t size)
{
    value_text_masked(c, d, out, size, false);
}

static void value_text_masked(const bb_config *c, const opt_def *d, char *out, size_t size,
                              bool show_set)
{
    const void *f = cfield(c, d);
    if (d->flags & OPT_SECRET) {
        bool set = *(char *const *)f && (*(char *const *)f)[0];
        snprintf(out, size, "%s", set && show_set ? "(set)" : "");
        return;
    }
    switch (d->type) {
    case OPT_STRING:
    case OPT_PATH:
        snprintf(out, size, "%s", *(char *const *)f ? *(char *const *)f : "");
        break;
    case OPT_INT:
        snprintf(out, size, "%lld", (long long)*(const int64_t *)f);
        break;
    case OPT_U64:
        snprintf(out, size, "%llu", (unsigned long long)*(const uint64_t *)f);
        break;
    case OPT_RATIO: {
        /* Up to 6 decimals, trailing zeros dropped, locale-free. */
        long long micro = (long long)(*(const double *)f * 1e6 + 0.5);
        snprintf(out, size, "%lld.%06lld", micro / 1000000, micro % 1000000);
        size_t n = strlen(out);
        while (n > 2 && out[n - 1] == '0' && out[n - 2] != '.')
            out[--n] = '\0';
        break;
    }
    case OPT_DATE:
        if (*(const int32_t *)f == BB_DATE_NONE) {
            snprintf(out, size, "%s", "");
        } else {
            char d10[11];
            bb_date_format(*(const int32_t *)f, d10);
            snprintf(out, size, "%s", d10);
        }
        break;
    case OPT_BOOL:
        snprintf(out, size, "%s", *(const bool *)f ? "true" : "false");
        break;
    case OPT_CHAR:
        if (*(const char *)f == '\t')
            snprintf(out, size, "tab");
        else
            snprintf(out, size, "%c", *(const char *)f);
        break;
    }
}

bb_err bb_config_init(bb_config *c)
{
    memset(c, 0, sizeof *c);
    char err[256];
    for (size_t i = 0; i < NOPTS; i++) {
        bb_err e = set_value(c, &opts[i], opts[i].def, NULL, err, sizeof err);
        if (e != BB_OK) {
            bb_config_free(c);
            return e == BB_ERR_NOMEM ? e : BB_ERR_INTERNAL;
        }
    }
    return BB_OK;
}

void bb_config_free(bb_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < NOPTS; i++) {
        if (opts[i].type == OPT_STRING || opts[i].type == OPT_PATH) {
            char **p = field(c, &opts[i]);
            free(*p);
            *p = NULL;
        }
    }
    free(c->config_path);
    c->config_path = NULL;
}

bb_err bb_config_set(bb_config *c, const char *section, const char *key, const char *value,
                     char *err, size_t errsize)
{
    const opt_def *d = find(section, key);
    if (!d) {
        snprintf(err, errsize, "unknown setting [%s] %s", section, key);
        return BB_ERR_CONFIG;
    }
    return set_value(c, d, value, NULL, err, errsize);
}

typedef struct ini_state {
    bb_config *c;
    const char *path;
    char *dir;
    char *err;
    size_t errsize;
    bb_err e;
} ini_state;

static int on_ini_entry(void *user, const char *section, const char *key, const char *value)
{
    ini_state *s = user;
    const opt_def *d = find(section, key);
    if (!d) {
        bool known_section = false;
        for (size_t i = 0; i < NOPTS; i++)
            known_section |= strcmp(opts[i].section, section) == 0;
        if (known_section)
            snprintf(s->err, s->errsize, "unknown key '%s' in [%s]", key, section);
        else
            snprintf(s->err, s->errsize, "unknown section [%s] (key '%s')", section, key);
        s->e = BB_ERR_CONFIG;
        return 0;
    }
    s->e = set_value(s->c, d, value, s->dir, s->err, s->errsize);
    return s->e == BB_OK;
}

bb_err bb_config_load_ini(bb_config *c, const char *path, char *err, size_t errsize)
{
    char msg[400] = "";
    ini_state s = {.c = c, .path = path, .err = msg, .errsize = sizeof msg, .e = BB_OK};
    const char *slash = strrchr(path, '/');
    s.dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
    if (!s.dir)
        return BB_ERR_NOMEM;
    if (slash == path) {
        free(s.dir);
        s.dir = strdup("/");
    }
    int rc = ini_parse(path, on_ini_entry, &s);
    free(s.dir);
    if (rc == -1) {
        snprintf(err, errsize, "%s: cannot open the config file", path);
        return BB_ERR_CONFIG;
    }
    if (rc == -2)
        return BB_ERR_NOMEM;
    if (rc > 0) {
        snprintf(err, errsize, "%s:%d: %s", path, rc, msg[0] ? msg : "syntax error");
        return s.e == BB_ERR_NOMEM ? BB_ERR_NOMEM : BB_ERR_CONFIG;
    }
    return BB_OK;
}

static const opt_def *find_cli(const char *name)
{
    char buf[96];
    for (size_t i = 0; i < NOPTS; i++) {
        cli_name(&opts[i], buf, sizeof buf);
        if (strcmp(buf, name) == 0)
            return &opts[i];
    }
    return NULL;
}

bb_err bb_config_parse_args(bb_config *c, int argc, char **argv, char *err, size_t errsize)
{
    /* First pass: the config file, so that the command line wins over it. */
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = NULL;
        if (strncmp(a, "--config=", 9) == 0)
            v = a + 9;
        else if (strcmp(a, "--config") == 0) {
            if (i + 1 >= argc) {
                snprintf(err, errsize, "--config needs a file name");
                return BB_ERR_USAGE;
            }
            v = argv[++i];
        }
        if (v) {
            free(c->config_path);
            c->config_path = strdup(v);
            if (!c->config_path)
                return BB_ERR_NOMEM;
            bb_err e = bb_config_load_ini(c, v, err, errsize);
            if (e != BB_OK)
                return e;
        }
    }
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            snprintf(err, errsize, "unexpected argument '%s'", a);
            return BB_ERR_USAGE;
        }
        char name[96];
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (nlen >= sizeof name) {
            snprintf(err, errsize, "unknown option '%s'", a);
            return BB_ERR_USAGE;
        }
        memcpy(name, a + 2, nlen);
        name[nlen] = '\0';
        if (strcmp(name, "print-config") == 0 && !eq) {
            c->print_config = true;
            continue;
        }
        if (strcmp(name, "quiet") == 0 && !eq) {
            c->verbosity = -1;
            continue;
        }
        if (strcmp(name, "verbose") == 0 && !eq) {
            c->verbosity = 1;
            continue;
        }
        if (strcmp(name, "send") == 0 && !eq) {
            c->send = true;
            continue;
        }
        const char *value;
        if (eq) {
            value = eq + 1;
        } else {
            if (i + 1 >= argc) {
                snprintf(err, errsize, "option --%s needs a value", name);
                return BB_ERR_USAGE;
            }
            value = argv[++i];
        }
        if (strcmp(name, "config") == 0)
            continue; /* loaded above */
        const opt_def *d = find_cli(name);
        if (!d) {
            snprintf(err, errsize, "unknown option '--%s' (see bbreport --help)", name);
            return BB_ERR_USAGE;
        }
        char msg[400];
        bb_err e = set_value(c, d, value, NULL, msg, sizeof msg);
        if (e != BB_OK) {
            snprintf(err, errsize, "--%s: %s", name, msg);
            return e == BB_ERR_CONFIG ? BB_ERR_USAGE : e;
        }
    }
    return BB_OK;
}

void bb_config_print_ini(const bb_config *c, FILE *f)
{
    const char *section = "";
    fprintf(f, "; bbreport settings (bbreport run --print-config)\n");
    for (size_t i = 0; i < NOPTS; i++) {
        const opt_def *d = &opts[i];
        if (strcmp(section, d->section) != 0) {
            section = d->section;
            fprintf(f, "\n[%s]\n", section);
        }
        char v[1024];
        value_text(c, d, v, sizeof v);
        fprintf(f, "; %s\n%s = %s\n", d->help, d->key, v);
    }
}

void bb_config_print_help(FILE *f)
{
    const char *section = "";
    for (size_t i = 0; i < NOPTS; i++) {
        const opt_def *d = &opts[i];
        if (strcmp(section, d->section) != 0) {
            section = d->section;
            fprintf(f, "\n  [%s]\n", section);
        }
        char name[96];
        cli_name(d, name, sizeof name);
        const char *def = d->def[0] ? d->def : "(empty)";
        fprintf(f, "  --%-30s %s (default: %s)\n", name, d->help, def);
    }
}

cJSON *bb_config_to_json(const bb_config *c, bool fingerprint_only)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    for (size_t i = 0; i < NOPTS; i++) {
        const opt_def *d = &opts[i];
        if (fingerprint_only && (d->flags & OPT_NOFP))
            continue;
        cJSON *sec = cJSON_GetObjectItemCaseSensitive(root, d->section);
        if (!sec)
            sec = cJSON_AddObjectToObject(root, d->section);
        char v[1024];
        value_text_masked(c, d, v, sizeof v, true);
        if (!sec || !cJSON_AddStringToObject(sec, d->key, v)) {
            cJSON_Delete(root);
            return NULL;
        }
    }
    return root;
}

void bb_config_ingest_opts(const bb_config *c, bb_ingest_opts *o)
{
    bb_ingest_defaults(o);
    o->data_dir = c->data_dir;
    o->reject_threshold = c->reject_threshold;
    o->as_of = c->as_of;
    o->max_record_bytes = (size_t)c->max_record_bytes;
    o->log_rejects = (unsigned)c->log_rejects;
    for (int f = 0; f < BB_FILE__COUNT; f++) {
        o->file[f].file = c->input[f].file;
        o->file[f].delimiter = c->input[f].delimiter;
        o->file[f].date_format = c->input[f].date_format;
        for (int r = 0; r < BB_MAX_COLUMNS; r++)
            o->file[f].column[r] = c->input[f].column[r];
    }
}
