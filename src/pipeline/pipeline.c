#define _XOPEN_SOURCE 700 /* realpath */
#include "pipeline/pipeline.h"

#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <stdbool.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "analytics/changes.h"
#include "analytics/sales.h"
#include "analytics/summary.h"
#include "bb_build_info.h"
#include "ingest/csv.h"
#include "ingest/ingest.h"
#include "pipeline/mail.h"
#include "pipeline/rundir.h"
#include "recommend/recommend.h"
#include "render/customer_sheet.h"
#include "render/section_sales.h"
#include "segment/segment.h"
#include "render/report.h"
#include "util/buf.h"
#include "util/date.h"
#include "util/fmt.h"
#include "util/fs.h"
#include "util/sha256.h"

#define MAX_STAGES 16

typedef struct stage_rec {
    const char *name;
    double wall_ms;
    long peak_rss_kb;
} stage_rec;

typedef struct run_state {
    const bb_config *c;
    bb_log *log;
    stage_rec stages[MAX_STAGES];
    int nstages;
    int total_stages;
    double t_stage;
    double t_start;
    time_t wall_start;
} run_state;

/* A progress bar on a terminal; nothing when the console is a file or a pipe
 * (cron, systemd), whose log gets the timestamped stage lines only. */
typedef struct progress {
    bool tty;
    double last_ms;
    bool drawn;
} progress;

static double now_ms(void);

static void draw_progress(void *user, const char *file, uint64_t done, uint64_t total)
{
    progress *p = user;
    double t = now_ms();
    if (!p->tty || (t - p->last_ms < 100 && done < total))
        return;
    p->last_ms = t;
    int width = 30;
    int filled = total ? (int)((double)done / (double)total * width) : width;
    if (filled > width)
        filled = width;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r  %-28.28s [%s] %3d %%", file, bar, total ? (int)(100.0 * (double)done / (double)total) : 100);
    if (done >= total)
        fputc('\n', stderr);
    fflush(stderr);
    p->drawn = true;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* For tests of crash safety: with BB_DEBUG_STOP_AT=<stage>, the process stops
 * itself (SIGSTOP) as that stage begins, so a test can kill it there. */
static void debug_stop_at(const char *stage)
{
    const char *at = getenv("BB_DEBUG_STOP_AT");
    if (at && strcmp(at, stage) == 0)
        raise(SIGSTOP);
}

static void stage_begin(run_state *s, const char *name, const char *what)
{
    debug_stop_at(name);
    if (s->nstages < MAX_STAGES)
        s->stages[s->nstages].name = name;
    bb_info(s->log, "[%d/%d] %s", s->nstages + 1, s->total_stages, what);
    s->t_stage = now_ms();
}

static void stage_end(run_state *s)
{
    if (s->nstages >= MAX_STAGES)
        return;
    stage_rec *r = &s->stages[s->nstages++];
    r->wall_ms = now_ms() - s->t_stage;
    r->peak_rss_kb = peak_rss_kb();
    bb_debug(s->log, "stage %s: %.1f ms, peak RSS %ld KiB", r->name, r->wall_ms, r->peak_rss_kb);
}

/* Document timestamps: SOURCE_DATE_EPOCH when set, else midnight of the as-of date. */
static long long document_epoch(int32_t as_of)
{
    const char *s = getenv("SOURCE_DATE_EPOCH");
    if (s && *s) {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (!errno && !*end && v >= 0)
            return v;
    }
    return (long long)as_of * 86400LL;
}

/* The run id: a short fingerprint of program version, input hashes and the
 * settings that can change results. */
static bb_err compute_run_id(const bb_config *c, const bb_dataset *ds, char out[16])
{
    bb_buf b;
    bb_buf_init(&b, 0);
    bb_err e = bb_buf_printf(&b, "bbreport %s\n", BB_VERSION);
    for (int f = 0; f < BB_FILE__COUNT && e == BB_OK; f++) {
        const bb_file_quality *q = &ds->quality[f];
        e = bb_buf_printf(&b, "%s %s %s\n", bb_ingest_file_key((bb_file_kind)f), q->name,
                          q->present ? q->sha256 : "-");
    }
    cJSON *opts = bb_config_to_json(c, true);
    char *text = opts ? cJSON_PrintUnformatted(opts) : NULL;
    if (e == BB_OK)
        e = text ? bb_buf_puts(&b, text) : BB_ERR_NOMEM;
    char hex[65];
    if (e == BB_OK)
        e = bb_sha256_of(b.data, b.len, hex);
    if (e == BB_OK) {
        memcpy(out, hex, 10);
        out[10] = '\0';
    }
    free(text);
    cJSON_Delete(opts);
    bb_buf_free(&b);
    return e;
}

static cJSON *quality_json(const bb_file_quality *q, bb_file_kind kind, const char *run_dir)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "role", bb_ingest_file_key(kind));
    cJSON_AddStringToObject(o, "file", q->name);
    cJSON_AddBoolToObject(o, "present", q->present);
    cJSON_AddBoolToObject(o, "derived", q->derived);
    if (q->present) {
        char *abs = realpath(q->path, NULL);
        cJSON_AddStringToObject(o, "path", abs ? abs : q->path);
        free(abs);
        cJSON_AddNumberToObject(o, "bytes", (double)q->bytes);
        cJSON_AddStringToObject(o, "sha256", q->sha256);
        cJSON_AddNumberToObject(o, "lines", (double)q->lines);
        cJSON_AddNumberToObject(o, "rows", (double)q->rows);
        cJSON_AddNumberToObject(o, "accepted", (double)q->accepted);
        cJSON_AddNumberToObject(o, "rejected", (double)q->rejected);
        cJSON_AddNumberToObject(o, "blank_lines", (double)q->blank_lines);
        cJSON_AddBoolToObject(o, "bom", q->bom);
        cJSON_AddBoolToObject(o, "crlf", q->crlf);
        cJSON *r = cJSON_AddObjectToObject(o, "rejected_by_reason");
        for (int k = 0; k < BB_REJ__COUNT; k++)
            if (q->by_reason[k])
                cJSON_AddNumberToObject(r, bb_reject_code((bb_reject_reason)k), (double)q->by_reason[k]);
        if (q->quarantine_path[0]) {
            size_t n = strlen(run_dir);
            const char *rel = strncmp(q->quarantine_path, run_dir, n) == 0 ? q->quarantine_path + n + 1
                                                                           : q->quarantine_path;
            cJSON_AddStringToObject(o, "quarantine", rel);
        }
    }
    return o;
}

