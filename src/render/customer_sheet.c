/*
 * customer_sheet.c - the per-customer recommendation sheets (one A4 page
 * each), written by worker processes. See customer_sheet.h.
 */
#include "render/customer_sheet.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "recommend/recommend.h"
#include "render/pdf.h"
#include "util/date.h"
#include "util/fmt.h"
#include "util/fs.h"

#define MAX_WORKERS 8
#define IDS_FILE_MAX ((size_t)64 << 20)

int bb_customer_sheets_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (int)n;
}

/* ---- one sheet ---------------------------------------------------------- */

static const char *flag_text(int8_t v)
{
    return v > 0 ? "yes" : v == 0 ? "no" : NULL;
}

/* "Age 58 · F · zip 90015 · customer since 2022-12-07 · e-mail yes · SMS no · segment Champions" */
static void profile_line(const bb_report *r, uint32_t c, char *out, size_t size)
{
    const bb_customers *cu = &r->ds->customers;
    const bb_recs *rc = r->recs;
    size_t n = 0;
    out[0] = '\0';
#define PART(...)                                                                                          \
    do {                                                                                                   \
        if (n < size)                                                                                      \
            n += (size_t)snprintf(out + n, size - n, "%s", n ? " · " : "");                              \
        if (n < size)                                                                                      \
            n += (size_t)snprintf(out + n, size - n, __VA_ARGS__);                                         \
    } while (0)
    if (cu->age[c] >= 0)
        PART("Age %d", cu->age[c]);
    if (cu->gender[c] != BB_UNKNOWN)
        PART("%s", bb_intern_str(r->ds->genders, cu->gender[c]));
    if (cu->zip[c] != BB_UNKNOWN)
        PART("zip %s", bb_intern_str(r->ds->zips, cu->zip[c]));
    if (cu->registered[c] != BB_DATE_NONE) {
        char d[11];
        bb_date_format(cu->registered[c], d);
        PART("customer since %s", d);
    }
    if (flag_text(cu->email[c]))
        PART("e-mail %s", flag_text(cu->email[c]));
    if (flag_text(cu->sms[c]))
        PART("SMS %s", flag_text(cu->sms[c]));
    if (rc->segment_of && rc->segment_of[c] >= 0)
        PART("segment %s", rc->segment_names[rc->segment_of[c]]);
#undef PART
    if (!out[0])
        snprintf(out, size, "No profile data in the customers file.");
}

static bb_err recs_table(const bb_report *r, uint32_t c, bb_pdf *pdf)
{
    const bb_recs *rc = r->recs;
    const bb_dataset *ds = r->ds;
    int n = rc->rec_count[c] < BB_SHEET_MAX_RECS ? rc->rec_count[c] : BB_SHEET_MAX_RECS;
    if (n == 0)
        return bb_pdf_paragraph(pdf, "No recommendation: there is nothing in the catalogue to suggest.");
    char text[BB_SHEET_MAX_RECS][4][320];
    const char *cells[BB_SHEET_MAX_RECS * 4];
    for (int i = 0; i < n; i++) {
        uint32_t item = rc->rec_item[(size_t)c * rc->top_n + i];
        snprintf(text[i][0], sizeof text[i][0], "%d", i + 1);
        snprintf(text[i][1], sizeof text[i][1], "%s", bb_intern_str(ds->item_names, ds->items.name[item]));
        snprintf(text[i][2], sizeof text[i][2], "%s",
                 bb_dataset_subcategory_name(ds, ds->items.subcategory[item]));
        bb_recs_reason_text(rc, ds, c, i, text[i][3], sizeof text[i][3]);
        for (int k = 0; k < 4; k++)
            cells[i * 4 + k] = text[i][k];
    }
    bb_pdf_column cols[] = {{"#", BB_PDF_RIGHT, 0.3}, {"Item", BB_PDF_LEFT, 2.2},
                            {"Subcategory", BB_PDF_LEFT, 1.3}, {"Why", BB_PDF_LEFT, 3.0}};
    bb_err e = bb_pdf_table(pdf, cols, 4, cells, (size_t)n, false);
    if (e == BB_OK) {
        char note[200];
        int src = rc->rec_source[c];
        if (src == BB_REC_SRC_MODEL)
            snprintf(note, sizeof note, "Suggested by the %s model from this customer's purchases, best first.",
                     bb_rec_kind_name(rc->served));
        else
            snprintf(note, sizeof note, "No purchases yet: the items most popular with %s.",
                     src == BB_REC_SRC_SEGMENT ? "this customer's segment" : "all customers");
        e = bb_pdf_note(pdf, note);
    }
    return e;
}

