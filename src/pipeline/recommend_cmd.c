/*
 * recommend_cmd.c - `bbreport recommend`: one customer's list from a saved model.
 *
 * The data is read exactly as `bbreport run` reads it (the same options and
 * config file); the purchases up to the as-of date of the customer's block
 * of BB_REC_SERVE_BLOCK customers become history rows in the model's item
 * order, served by the same code as in a run (model.h). The lines printed
 * are those of the run's recommendations.csv for that customer when model
 * and data are the run's (tests/test_recommend.c checks it).
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "pipeline/config.h"
#include "pipeline/pipeline.h"
#include "recommend/model_file.h"
#include "recommend/parallel.h"
#include "recommend/recommend.h"
#include "util/buf.h"

static const char USAGE[] =
    "usage: bbreport recommend --model FILE --customer ID [--data DIR] [--config FILE] [--top-n N]\n"
    "                          [other options of bbreport run, e.g. --as-of DATE]\n"
    "Prints the customer's recommendations as CSV (the columns of recommendations.csv),\n"
    "served by the model file a run wrote, without retraining.\n";

typedef struct cli_args {
    const char *model, *customer;
    long top_n;
    bool help;
    char **rest;
    int n_rest;
} cli_args;

/* Takes out this command's options; the others go on to the config parser. */
static bb_err parse(int argc, char **argv, cli_args *a, char *err, size_t errsize)
{
    static const char *const mine[] = {"--model", "--customer", "--top-n"};
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            a->help = true;
            continue;
        }
        int which = -1;
        const char *value = NULL;
        for (int k = 0; k < 3; k++) {
            size_t n = strlen(mine[k]);
            if (strncmp(arg, mine[k], n) == 0 && (arg[n] == '\0' || arg[n] == '=')) {
                which = k;
                if (arg[n] == '=')
                    value = arg + n + 1;
                else if (i + 1 < argc)
                    value = argv[++i];
                else {
                    snprintf(err, errsize, "%s needs a value", mine[k]);
                    return BB_ERR_USAGE;
                }
            }
        }
        if (which < 0) {
            a->rest[a->n_rest++] = argv[i];
            continue;
        }
        if (which == 0)
            a->model = value;
        else if (which == 1)
            a->customer = value;
        else {
            char *end;
            a->top_n = strtol(value, &end, 10);
            if (end == value || *end || a->top_n < 1 || a->top_n > 100) {
                snprintf(err, errsize, "--top-n must be a number from 1 to 100, not \"%s\"", value);
                return BB_ERR_USAGE;
            }
        }
    }
    if (!a->help && (!a->model || !a->customer)) {
        snprintf(err, errsize, "--model and --customer are required");
        return BB_ERR_USAGE;
    }
    return BB_OK;
}

typedef struct hist_entry {
    uint32_t row, item, count;
} hist_entry;

static int cmp_entry(const void *a, const void *b)
{
    const hist_entry *x = a, *y = b;
    if (x->row != y->row)
        return (x->row > y->row) - (x->row < y->row);
    return (x->item > y->item) - (x->item < y->item);
}

typedef struct id_ref {
    const char *id;
    uint32_t m;
} id_ref;

static int cmp_id_ref(const void *a, const void *b)
{
    return strcmp(((const id_ref *)a)->id, ((const id_ref *)b)->id);
}

/* The histories of customers [first, first + n) up to the as-of date, as
 * model items, in CSR with times bought; purchases of items the model does
 * not know are counted in *skipped. */
static bb_err block_history(const bb_dataset *ds, const uint32_t *from_ds, uint32_t first, uint32_t n, bb_csr *hist,
                            uint32_t **counts, size_t *skipped)
{
    hist_entry *h = NULL;
    size_t nh = 0, cap = 0;
    *skipped = 0;
    for (size_t i = 0; i < ds->purchases.n; i++) {
        uint32_t c = ds->purchases.customer[i];
        if (c < first || c - first >= n || ds->purchases.day[i] > ds->as_of)
            continue;
        uint32_t m = from_ds[ds->purchases.item[i]];
        if (m == BB_UNKNOWN) {
            (*skipped)++;
            continue;
        }
        if (nh == cap) {
            cap = cap ? cap * 2 : 1024;
            hist_entry *t = realloc(h, cap * sizeof *t);
            if (!t) {
                free(h);
                return BB_ERR_NOMEM;
            }
            h = t;
        }
        h[nh++] = (hist_entry){c - first, m, 1};
    }
    qsort(h, nh, sizeof *h, cmp_entry);
    size_t distinct = 0;
    for (size_t i = 0; i < nh; i++) {
        if (distinct > 0 && h[distinct - 1].row == h[i].row && h[distinct - 1].item == h[i].item)
            h[distinct - 1].count++;
        else
            h[distinct++] = h[i];
    }
    hist->n_rows = n;
    hist->ptr = calloc((size_t)n + 1, sizeof *hist->ptr);
    hist->col = malloc((distinct ? distinct : 1) * sizeof *hist->col);
    *counts = malloc((distinct ? distinct : 1) * sizeof **counts);
    if (!hist->ptr || !hist->col || !*counts) {
        free(h);
        return BB_ERR_NOMEM;
    }
    for (size_t i = 0; i < distinct; i++) {
        hist->col[i] = h[i].item;
        (*counts)[i] = h[i].count;
        hist->ptr[h[i].row + 1]++;
    }
    for (uint32_t r = 0; r < n; r++)
        hist->ptr[r + 1] += hist->ptr[r];
    free(h);
    return BB_OK;
}