static void iso_utc(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct run_results;
static void manifest_results(cJSON *m, const struct run_results *x);

static bb_err write_manifest(run_state *s, const char *dir, const char *status, const char *error,
                             const char *run_id, const char *as_of, const bb_file_quality *quality,
                             const bb_summary *sum, const char *const *outputs,
                             const struct run_results *results)
{
    cJSON *m = cJSON_CreateObject();
    if (!m)
        return BB_ERR_NOMEM;
    char t[32];
    cJSON_AddStringToObject(m, "program", "bbreport");
    cJSON_AddStringToObject(m, "version", BB_VERSION);
    cJSON_AddStringToObject(m, "status", status);
    if (error)
        cJSON_AddStringToObject(m, "error", error);
    if (run_id)
        cJSON_AddStringToObject(m, "run_id", run_id);
    if (as_of)
        cJSON_AddStringToObject(m, "as_of", as_of);
    cJSON_AddStringToObject(m, "as_of_source", s->c->as_of == BB_DATE_NONE ? "last purchase date" : "configured");
    iso_utc(s->wall_start, t);
    cJSON_AddStringToObject(m, "started_utc", t);
    iso_utc(time(NULL), t);
    cJSON_AddStringToObject(m, "finished_utc", t);
    cJSON_AddNumberToObject(m, "wall_ms", now_ms() - s->t_start);
    cJSON_AddNumberToObject(m, "peak_rss_kb", (double)peak_rss_kb());

    cJSON *inputs = cJSON_AddArrayToObject(m, "inputs");
    for (int f = 0; quality && f < BB_FILE__COUNT; f++)
        cJSON_AddItemToArray(inputs, quality_json(&quality[f], (bb_file_kind)f, dir));

    if (sum) {
        cJSON *c = cJSON_AddObjectToObject(m, "counts");
        cJSON_AddNumberToObject(c, "customers", sum->customers);
        cJSON_AddNumberToObject(c, "active_customers", sum->active_customers);
        cJSON_AddNumberToObject(c, "items", sum->items);
        cJSON_AddNumberToObject(c, "purchases", (double)sum->purchases);
        cJSON_AddNumberToObject(c, "visits", (double)sum->visits);
        cJSON_AddNumberToObject(c, "units", (double)sum->units);
        char money[32];
        cJSON_AddStringToObject(c, "revenue", bb_fmt_cents_plain(money, sizeof money, sum->revenue_cents));
        char d[11];
        if (sum->first_day != BB_DATE_NONE) {
            bb_date_format(sum->first_day, d);
            cJSON_AddStringToObject(c, "first_purchase", d);
            bb_date_format(sum->last_day, d);
            cJSON_AddStringToObject(c, "last_purchase", d);
        }
    }

    if (results)
        manifest_results(m, results);
    cJSON_AddItemToObject(m, "options", bb_config_to_json(s->c, false));
    cJSON *libs = bb_report_library_versions();
    if (libs) {
        cJSON_AddStringToObject(libs, "csv", bb_csv_library_version());
        cJSON_AddStringToObject(libs, "crypto", bb_sha256_library_version());
        cJSON_AddStringToObject(libs, "mail", bb_mail_library_version());
        cJSON_AddItemToObject(m, "libraries", libs);
    }

    cJSON *stages = cJSON_AddArrayToObject(m, "stages");
    for (int i = 0; i < s->nstages; i++) {
        cJSON *st = cJSON_CreateObject();
        cJSON_AddStringToObject(st, "name", s->stages[i].name);
        cJSON_AddNumberToObject(st, "wall_ms", (double)(long long)(s->stages[i].wall_ms * 10) / 10);
        cJSON_AddNumberToObject(st, "peak_rss_kb", (double)s->stages[i].peak_rss_kb);
        cJSON_AddItemToArray(stages, st);
    }

    cJSON *outs = cJSON_AddArrayToObject(m, "outputs");
    for (size_t i = 0; outputs && outputs[i]; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, outputs[i]);
        char *data;
        size_t len;
        if (bb_fs_read_file(path, (size_t)1 << 31, &data, &len) != BB_OK)
            continue;
        char hex[65];
        bb_sha256_of(data, len, hex);
        free(data);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "path", outputs[i]);
        cJSON_AddNumberToObject(o, "bytes", (double)len);
        cJSON_AddStringToObject(o, "sha256", hex);
        cJSON_AddItemToArray(outs, o);
    }

    char *text = cJSON_Print(m);
    cJSON_Delete(m);
    if (!text)
        return BB_ERR_NOMEM;
    char path[4200];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    size_t len = strlen(text);
    text[len] = '\n'; /* replace the NUL: write a final line break */
    bb_err e = bb_fs_write_file(path, text, len + 1);
    free(text);
    return e;
}

