#include "segment/parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

typedef struct par_state {
    atomic_size_t next;
    size_t njobs;
    bb_par_fn fn;
    void *ctx;
} par_state;

typedef struct par_worker {
    par_state *st;
    int index;
} par_worker;

int bb_par_threads(int requested, size_t jobs)
{
    long n = requested;
    if (n <= 0) {
        n = sysconf(_SC_NPROCESSORS_ONLN);
        if (n < 1)
            n = 1;
    }
    if (jobs > 0 && (size_t)n > jobs)
        n = (long)jobs;
    if (n > BB_PAR_MAX_THREADS)
        n = BB_PAR_MAX_THREADS;
    return (int)n;
}

static void drain(par_state *st, int worker)
{
    for (;;) {
        size_t job = atomic_fetch_add(&st->next, 1);
        if (job >= st->njobs)
            return;
        st->fn(st->ctx, job, worker);
    }
}

static void *worker_main(void *arg)
{
    par_worker *w = arg;
    drain(w->st, w->index);
    return NULL;
}

bb_err bb_par_for(int threads, size_t njobs, bb_par_fn fn, void *ctx)
{
    if (threads <= 1 || njobs <= 1) {
        for (size_t j = 0; j < njobs; j++)
            fn(ctx, j, 0);
        return BB_OK;
    }
    if (threads > BB_PAR_MAX_THREADS)
        threads = BB_PAR_MAX_THREADS;
    par_state st = {.njobs = njobs, .fn = fn, .ctx = ctx};
    atomic_init(&st.next, 0);
    pthread_t tid[BB_PAR_MAX_THREADS];
    par_worker w[BB_PAR_MAX_THREADS];
    int started = 0;
    bb_err e = BB_OK;
    for (int t = 1; t < threads; t++) {
        w[t] = (par_worker){.st = &st, .index = t};
        if (pthread_create(&tid[t], NULL, worker_main, &w[t]) != 0) {
            e = BB_ERR_INTERNAL;
            break;
        }
        started = t;
    }
    drain(&st, 0);
    for (int t = 1; t <= started; t++)
        pthread_join(tid[t], NULL);
    return e;
}