/* Serves one customer and prints the CSV lines. The customer is scored
 * inside the block of customers the run scored them with (model.h), so the
 * scores are the run's to the last bit when model and data are the run's. */
static bb_err serve_one(const bb_model_file *mf, const bb_dataset *ds, const uint32_t *to_ds, uint32_t customer,
                        int top_n, int threads, FILE *out, bb_log *log)
{
    uint32_t n = mf->n_items;
    uint32_t first = customer - customer % BB_REC_SERVE_BLOCK;
    uint32_t nb = ds->customers.n - first < BB_REC_SERVE_BLOCK ? ds->customers.n - first : BB_REC_SERVE_BLOCK;
    uint32_t *from_ds = malloc((ds->items.n ? ds->items.n : 1) * sizeof *from_ds);
    uint32_t *tie_rank = malloc(n * sizeof *tie_rank);
    uint32_t *subcat = malloc(n * sizeof *subcat);
    id_ref *sorted = malloc(n * sizeof *sorted);
    int *segment = malloc(nb * sizeof *segment);
    uint32_t *rows = malloc(nb * sizeof *rows);
    size_t cells = (size_t)nb * (size_t)top_n;
    uint32_t *items = malloc(cells * sizeof *items), *args = malloc(cells * sizeof *args);
    float *scores = malloc(cells * sizeof *scores);
    uint8_t *reasons = malloc(cells), *count = malloc(nb), *source = malloc(nb);
    bb_csr hist = {0};
    uint32_t *hist_count = NULL;
    size_t skipped = 0;
    bb_buf b;
    bb_buf_init(&b, 0);
    bb_err e = from_ds && tie_rank && subcat && sorted && segment && rows && items && args && scores && reasons &&
                       count && source
                   ? BB_OK
                   : BB_ERR_NOMEM;
    if (e != BB_OK)
        goto done;
    for (uint32_t j = 0; j < ds->items.n; j++)
        from_ds[j] = BB_UNKNOWN;
    for (uint32_t m = 0; m < n; m++) {
        from_ds[to_ds[m]] = m;
        uint32_t sub = ds->items.subcategory[to_ds[m]];
        subcat[m] = bb_dataset_subcategory_name(ds, sub)[0] ? sub : BB_UNKNOWN;
        sorted[m] = (id_ref){mf->item_ids[m], m};
    }
    /* Ties break by item ID, as in the run. */
    qsort(sorted, n, sizeof *sorted, cmp_id_ref);
    for (uint32_t p = 0; p < n; p++)
        tie_rank[sorted[p].m] = p;
    for (uint32_t r = 0; r < nb; r++) {
        rows[r] = r;
        segment[r] = bb_model_file_segment(mf, bb_intern_str(ds->customers.ids, first + r));
    }
    e = block_history(ds, from_ds, first, nb, &hist, &hist_count, &skipped);
    if (e != BB_OK)
        goto done;
    hist.n_cols = n;
    uint32_t me = customer - first;
    if (skipped)
        bb_warn(log, "recommend: purchases of items the model does not know are left out");
    bb_rec_model model = mf->model; /* a shallow copy: serving does not change it */
    bb_rec_serve_ctx ctx = {
        .model = &model,
        .reasons = &mf->reasons,
        .hist = &hist,
        .hist_count = hist_count,
        .repeatable = mf->repeatable,
        .tie_rank = tie_rank,
        .subcat = subcat,
        .segment_of = segment,
        .top_n = top_n,
        .threads = threads,
    };
    e = bb_rec_serve(&ctx, rows, nb, items, scores, reasons, args, count, source);
    if (e != BB_OK)
        goto done;
    const char *cid = bb_intern_str(ds->customers.ids, customer);
    const char *model_name = source[me] == BB_REC_SRC_SEGMENT   ? "segment-popularity"
                             : source[me] == BB_REC_SRC_POPULAR ? "popularity"
                                                                : bb_rec_kind_name(mf->model.kind);
    e = bb_rec_csv_header(&b);
    for (int i = 0; i < count[me] && e == BB_OK; i++) {
        size_t at = (size_t)me * (size_t)top_n + (size_t)i;
        uint32_t it = to_ds[items[at]];
        const char *assoc = NULL, *seg = NULL, *sub = NULL;
        if (reasons[at] == BB_REASON_WITH_ITEM && args[at] < n)
            assoc = bb_intern_str(ds->item_names, ds->items.name[to_ds[args[at]]]);
        if ((reasons[at] == BB_REASON_SEGMENT || reasons[at] == BB_REASON_NEW_SEGMENT) && args[at] < mf->n_segments)
            seg = mf->segment_names[args[at]];
        if (reasons[at] == BB_REASON_SUBCATEGORY)
            sub = bb_dataset_subcategory_name(ds, args[at]);
        char words[320];
        bb_rec_reason_words((bb_rec_reason)reasons[at], args[at], assoc, seg, sub, words, sizeof words);
        e = bb_rec_csv_row(&b, cid, i + 1, mf->item_ids[items[at]], bb_intern_str(ds->item_names, ds->items.name[it]),
                           scores[at], model_name, words);
    }
    if (e == BB_OK && (fwrite(b.data, 1, b.len, out) != b.len || fflush(out) != 0))
        e = BB_ERR_IO;
done:
    bb_buf_free(&b);
    bb_csr_free(&hist);
    free(hist_count);
    free(from_ds);
    free(tie_rank);
    free(subcat);
    free(sorted);
    free(segment);
    free(rows);
    free(items);
    free(args);
    free(scores);
    free(reasons);
    free(count);
    free(source);
    return e;
}

