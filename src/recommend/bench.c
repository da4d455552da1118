/*
 * bench.c - bb_ae_bench: the autoencoder's training speed on a dataset,
 * next to the sgemm peak measured on the same machine and thread count.
 *
 *   bb_ae_bench --data DIR [--epochs N] [--threads T] [--run] [--sheets N]
 *               [--lr R] [--batch B] [--epoch-rows N] [--serve MODEL]
 *
 * Prints per epoch: wall seconds, rows, and the achieved GFLOP/s of training
 * (forward and backward of every layer, bb_ae_train_flops()); then the
 * GFLOP/s of a square 2048 sgemm (the machine's practical peak) and of one
 * sgemm of the output layer's shape. With --run, also the whole
 * recommendation stage (selection, test, serving) with its timings; with
 * --sheets N, also N per-customer sheets (in-process for a first few, then
 * with the worker processes) and the sheets per second.
 * scripts/bench.sh calls it at scale M.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics/summary.h"
#include "ingest/ingest.h"
#include "recommend/autoencoder.h"
#include "recommend/interactions.h"
#include "recommend/parallel.h"
#include "recommend/recommend.h"
#include "render/customer_sheet.h"
#include "util/fs.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* GFLOP/s of C = A B with A m x k, B k x n, best of reps. */
static double sgemm_gflops(int m, int n, int k, int reps)
{
    float *a = malloc((size_t)m * k * sizeof *a), *b = malloc((size_t)k * n * sizeof *b);
    float *c = malloc((size_t)m * n * sizeof *c);
    if (!a || !b || !c) {
        free(a);
        free(b);
        free(c);
        return 0;
    }
    for (size_t i = 0; i < (size_t)m * k; i++)
        a[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)k * n; i++)
        b[i] = (float)(i % 5) * 0.1f;
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
        double t = now_s() - t0;
        if (t < best)
            best = t;
    }
    free(a);
    free(b);
    free(c);
    return 2.0 * m * n * k / best / 1e9;
}

/* Writes the first n customers' sheets into a scratch run directory: 15 in
 * the calling process (below the fork threshold), then n with the workers. */
static bb_err bench_sheets(const bb_dataset *ds, const bb_recs *recs, int n, bb_log *log)
{
    char dir[] = "/tmp/bb_sheets_XXXXXX";
    if (!mkdtemp(dir))
        return BB_ERR_CANTCREAT;
    bb_summary sum;
    bb_err e = bb_summary_compute(ds, &sum);
    if (e != BB_OK)
        return e;
    bb_report r = {.ds = ds, .summary = &sum, .recs = recs, .title = "Sales report", .business_name = "",
                   .version = "bench", .run_id = "bench", .data_dir = "", .epoch = 0, .run_dir = dir};
    snprintf(r.as_of, sizeof r.as_of, "2025-12-31");
    int counts[2] = {BB_SHEETS_FORK_MIN - 1, n};
    for (int pass = 0; pass < 2 && e == BB_OK; pass++) {
        int m = counts[pass] < (int)ds->customers.n ? counts[pass] : (int)ds->customers.n;
        char list[512], which[600];
        snprintf(list, sizeof list, "%s/ids.txt", dir);
        FILE *f = fopen(list, "w");
        if (!f) {
            e = BB_ERR_CANTCREAT;
            break;
        }
        for (int c = 0; c < m; c++)
            fprintf(f, "%s\n", bb_intern_str(ds->customers.ids, (uint32_t)c));
        fclose(f);
        snprintf(which, sizeof which, "ids:%s", list);
        size_t written = 0;
        double t0 = now_s();
        e = bb_customer_sheets_write(&r, which, log, &written);
        double t = now_s() - t0;
        char sub[600];
        snprintf(sub, sizeof sub, "%s/customers", dir);
        long long bytes = 0;
        for (int c = 0; c < m; c++) {
            char path[800];
            snprintf(path, sizeof path, "%s/%s.pdf", sub, bb_intern_str(ds->customers.ids, (uint32_t)c));
            long long b = bb_fs_size(path);
            bytes += b > 0 ? b : 0;
        }
        printf("sheets: %zu in %.2f s (%s): %.1f sheets/s, %.1f ms a sheet, %.0f KB a sheet\n", written, t,
               pass == 0 ? "one process" : "worker processes", written / t, 1000 * t / (double)written,
               (double)bytes / 1024 / (double)(written ? written : 1));
    }
    bb_summary_free(&sum);
    bb_fs_rmtree(dir);
    return e;
}

