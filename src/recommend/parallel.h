/*
 * parallel.h - fork-join over index ranges with POSIX threads.
 *
 * bb_rec_par_for(threads, n, fn, ctx) splits [0, n) into `threads` contiguous
 * chunks of near-equal size, runs chunk 0 on the calling thread and the
 * others on new threads, and returns when all are done. Work written per
 * index (a row's scores, a row's top-K) is therefore independent of the
 * thread count; reductions are left to the caller, who combines per-index
 * results in index order so sums do not depend on the split either.
 *
 * When a thread cannot be started its chunk runs on the calling thread, so
 * the work is always done.
 *
 *     static void work(void *ctx, size_t begin, size_t end) { ... }
 *     bb_rec_par_for(2, n_rows, work, &ctx);
 */
#ifndef BB_REC_PARALLEL_H
#define BB_REC_PARALLEL_H

#include <stddef.h>

typedef void (*bb_rec_par_fn)(void *ctx, size_t begin, size_t end);

/* threads <= 1 or n small: runs fn(ctx, 0, n) directly. */
void bb_rec_par_for(int threads, size_t n, bb_rec_par_fn fn, void *ctx);
/* The thread count a setting of 0 ("all cores") means. */
int bb_rec_par_threads(int requested);

#endif