bb_err bb_recommend_command(int argc, char **argv, FILE *out, bb_log *log)
{
    cli_args a = {.top_n = 0};
    a.rest = malloc(((size_t)argc + 1) * sizeof *a.rest);
    if (!a.rest)
        return BB_ERR_NOMEM;
    char err[1024] = "";
    bb_config c;
    bool have_config = false;
    bb_model_file mf;
    memset(&mf, 0, sizeof mf);
    bb_dataset *ds = NULL;
    uint32_t *to_ds = NULL;
    bb_err e = parse(argc, argv, &a, err, sizeof err);
    if (e == BB_OK && a.help) {
        fputs(USAGE, out);
        goto done;
    }
    if (e == BB_OK)
        e = bb_config_init(&c);
    have_config = e == BB_OK;
    if (e == BB_OK)
        e = bb_config_parse_args(&c, a.n_rest, a.rest, err, sizeof err);
    if (e != BB_OK) {
        bb_error(log, "recommend: %s", err[0] ? err : bb_strerror(e));
        if (e == BB_ERR_USAGE)
            fputs(USAGE, stderr);
        goto done;
    }
    e = bb_model_file_load(a.model, &mf, err, sizeof err);
    if (e != BB_OK) {
        bb_error(log, "recommend: %s", err[0] ? err : bb_strerror(e));
        goto done;
    }
    bb_ingest_opts io;
    bb_config_ingest_opts(&c, &io);
    io.quarantine_dir = NULL;
    e = bb_ingest_load(&io, log, &ds, NULL);
    if (e != BB_OK)
        goto done;

    /* The model's items must all be in the data, by ID. */
    to_ds = malloc(mf.n_items * sizeof *to_ds);
    if (!to_ds) {
        e = BB_ERR_NOMEM;
        goto done;
    }
    for (uint32_t m = 0; m < mf.n_items; m++) {
        if (!bb_intern_get(ds->items.ids, mf.item_ids[m], strlen(mf.item_ids[m]), &to_ds[m])) {
            bb_error(log,
                     "recommend: the model file %s does not match the data in %s: the model's item %s is not "
                     "in it (the model knows %u items, the data %u); run bbreport again to make a model of this data",
                     a.model, c.data_dir, mf.item_ids[m], (unsigned)mf.n_items, (unsigned)ds->items.n);
            e = BB_ERR_DATA;
            goto done;
        }
    }
    if (ds->items.n > mf.n_items)
        bb_info(log, "recommend: %u items of the data are newer than the model and are not recommended",
                (unsigned)(ds->items.n - mf.n_items));
    uint32_t customer;
    if (!bb_intern_get(ds->customers.ids, a.customer, strlen(a.customer), &customer)) {
        bb_error(log, "recommend: customer %s is not in the data in %s", a.customer, c.data_dir);
        e = BB_ERR_USAGE;
        goto done;
    }
    int threads = bb_rec_par_threads((int)c.threads);
    openblas_set_num_threads(1); /* one customer: BLAS threads would only wait */
    e = serve_one(&mf, ds, to_ds, customer, a.top_n ? (int)a.top_n : (int)mf.top_n, threads, out, log);
    if (e != BB_OK)
        bb_error(log, "recommend: %s", bb_strerror(e));
done:
    free(a.rest);
    free(to_ds);
    bb_dataset_free(ds);
    bb_model_file_free(&mf);
    if (have_config)
        bb_config_free(&c);
    return e;
}