static bb_err purchases_table(const bb_report *r, uint32_t c, bb_pdf *pdf)
{
    const bb_recs *rc = r->recs;
    const bb_dataset *ds = r->ds;
    size_t first = rc->purchase_ptr[c], total = rc->purchase_ptr[c + 1] - first;
    size_t n = total < BB_SHEET_MAX_PURCHASES ? total : BB_SHEET_MAX_PURCHASES;
    if (n == 0)
        return bb_pdf_paragraph(pdf, "No purchases yet.");
    bool money = ds->price_source != BB_PRICE_NONE;
    char text[BB_SHEET_MAX_PURCHASES][4][200];
    const char *cells[BB_SHEET_MAX_PURCHASES * 4];
    for (size_t i = 0; i < n; i++) {
        uint32_t row = rc->purchase_rows[first + i];
        uint32_t item = ds->purchases.item[row];
        bb_date_format(ds->purchases.day[row], text[i][0]);
        snprintf(text[i][1], sizeof text[i][1], "%s", bb_intern_str(ds->item_names, ds->items.name[item]));
        bb_fmt_int(text[i][2], sizeof text[i][2], ds->purchases.quantity[row]);
        if (money)
            bb_fmt_money(text[i][3], sizeof text[i][3], ds->purchases.total_cents[row]);
        else
            snprintf(text[i][3], sizeof text[i][3], "–");
        for (int k = 0; k < 4; k++)
            cells[i * 4 + k] = text[i][k];
    }
    bb_pdf_column cols[] = {{"Date", BB_PDF_LEFT, 1.1}, {"Item", BB_PDF_LEFT, 3.2},
                            {"Quantity", BB_PDF_RIGHT, 0.8}, {"Amount", BB_PDF_RIGHT, 1.0}};
    bb_err e = bb_pdf_table(pdf, cols, 4, cells, n, false);
    if (e == BB_OK && total > n) {
        char note[96], num[32];
        bb_fmt_int(num, sizeof num, (int64_t)(total - n));
        snprintf(note, sizeof note, "%s earlier %s not shown.", num, total - n == 1 ? "purchase is" : "purchases are");
        e = bb_pdf_note(pdf, note);
    }
    return e;
}

static bb_err write_sheet(const bb_report *r, uint32_t c, const char *dir, char *err, size_t errsize)
{
    const bb_dataset *ds = r->ds;
    const bb_recs *rc = r->recs;
    const char *cid = bb_intern_str(ds->customers.ids, c);
    char title[256], header_right[64], path[2400], safe[80];
    snprintf(title, sizeof title, "Customer %s", cid);
    snprintf(header_right, sizeof header_right, "As of %s", r->as_of);
    bb_pdf_opts o = {
        .title = title,
        .subject = "Recommendations for the front desk",
        .author = r->business_name && r->business_name[0] ? r->business_name : NULL,
        .header_right = header_right,
        .epoch = r->epoch,
        .toc = false,
    };
    bb_pdf *pdf = NULL;
    bb_err e = bb_pdf_new(&pdf, &o);
    char text[600];
    if (e == BB_OK)
        e = bb_pdf_heading(pdf, 1, title);
    if (e == BB_OK) {
        profile_line(r, c, text, sizeof text);
        e = bb_pdf_paragraph(pdf, text);
    }
    if (e == BB_OK) {
        const bb_rec_profile *p = &rc->profile[c];
        char v[4][40];
        bb_fmt_int(v[0], sizeof v[0], p->visits);
        if (ds->price_source != BB_PRICE_NONE)
            bb_fmt_money(v[1], sizeof v[1], p->spent_cents);
        else
            snprintf(v[1], sizeof v[1], "–");
        if (p->first_day != BB_DATE_NONE) {
            bb_date_format(p->first_day, v[2]);
            bb_date_format(p->last_day, v[3]);
        } else {
            snprintf(v[2], sizeof v[2], "–");
            snprintf(v[3], sizeof v[3], "–");
        }
        bb_pdf_kpi k[] = {{"Visits", v[0], NULL, BB_PDF_TONE_NEUTRAL},
                          {"Spent", v[1], NULL, BB_PDF_TONE_NEUTRAL},
                          {"First visit", v[2], NULL, BB_PDF_TONE_NEUTRAL},
                          {"Last visit", v[3], NULL, BB_PDF_TONE_NEUTRAL}};
        e = bb_pdf_kpis(pdf, k, 4);
    }
    if (e == BB_OK)
        e = bb_pdf_heading(pdf, 2, "Recommended");
    if (e == BB_OK)
        e = recs_table(r, c, pdf);
    if (e == BB_OK)
        e = bb_pdf_heading(pdf, 2, "Recent purchases");
    if (e == BB_OK)
        e = purchases_table(r, c, pdf);
    bb_fs_safe_name(cid, safe);
    snprintf(path, sizeof path, "%s/%s.pdf", dir, safe);
    if (e == BB_OK)
        e = bb_pdf_save(pdf, path);
    if (e != BB_OK)
        snprintf(err, errsize, "customer sheet customers/%s.pdf: %.300s", safe,
                 pdf && bb_pdf_last_error(pdf)[0] ? bb_pdf_last_error(pdf) : bb_strerror(e));
    bb_pdf_free(pdf);
    return e;
}