int main(int argc, char **argv)
{
    const char *data = NULL;
    int epochs = 3, threads = 0, full = 0, sheets = 0;
    bb_rec_opts ro;
    bb_rec_defaults(&ro);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            data = argv[++i];
        else if (strcmp(argv[i], "--epochs") == 0 && i + 1 < argc)
            epochs = (int)strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = (int)strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--run") == 0)
            full = 1;
        else if (strcmp(argv[i], "--sheets") == 0 && i + 1 < argc)
            sheets = (int)strtol(argv[++i], NULL, 10), full = 1;
        else if (strcmp(argv[i], "--lr") == 0 && i + 1 < argc)
            ro.lr = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            ro.batch = (int)strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--epoch-rows") == 0 && i + 1 < argc)
            ro.epoch_rows = (int)strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--serve") == 0 && i + 1 < argc)
            ro.serve = argv[++i];
        else {
            fprintf(stderr, "usage: bb_ae_bench --data DIR [--epochs N] [--threads T] [--run] [--sheets N]\n"
                            "                   [--lr R] [--batch B] [--epoch-rows N] [--serve MODEL]\n");
            return 64;
        }
    }
    if (!data || epochs < 1) {
        fprintf(stderr, "usage: bb_ae_bench --data DIR [--epochs N] [--threads T] [--run] [--sheets N] ...\n");
        return 64;
    }
    threads = bb_rec_par_threads(threads);
    /* The autoencoder runs its own threads over shards, each sgemm single-threaded. */
    openblas_set_num_threads(1);
    bb_log *log = NULL;
    if (bb_log_new(&log, stderr, BB_LOG_WARN) != BB_OK)
        return 70;
    bb_ingest_opts io;
    bb_ingest_defaults(&io);
    io.data_dir = data;
    bb_dataset *ds = NULL;
    double t0 = now_s();
    bb_err e = bb_ingest_load(&io, log, &ds, NULL);
    if (e != BB_OK) {
        bb_log_free(log);
        return bb_exit_code(e);
    }
    printf("data %s: %u customers, %u items, %zu purchases (read in %.2f s), %d threads\n", data,
           ds->customers.n, ds->items.n, ds->purchases.n, now_s() - t0, threads);

    bb_inter x;
    bb_csr train = {0};
    e = bb_inter_build(ds, ro.holdout_days, &x);
    if (e == BB_OK)
        e = bb_inter_view(&x, BB_PERIOD_ALL, &train);
    bb_ae_opts ao;
    bb_ae_defaults(&ao, ds->items.n);
    ao.threads = threads;
    ao.lr = (float)ro.lr;
    ao.batch = ro.batch;
    bb_ae *ae = NULL;
    if (e == BB_OK)
        e = bb_ae_new(&ao, &ae);
    uint32_t *rows = malloc((train.n_rows ? train.n_rows : 1) * sizeof *rows);
    size_t n = 0, nnz = 0;
    if (e == BB_OK && rows) {
        for (uint32_t c = 0; c < train.n_rows; c++)
            if (bb_csr_row_len(&train, c) > 0) {
                rows[n++] = c;
                nnz += bb_csr_row_len(&train, c);
            }
    }
    size_t per_epoch = ro.epoch_rows > 0 && n > (size_t)ro.epoch_rows ? (size_t)ro.epoch_rows : n;
    double flops = n ? bb_ae_train_flops(ae, (double)nnz / (double)n) * (double)per_epoch : 0;
    printf("autoencoder %u-%s-%u, batch %d, %zu rows a epoch (of %zu), %.1f items a row: %.1f GFLOP an epoch\n",
           ds->items.n, "128-64-32-64-128", ds->items.n, ao.batch, per_epoch, n, n ? (double)nnz / n : 0,
           flops / 1e9);
    double sum_t = 0;
    for (int ep = 0; ep < epochs && e == BB_OK; ep++) {
        double loss, t1 = now_s();
        e = bb_ae_train_epoch(ae, &train, rows, n, (size_t)ro.epoch_rows, (uint64_t)ep, &loss);
        double t = now_s() - t1;
        sum_t += t;
        printf("  epoch %d: %.2f s, loss %.4f, %.1f GFLOP/s\n", ep + 1, t, loss, flops / t / 1e9);
    }
    if (e == BB_OK) {
        /* The peak with every thread OpenBLAS may use, the shape on one thread per shard. */
        openblas_set_num_threads(threads);
        double peak = sgemm_gflops(2048, 2048, 2048, 3);
        openblas_set_num_threads(1);
        int lanes = threads < BB_AE_SHARDS ? threads : BB_AE_SHARDS;
        double shape = sgemm_gflops(ao.batch / BB_AE_SHARDS, (int)ds->items.n, 128, 50) * lanes;
        printf("training: %.2f s an epoch, %.1f GFLOP/s; sgemm peak (2048^3, %d threads): %.1f GFLOP/s; "
               "output-layer sgemm %dx%ux128 on one thread per shard: %.1f GFLOP/s\n",
               sum_t / epochs, flops * epochs / sum_t / 1e9, threads, peak, ao.batch / BB_AE_SHARDS,
               ds->items.n, shape);
    }
    bb_ae_free(ae);
    free(rows);
    bb_csr_free(&train);
    bb_inter_free(&x);

    if (e == BB_OK && full) {
        bb_log_free(log);
        log = NULL;
        if (bb_log_new(&log, stderr, BB_LOG_DEBUG) != BB_OK)
            return 70;
        ro.threads = threads;
        bb_recs *r = NULL;
        t0 = now_s();
        e = bb_recommend_run(ds, NULL, &ro, log, &r);
        if (e == BB_OK) {
            printf("recommendation stage: %.2f s; served %s; %s\n", now_s() - t0, bb_rec_kind_name(r->served),
                   r->any_beats_popularity ? "a model beats popularity" : "no model beats popularity");
            for (int k = 0; k < BB_REC__KINDS; k++) {
                const bb_rec_model_result *m = &r->models[k];
                printf("  %-12s %-34s val NDCG %.4f | test Recall %.4f NDCG %.4f hit %.3f cov %.3f | "
                       "%s | %.2f s\n",
                       bb_rec_kind_name((bb_rec_kind)k), m->ran ? m->params : m->note, m->val.ndcg,
                       m->test.recall, m->test.ndcg, m->test.hit, m->test.coverage,
                       m->beats_popularity ? "beats pop" : "-", m->fit_seconds);
            }
            for (int i = 0; i < r->n_epochs; i++)
                printf("  epoch %2d: loss %.4f val NDCG %.4f %.2f s\n", i + 1, r->epochs[i].train_loss,
                       r->epochs[i].val_ndcg, r->epochs[i].seconds);
        }
        if (e == BB_OK && sheets > 0)
            e = bench_sheets(ds, r, sheets, log);
        bb_recs_free(r);
    }
    bb_dataset_free(ds);
    bb_log_free(log);
    return bb_exit_code(e);
}
