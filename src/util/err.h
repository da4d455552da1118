/*
 * err.h - the one error type of bbreport.
 *
 * A function that can fail returns bb_err and writes its result through an
 * out-parameter. The code says what kind of failure it was; the details (file,
 * line, column, value) go to the run's log and to bb_diag below. Each code maps
 * to one process exit code (BSD sysexits values, documented in README.md), so
 * main() needs no other knowledge of what went wrong.
 *
 *     bb_err e = bb_ingest_load(ctx, &ds);
 *     if (e != BB_OK) return bb_exit_code(e);
 */
#ifndef BB_ERR_H
#define BB_ERR_H

typedef enum bb_err {
    BB_OK = 0,
    BB_ERR_USAGE,       /* bad command line */
    BB_ERR_DATA,        /* bad input data: rejected share over threshold, unparsable file */
    BB_ERR_NOINPUT,     /* input file or required column missing */
    BB_ERR_NOMEM,       /* allocation failed or a size cap was hit */
    BB_ERR_INTERNAL,    /* a bug or a library failing in an unexpected way */
    BB_ERR_CANTCREAT,   /* cannot create output */
    BB_ERR_IO,          /* read or write failed */
    BB_ERR_TEMPFAIL,    /* try again later: lock held, mail server unavailable */
    BB_ERR_CONFIG,      /* bad configuration value */
    BB_ERR__COUNT
} bb_err;

/* Short human text for an error code; never NULL. */
const char *bb_strerror(bb_err e);

/* The process exit code for an error code (0 for BB_OK). */
int bb_exit_code(bb_err e);

#endif
