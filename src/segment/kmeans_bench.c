/*
 * kmeans_bench.c - times bb_kmeans_run() on a matrix file, for
 * scripts/bench_kmeans.py, which runs scikit-learn's KMeans on the same file.
 *
 *   bb_kmeans_bench FILE ROWS COLS [--k 5] [--n-init 10] [--threads 0]
 *                   [--seed 0] [--max-iter 300] [--tol 1e-4]
 *
 * FILE holds ROWS x COLS little-endian float64 values, row-major (numpy's
 * tofile()). Prints one line of key=value pairs: seconds (the clustering
 * only, not the file read), inertia, iterations and restart of the winner.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "segment/kmeans.h"
#include "segment/parallel.h"

static int usage(void)
{
    fprintf(stderr, "usage: bb_kmeans_bench FILE ROWS COLS [--k N] [--n-init N] [--threads N] [--seed N] "
                    "[--max-iter N] [--tol X]\n");
    return 64;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return usage();
    long rows, cols, k = 5, n_init = 10, threads = 0, seed = 0, max_iter = 300;
    double tol = 1e-4;
    if (parse_long(argv[2], 1, 100000000, &rows) || parse_long(argv[3], 1, 1000, &cols))
        return usage();
    for (int i = 4; i < argc; i++) {
        if (i + 1 >= argc)
            return usage();
        const char *opt = argv[i], *val = argv[++i];
        int bad = 0;
        if (strcmp(opt, "--k") == 0)
            bad = parse_long(val, 1, 4096, &k);
        else if (strcmp(opt, "--n-init") == 0)
            bad = parse_long(val, 1, 1000, &n_init);
        else if (strcmp(opt, "--threads") == 0)
            bad = parse_long(val, 0, BB_PAR_MAX_THREADS, &threads);
        else if (strcmp(opt, "--seed") == 0)
            bad = parse_long(val, 0, 0x7fffffffL, &seed);
        else if (strcmp(opt, "--max-iter") == 0)
            bad = parse_long(val, 1, 100000, &max_iter);
        else if (strcmp(opt, "--tol") == 0) {
            char *end;
            tol = strtod(val, &end);
            bad = end == val || *end || !(tol >= 0);
        } else
            bad = 1;
        if (bad)
            return usage();
    }
    size_t n = (size_t)rows * (size_t)cols;
    double *x = malloc(n * sizeof *x);
    FILE *f = fopen(argv[1], "rb");
    if (!x || !f || fread(x, sizeof *x, n, f) != n) {
        fprintf(stderr, "bb_kmeans_bench: cannot read %ld x %ld doubles from %s\n", rows, cols, argv[1]);
        if (f)
            fclose(f);
        free(x);
        return 66;
    }
    fclose(f);
    bb_kmeans_opts o;
    bb_kmeans_defaults(&o);
    o.n_init = (int)n_init;
    o.max_iter = (int)max_iter;
    o.tol = tol;
    o.seed = (uint64_t)seed;
    o.threads = (int)threads;
    bb_kmeans_result r;
    double t0 = now_s();
    bb_err e = bb_kmeans_run(x, (size_t)rows, (size_t)cols, (int)k, &o, &r);
    double t1 = now_s();
    free(x);
    if (e != BB_OK) {
        fprintf(stderr, "bb_kmeans_bench: %s\n", bb_strerror(e));
        return 70;
    }
    printf("seconds=%.3f inertia=%.17g n_iter=%d best_init=%d threads=%d\n", t1 - t0, r.inertia, r.n_iter,
           r.best_init, bb_par_threads((int)threads, (size_t)n_init));
    bb_kmeans_result_free(&r);
    return 0;
}