static void print_quality(FILE *out, const bb_dataset *ds, const bb_file_quality *q)
{
    char a[32], b[32], c[32];
    for (int f = 0; f < BB_FILE__COUNT; f++) {
        const bb_file_quality *fq = &q[f];
        if (!fq->present) {
            fprintf(out, "  %-10s %s: not found%s\n", bb_ingest_file_key((bb_file_kind)f), fq->name,
                    ds && fq->derived ? ", derived from purchases (IDs only)" : "");
            continue;
        }
        double share = fq->rows ? (double)fq->rejected / (double)fq->rows : 0;
        fprintf(out, "  %-10s %s: %s rows, %s accepted, %s rejected (%s)\n",
                bb_ingest_file_key((bb_file_kind)f), fq->name, bb_fmt_int(a, sizeof a, (int64_t)fq->rows),
                bb_fmt_int(b, sizeof b, (int64_t)fq->accepted),
                bb_fmt_int(c, sizeof c, (int64_t)fq->rejected), bb_fmt_pct(a, sizeof a, share, 2));
        for (int k = 0; k < BB_REJ__COUNT; k++)
            if (fq->by_reason[k])
                fprintf(out, "               %-28s %s\n", bb_reject_label((bb_reject_reason)k),
                        bb_fmt_int(b, sizeof b, (int64_t)fq->by_reason[k]));
        if (fq->quarantine_path[0])
            fprintf(out, "               quarantine: %s\n", fq->quarantine_path);
    }
}

