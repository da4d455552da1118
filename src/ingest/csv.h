/*
 * csv.h - streaming CSV records with physical line numbers, over libcsv.
 *
 * A bb_csv reader is fed bytes in chunks of any size (a file is never held
 * whole) and calls back once per record with its fields and the physical
 * line where the record starts, which libcsv itself does not track. To know
 * it, the reader hands libcsv one physical line at a time: a record starts at
 * the first line fed after the previous record ended that holds more than a
 * line terminator. Lines that hold only a terminator between records are
 * blank lines; libcsv skips them and the reader counts them.
 *
 * RFC 4180 with the usual extensions: LF or CRLF, quoted fields with the
 * delimiter, doubled quotes and line breaks, a UTF-8 byte-order mark stripped
 * from the start, unquoted fields trimmed of spaces and tabs (libcsv's rule).
 * Strict mode: a stray quote (`"x" y`) or a quoted field left open at the end
 * of the file makes the record bad; the reader reports it through the bad
 * callback with the raw text, resynchronises at the next physical line and
 * goes on. A record longer than max_record_bytes is reported the same way
 * (so a hostile field cannot exhaust memory).
 *
 * Fields are passed as NUL-terminated strings valid only during the callback.
 * The reader does not check UTF-8 or field counts: that is the caller's
 * policy (see ingest.h).
 *
 *     bb_csv_opts o = {.delimiter = ',', .max_record_bytes = 1 << 20};
 *     bb_csv_stats st;
 *     bb_err e = bb_csv_read_file("purchases.csv", &o, on_row, on_bad, ctx, &st);
 */
#ifndef BB_CSV_H
#define BB_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct bb_csv_opts {
    char delimiter;            /* ',' by default */
    size_t max_record_bytes;   /* 0: 1 MiB */
    size_t max_fields;         /* 0: 4096 */
    /* bb_csv_read_file calls this after each chunk with the bytes read so far. */
    void (*progress)(void *user, uint64_t bytes_read);
    void *progress_user;
} bb_csv_opts;

typedef struct bb_csv_row {
    size_t nfields;
    const char *const *field;  /* field[i] is NUL-terminated, len[i] bytes */
    const size_t *len;
    uint64_t line;             /* physical line (1-based) where the record starts */
    uint64_t index;            /* record number, 0 = the header */
} bb_csv_row;

/* Return BB_OK to go on; any other code stops the read and is returned. */
typedef bb_err (*bb_csv_row_fn)(void *user, const bb_csv_row *row);
/* A record that could not be parsed: reason is human text, raw its first bytes. */
typedef bb_err (*bb_csv_bad_fn)(void *user, uint64_t line, const char *reason,
                                const char *raw, size_t raw_len);

typedef struct bb_csv_stats {
    uint64_t bytes;        /* bytes read, BOM included */
    uint64_t lines;        /* physical lines */
    uint64_t records;      /* good records delivered, header included */
    uint64_t bad_records;  /* records reported as bad */
    uint64_t blank_lines;  /* blank lines between records (skipped) */
    bool bom;              /* a UTF-8 BOM was stripped */
    bool crlf;             /* at least one CRLF line ending was seen */
    char sha256[65];       /* of the bytes read (bb_csv_read_file only) */
} bb_csv_stats;

typedef struct bb_csv bb_csv;

bb_err bb_csv_new(bb_csv **out, const bb_csv_opts *o, bb_csv_row_fn row, bb_csv_bad_fn bad,
                  void *user);
void bb_csv_free(bb_csv *r);
/* Feeds the next len bytes of the stream. */
bb_err bb_csv_feed(bb_csv *r, const char *data, size_t len);
/* Ends the stream: delivers a last record without a line break. */
bb_err bb_csv_finish(bb_csv *r);
const bb_csv_stats *bb_csv_stats_get(const bb_csv *r);

/* Reads a whole file through a reader, in 1 MiB chunks, hashing it on the
 * way (SHA-256 in st->sha256). BB_ERR_NOINPUT when it cannot be opened. */
bb_err bb_csv_read_file(const char *path, const bb_csv_opts *o, bb_csv_row_fn row,
                        bb_csv_bad_fn bad, void *user, bb_csv_stats *st);

/* "libcsv 3.0.3", for the manifest. */
const char *bb_csv_library_version(void);

#endif
