/*
 * parallel.h - a fixed set of jobs spread over worker threads.
 *
 * Work is cut into jobs numbered 0..njobs-1 by the caller, never by the
 * thread count: each job writes only its own slot of the results, and any
 * reduction over jobs is done afterwards in job order. So the numbers do not
 * depend on how many threads ran or which thread took which job, which is
 * how a fixed seed gives identical results with 1 and 2 threads.
 *
 * Workers take the next job number from an atomic counter. The worker index
 * (0..threads-1) lets a job use per-worker scratch memory.
 *
 *     static void square(void *ctx, size_t job, int worker) {
 *         double *v = ctx; v[job] *= v[job]; (void)worker;
 *     }
 *     bb_par_for(2, n, square, values);
 */
#ifndef BB_PARALLEL_H
#define BB_PARALLEL_H

#include <stddef.h>

#include "util/err.h"

typedef void (*bb_par_fn)(void *ctx, size_t job, int worker);

/* The number of workers to use: requested when > 0, else the online cores;
 * never more than jobs (when jobs > 0) nor BB_PAR_MAX_THREADS. */
#define BB_PAR_MAX_THREADS 256
int bb_par_threads(int requested, size_t jobs);

/* Runs fn(ctx, job, worker) for every job in [0, njobs) on `threads`
 * workers (the calling thread is worker 0). threads <= 1 runs everything in
 * the calling thread, in job order. BB_ERR_INTERNAL when a thread cannot be
 * started (the jobs are then all run anyway, by the threads that did start). */
bb_err bb_par_for(int threads, size_t njobs, bb_par_fn fn, void *ctx);

#endif