static void mail_opts(const bb_config *c, bb_mail_opts *o)
{
    bb_mail_defaults(o);
    const bb_config_mail *m = &c->mail;
    o->smtp_url = m->smtp_url;
    o->from = m->from;
    o->to = m->to;
    o->operators = m->operators;
    if (m->subject && m->subject[0])
        o->subject = m->subject;
    o->starttls = m->starttls;
    o->username = m->username;
    o->password = m->password;
    o->attach_workbook = m->attach_workbook;
    o->max_bytes = (size_t)m->max_bytes;
    o->retries = (int)m->retries;
    o->retry_delay_ms = (int)m->retry_delay_ms;
    o->timeout_s = (int)m->timeout_s;
    o->templates_dir = c->templates_dir && c->templates_dir[0] ? c->templates_dir : NULL;
}

bb_err bb_pipeline_send(const bb_config *c, const char *run_dir, bb_log *log)
{
    if (!c->mail.smtp_url[0] || !c->mail.to[0] || !c->mail.from[0]) {
        bb_error(log, "mail: set [mail] smtp_url, from and to (or --mail-smtp-url, --mail-from, --mail-to)");
        return BB_ERR_CONFIG;
    }
    bb_mail_opts o;
    mail_opts(c, &o);
    return bb_mail_send_run(&o, run_dir, log);
}

void bb_pipeline_notify_failure(const bb_config *c, const char *failed_dir, bb_err e, bb_log *log)
{
    if (!c->mail.smtp_url[0] || !c->mail.operators[0] || !c->mail.from[0])
        return;
    bb_mail_opts o;
    mail_opts(c, &o);
    if (bb_mail_send_failure(&o, failed_dir, bb_strerror(e), bb_exit_code(e), log) != BB_OK)
        bb_error(log, "the failure notice could not be mailed to %s", c->mail.operators);
}

bb_err bb_pipeline_check(const bb_config *c, bb_log *log, FILE *out)
{
    bb_ingest_opts io;
    bb_config_ingest_opts(c, &io);
    io.quarantine_dir = NULL;
    bb_dataset *ds = NULL;
    bb_file_quality q[BB_FILE__COUNT];
    memset(q, 0, sizeof q);
    bb_err e = bb_ingest_load(&io, log, &ds, q);
    fprintf(out, "Data check of %s: %s\n", c->data_dir, e == BB_OK ? "usable" : bb_strerror(e));
    print_quality(out, ds, q);
    if (ds) {
        char d1[11], d2[11], n[32];
        bb_date_format(ds->first_day, d1);
        bb_date_format(ds->last_day, d2);
        fprintf(out, "  purchases from %s to %s; %s customers, %s items\n", d1, d2,
                bb_fmt_int(n, sizeof n, ds->customers.n), bb_fmt_int(d1, sizeof d1, ds->items.n));
    }
    bb_dataset_free(ds);
    return e;
}

/* Everything a run computes, freed in one place. */
typedef struct run_results {
    bb_dataset *ds;
    bb_summary sum;
    bool have_summary;
    bb_sales *sales;
    bb_segmentation *segments;
    bb_recs *recs;
    bb_changes *changes;
} run_results;

static void results_free(run_results *x)
{
    if (x->have_summary)
        bb_summary_free(&x->sum);
    bb_sales_free(x->sales);
    bb_segmentation_free(x->segments);
    bb_recs_free(x->recs);
    bb_changes_free(x->changes);
    bb_dataset_free(x->ds);
}

static bb_err analyse_sales(const bb_config *c, run_results *x, bb_log *log)
{
    bb_err e = bb_summary_compute(x->ds, &x->sum);
    x->have_summary = e == BB_OK;
    bb_sales_opts so;
    bb_sales_defaults(&so);
    so.top_n = (int)c->sales_top_items;
    if (e == BB_OK && !bb_sales_period_parse(c->sales_period, &so.period)) {
        bb_error(log, "[sales] period: \"%s\" is not month, week or quarter", c->sales_period);
        e = BB_ERR_CONFIG;
    }
    if (e == BB_OK)
        e = bb_sales_compute(x->ds, &so, &x->sales);
    return e;
}