/* ---- which customers ---------------------------------------------------- */

static bb_err select_ids(const bb_report *r, const char *file, uint32_t *list, size_t *n, bb_log *log)
{
    char *data = NULL;
    size_t len = 0;
    if (bb_fs_read_file(file, IDS_FILE_MAX, &data, &len) != BB_OK) {
        bb_error(log, "sheets: cannot read the customer list %s", file);
        return BB_ERR_CONFIG;
    }
    const bb_customers *cu = &r->ds->customers;
    uint8_t *seen = calloc(cu->n ? cu->n : 1, 1);
    if (!seen) {
        free(data);
        return BB_ERR_NOMEM;
    }
    size_t unknown = 0;
    char *line = data;
    while (line && line < data + len) {
        char *end = memchr(line, '\n', (size_t)(data + len - line));
        size_t l = end ? (size_t)(end - line) : (size_t)(data + len - line);
        while (l > 0 && (line[l - 1] == '\r' || line[l - 1] == ' ' || line[l - 1] == '\t'))
            l--;
        while (l > 0 && (*line == ' ' || *line == '\t'))
            line++, l--;
        if (l > 0 && line[0] != '#') {
            uint32_t id;
            if (bb_intern_get(cu->ids, line, l, &id)) {
                if (!seen[id]) {
                    seen[id] = 1;
                    list[(*n)++] = id;
                }
            } else if (unknown++ < 5) {
                bb_warn(log, "sheets: customer %.*s of %s is not in the data", (int)(l > 80 ? 80 : l), line, file);
            }
        }
        line = end ? end + 1 : NULL;
    }
    if (unknown > 5)
        bb_warn(log, "sheets: %zu IDs of %s are not in the data", unknown, file);
    free(seen);
    free(data);
    return BB_OK;
}

static bb_err select_customers(const bb_report *r, const char *which, uint32_t **list, size_t *n, bb_log *log)
{
    const bb_recs *rc = r->recs;
    uint32_t nc = r->ds->customers.n;
    *n = 0;
    *list = malloc((nc ? nc : 1) * sizeof **list);
    if (!*list)
        return BB_ERR_NOMEM;
    if (strcmp(which, "all") == 0) {
        for (uint32_t c = 0; c < nc; c++)
            (*list)[(*n)++] = c;
        return BB_OK;
    }
    if (strncmp(which, "segment:", 8) == 0) {
        const char *name = which + 8;
        for (int s = 0; s < rc->n_segments; s++) {
            if (strcmp(rc->segment_names[s], name) != 0)
                continue;
            for (uint32_t c = 0; c < nc; c++)
                if (rc->segment_of[c] == s)
                    (*list)[(*n)++] = c;
            return BB_OK;
        }
        bb_error(log, "sheets: no segment is called \"%s\"%s", name,
                 rc->n_segments ? "" : " (the run has no segments)");
        return BB_ERR_CONFIG;
    }
    if (strncmp(which, "ids:", 4) == 0 && which[4])
        return select_ids(r, which + 4, *list, n, log);
    bb_error(log, "sheets: \"%s\" is not all, none, segment:<name> or ids:<file>", which);
    return BB_ERR_CONFIG;
}