static bb_err segment_customers(const bb_config *c, const bb_report *r, const char *prev_dir,
                                run_results *x, bb_log *log)
{
    bb_segment_opts go;
    bb_segment_defaults(&go);
    const bb_config_segment *cs = &c->segment;
    go.k = (int)cs->k;
    go.k_min = (int)cs->k_min;
    go.k_max = (int)cs->k_max;
    go.n_init = (int)cs->n_init;
    go.max_iter = (int)cs->max_iter;
    go.tol = cs->tol;
    go.silhouette_sample = (size_t)cs->silhouette_sample;
    go.scan_sample = (size_t)cs->scan_sample;
    go.features = cs->features[0] ? cs->features : NULL;
    go.log_features = cs->log_features[0] ? cs->log_features : NULL;
    go.seed = c->seed;
    go.threads = (int)c->threads;
    bb_err e = bb_segment_run(x->ds, &go, log, &x->segments);
    /* Names stay those of the previous night where the customers are mostly
     * the same; the migrations are then counted between stable names. */
    if (e == BB_OK && prev_dir) {
        char path[4200];
        snprintf(path, sizeof path, "%s/segments.csv", prev_dir);
        if (bb_fs_exists(path))
            e = bb_segment_keep_names(x->segments, x->ds, path, log, NULL);
    }
    char *texts = NULL;
    if (e == BB_OK)
        e = bb_report_template(r, "segments.json", &texts, log);
    if (e == BB_OK)
        e = bb_segment_set_texts(x->segments, texts, strlen(texts), log);
    free(texts);
    return e;
}

static bb_err recommend(const bb_config *c, run_results *x, bb_log *log)
{
    bb_rec_opts ro;
    bb_rec_defaults(&ro);
    const bb_config_recommend *cr = &c->recommend;
    ro.holdout_days = (int)cr->holdout_days;
    ro.top_n = (int)c->top_n;
    ro.k = (int)cr->k;
    ro.serve = cr->serve;
    ro.loss = cr->loss;
    ro.hidden = cr->hidden;
    ro.dropout = cr->dropout;
    ro.input_dropout = cr->input_dropout;
    ro.l2 = cr->l2;
    ro.lr = cr->lr;
    ro.max_epochs = (int)cr->max_epochs;
    ro.batch = (int)cr->batch;
    ro.patience = (int)cr->patience;
    ro.epoch_rows = (int)cr->epoch_rows;
    ro.repeatable = cr->repeatable;
    ro.seed = c->seed;
    ro.threads = (int)c->threads;
    const bb_segmentation *g = x->segments;
    const char *names[BB_SEG_MAX_PREV];
    int n = g && g->k < BB_SEG_MAX_PREV ? g->k : 0;
    for (int i = 0; i < n; i++)
        names[i] = bb_segment_name(g, i);
    bb_rec_segments sg = {.of_customer = n ? g->segment : NULL, .n = n, .names = names};
    return bb_recommend_run(x->ds, &sg, &ro, log, &x->recs);
}

/* The run's other files: the recommendations, the model, the segment assignments. */
static bb_err write_data_files(const bb_report *r, const run_results *x, bb_log *log)
{
    char path[4200];
    bb_err e = BB_OK;
    if (x->recs) {
        snprintf(path, sizeof path, "%s/recommendations.csv", r->run_dir);
        e = bb_recs_write_csv(x->recs, x->ds, path);
        if (e == BB_OK) {
            snprintf(path, sizeof path, "%s/model.bbrec", r->run_dir);
            e = bb_recs_save_model(x->recs, x->ds, path);
        }
    }
    if (e == BB_OK && x->segments) {
        snprintf(path, sizeof path, "%s/segments.csv", r->run_dir);
        e = bb_segment_save_assignments(x->segments, x->ds, path);
    }
    if (e != BB_OK)
        bb_error(log, "cannot write %s: %s", path, bb_strerror(e));
    return e;
}

/* What the manifest records of the analysis (and what the next run compares with). */
static void manifest_results(cJSON *m, const run_results *x)
{
    if (x->sales) {
        bb_changes_manifest(x->sales, x->ds, m);
        /* The headline figures as the e-mail shows them. */
        cJSON *kpis = cJSON_AddArrayToObject(m, "kpis");
        for (int k = 0; k < BB_KPI__COUNT; k++) {
            const bb_sales_kpi *q = &x->sales->kpi[k];
            if (!q->known || !q->has[BB_SALES_CUR])
                continue;
            char value[64], delta[64];
            bb_section_sales_kpi_text(q, value, sizeof value, delta, sizeof delta);
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "label", q->name);
            cJSON_AddStringToObject(j, "value", value);
            char d[160];
            snprintf(d, sizeof d, "%s vs %s", delta, x->sales->period[BB_SALES_PREV].short_label);
            cJSON_AddStringToObject(j, "delta", d);
            cJSON_AddItemToArray(kpis, j);
        }
    }
    if (x->segments)
        bb_segment_manifest(x->segments, m);
    if (x->recs)
        cJSON_AddItemToObject(m, "recommendations", bb_recs_manifest_json(x->recs));
}

bb_err bb_pipeline_run(const bb_config *c, bb_log *log, bb_run_result *res)
{
    memset(res, 0, sizeof *res);
    run_state s = {.c = c, .log = log, .total_stages = 10};
    s.t_start = now_ms();
    s.wall_start = time(NULL);
    bb_rundir rd;
    run_results x;
    memset(&x, 0, sizeof x);
    bb_file_quality quality[BB_FILE__COUNT];
    memset(quality, 0, sizeof quality);
    char run_id[16] = "";
    char as_of[11] = "";
    char path[4200];
    char prev_dir[4096];

    bb_err e = bb_rundir_open(&rd, c->out_dir, log);
    if (e != BB_OK) {
        bb_rundir_close(&rd);
        return e;
    }
    snprintf(path, sizeof path, "%s/run.log", rd.tmp);
    if (bb_log_attach_file(log, path) != BB_OK)
        bb_warn(log, "cannot write %s; logging to the console only", path);
    bb_info(log, "bbreport %s: data %s, output %s", BB_VERSION, c->data_dir, c->out_dir);

    /* 1. ingest */
    stage_begin(&s, "ingest", "reading input files");
    bb_ingest_opts io;
    bb_config_ingest_opts(c, &io);
    char quarantine[4200];
    snprintf(quarantine, sizeof quarantine, "%s/quarantine", rd.tmp);
    io.quarantine_dir = quarantine;
    progress bar = {.tty = bb_log_console_is_tty(log) && c->verbosity >= 0};
    io.progress = draw_progress;
    io.progress_user = &bar;
    e = bb_ingest_load(&io, log, &x.ds, quality);
    stage_end(&s);
    if (e != BB_OK)
        goto fail;
    {
        char a[32], b[32], cc[32];
        bb_info(log, "read %s customers, %s items, %s purchases",
                bb_fmt_int(a, sizeof a, x.ds->customers.n), bb_fmt_int(b, sizeof b, x.ds->items.n),
                bb_fmt_int(cc, sizeof cc, (int64_t)x.ds->purchases.n));
    }
    bb_date_format(x.ds->as_of, as_of);
    e = compute_run_id(c, x.ds, run_id);
    if (e != BB_OK)
        goto fail;
    bool has_prev = bb_rundir_previous(&rd, as_of, prev_dir, sizeof prev_dir);
    if (has_prev)
        bb_info(log, "comparing with the previous run %s", prev_dir);

    bb_report r = {
        .ds = x.ds,
        .summary = &x.sum,
        .title = c->title,
        .business_name = c->business_name,
        .version = BB_VERSION,
        .run_id = run_id,
        .seed = c->seed,
        .data_dir = c->data_dir,
        .epoch = document_epoch(x.ds->as_of),
        .run_dir = rd.tmp,
        .templates_dir = c->templates_dir,
    };
    memcpy(r.as_of, as_of, sizeof as_of);

    /* 2. sales analytics, and the comparison with the previous run */
    stage_begin(&s, "analytics", "computing sales figures");
    e = analyse_sales(c, &x, log);
    if (e == BB_OK)
        e = bb_changes_compute(has_prev ? prev_dir : NULL, x.ds, x.sales, log, &x.changes);
    stage_end(&s);
    if (e != BB_OK)
        goto fail;
    r.sales = x.sales;
    r.changes = x.changes;

    /* 3. segmentation */
    stage_begin(&s, "segment", "segmenting customers");
    e = segment_customers(c, &r, has_prev ? prev_dir : NULL, &x, log);
    stage_end(&s);
    if (e != BB_OK)
        goto fail;
    r.segments = x.segments;

    /* 4. recommendations */
    stage_begin(&s, "recommend", "training and evaluating recommenders");
    e = recommend(c, &x, log);
    stage_end(&s);
    if (e != BB_OK)
        goto fail;
    r.recs = x.recs;

    /* 5-9. outputs */
    stage_begin(&s, "charts", "drawing charts");
    e = bb_report_charts(&r, log);
    stage_end(&s);
    if (e != BB_OK)
        goto fail;
    stage_begin(&s, "data", "writing recommendations.csv, segments.csv and the model");
    e = write_data_files(&r, &x, log);
    stage_end(&s);
    if (e != BB_OK)
        goto fail;
    stage_begin(&s, "sheets", "writing customer sheets");
    size_t sheets = 0;
    e = bb_customer_sheets_write(&r, c->sheets, log, &sheets);
    stage_end(&s);
    if (e != BB_OK)
        goto fail;
    stage_begin(&s, "pdf", "writing report.pdf");
    e = bb_report_pdf(&r, log);
    stage_end(&s);
    if (e != BB_OK)
        goto fail;
    stage_begin(&s, "workbook", "writing workbook.xlsx");
    e = bb_report_xlsx(&r, log);
    stage_end(&s);
    if (e != BB_OK)
        goto fail;
    stage_begin(&s, "html", "writing report.html");
    e = bb_report_html(&r, log);
    stage_end(&s);
    if (e != BB_OK)
        goto fail;

    /* 10. manifest and publication */
    {
        static const char *const outputs[] = {"report.pdf", "workbook.xlsx", "report.html",
                                              "recommendations.csv", "segments.csv", "model.bbrec",
                                              NULL};
        e = write_manifest(&s, rd.tmp, "ok", NULL, run_id, as_of, quality, &x.sum, outputs, &x);
        if (e != BB_OK) {
            bb_error(log, "cannot write manifest.json in %s", rd.tmp);
            goto fail;
        }
    }
    char name[64];
    snprintf(name, sizeof name, "%s_%s", as_of, run_id);
    bb_info(log, "run %s complete in %.1f s", name, (now_ms() - s.t_start) / 1000.0);
    bb_log_detach_file(log);
    e = bb_rundir_publish(&rd, name, log);
    if (e != BB_OK)
        goto fail;
    bb_rundir_prune(&rd, (int)c->keep_runs, log);
    snprintf(res->run_dir, sizeof res->run_dir, "%s", rd.final);
    memcpy(res->run_id, run_id, sizeof run_id);
    memcpy(res->as_of, as_of, sizeof as_of);
    res->sheets = sheets;
    bb_rundir_close(&rd);
    results_free(&x);
    return BB_OK;

fail:
    bb_error(log, "run failed: %s", bb_strerror(e));
    if (rd.tmp[0]) {
        write_manifest(&s, rd.tmp, "failed", bb_strerror(e), run_id[0] ? run_id : NULL,
                       as_of[0] ? as_of : NULL, quality, x.have_summary ? &x.sum : NULL, NULL, NULL);
        bb_log_detach_file(log);
        if (bb_rundir_fail(&rd, log) == BB_OK) {
            bb_rundir_prune(&rd, (int)c->keep_runs, log);
            snprintf(res->run_dir, sizeof res->run_dir, "%s", rd.final);
            bb_error(log, "the log, manifest and rejected rows of this run are in %s", rd.final);
        }
    }
    bb_rundir_close(&rd);
    results_free(&x);
    return e;
}