/* ---- workers ------------------------------------------------------------ */

typedef struct worker_report {
    uint64_t written;
    int32_t err;
    char msg[480];
} worker_report;

static void run_part(const bb_report *r, const uint32_t *list, size_t n, size_t first, size_t step,
                     const char *dir, worker_report *rep)
{
    memset(rep, 0, sizeof *rep);
    for (size_t i = first; i < n; i += step) {
        char msg[480];
        bb_err e = write_sheet(r, list[i], dir, msg, sizeof msg);
        if (e == BB_OK) {
            rep->written++;
        } else if (rep->err == BB_OK) {
            rep->err = (int32_t)e;
            snprintf(rep->msg, sizeof rep->msg, "%s", msg);
        }
    }
}

static bool read_report(int fd, worker_report *rep)
{
    size_t got = 0;
    while (got < sizeof *rep) {
        ssize_t k = read(fd, (char *)rep + got, sizeof *rep - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        got += (size_t)k;
    }
    return true;
}

bb_err bb_customer_sheets_write(const bb_report *r, const char *which, bb_log *log, size_t *written)
{
    *written = 0;
    if (!r->recs || !which || strcmp(which, "none") == 0)
        return BB_OK;
    uint32_t *list = NULL;
    size_t n = 0;
    bb_err e = select_customers(r, which, &list, &n, log);
    char dir[2100];
    snprintf(dir, sizeof dir, "%s/customers", r->run_dir);
    if (e == BB_OK && bb_fs_mkdirs(dir) != BB_OK) {
        bb_error(log, "cannot create %s", dir);
        e = BB_ERR_CANTCREAT;
    }
    if (e != BB_OK || n == 0) {
        free(list);
        return e;
    }
    int workers = n < BB_SHEETS_FORK_MIN ? 1 : bb_customer_sheets_workers();
    worker_report total = {0};
    if (workers == 1) {
        run_part(r, list, n, 0, 1, dir, &total);
    } else {
        pid_t pid[MAX_WORKERS];
        int fd[MAX_WORKERS];
        int started = 0;
        fflush(NULL); /* nothing buffered is written twice */
        for (int w = 0; w < workers; w++) {
            int p[2];
            if (pipe(p) != 0)
                break;
            pid[w] = fork();
            if (pid[w] < 0) {
                close(p[0]);
                close(p[1]);
                break;
            }
            if (pid[w] == 0) {
                close(p[0]);
                worker_report rep;
                run_part(r, list, n, (size_t)w, (size_t)workers, dir, &rep);
                ssize_t k = write(p[1], &rep, sizeof rep);
                _exit(k == (ssize_t)sizeof rep ? 0 : 1);
            }
            close(p[1]);
            fd[w] = p[0];
            started++;
        }
        /* Shares of workers that could not start are written here. */
        for (int w = started; w < workers; w++) {
            worker_report rep;
            run_part(r, list, n, (size_t)w, (size_t)workers, dir, &rep);
            total.written += rep.written;
            if (rep.err != BB_OK && total.err == BB_OK) {
                total.err = rep.err;
                snprintf(total.msg, sizeof total.msg, "%s", rep.msg);
            }
        }
        for (int w = 0; w < started; w++) {
            worker_report rep;
            bool ok = read_report(fd[w], &rep);
            close(fd[w]);
            int status = 0;
            while (waitpid(pid[w], &status, 0) < 0 && errno == EINTR)
                ;
            if (!ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                if (total.err == BB_OK) {
                    total.err = BB_ERR_INTERNAL;
                    snprintf(total.msg, sizeof total.msg, "a customer-sheet worker failed (status %d)", status);
                }
                continue;
            }
            total.written += rep.written;
            if (rep.err != BB_OK && total.err == BB_OK) {
                total.err = rep.err;
                snprintf(total.msg, sizeof total.msg, "%s", rep.msg);
            }
        }
    }
    free(list);
    *written = (size_t)total.written;
    if (total.err != BB_OK) {
        bb_error(log, "%s", total.msg);
        return (bb_err)total.err;
    }
    return BB_OK;
}
