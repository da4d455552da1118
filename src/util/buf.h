/*
 * buf.h - growable byte buffer with a size cap.
 *
 * Layout: data[0..len) holds the bytes, data[len] is always '\0' once the
 * buffer has been written to, so data can be used as a C string when the
 * content has no NUL. cap is the allocated size; max is the most the buffer
 * may ever hold (a cap, so hostile input cannot exhaust memory). Growing past
 * max fails with BB_ERR_NOMEM and leaves the buffer unchanged.
 *
 * The buffer owns data. bb_buf_free() releases it; bb_buf_detach() hands it
 * to the caller.
 */
#ifndef BB_BUF_H
#define BB_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "util/err.h"

#define BB_BUF_DEFAULT_MAX ((size_t)1 << 30)

typedef struct bb_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
} bb_buf;

/* An empty buffer that may grow to max bytes (0: BB_BUF_DEFAULT_MAX). */
void bb_buf_init(bb_buf *b, size_t max);
void bb_buf_free(bb_buf *b);
/* Makes room for extra more bytes (plus the terminating NUL). */
bb_err bb_buf_reserve(bb_buf *b, size_t extra);
bb_err bb_buf_append(bb_buf *b, const void *p, size_t n);
bb_err bb_buf_puts(bb_buf *b, const char *s);
bb_err bb_buf_putc(bb_buf *b, char c);
bb_err bb_buf_printf(bb_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
bb_err bb_buf_vprintf(bb_buf *b, const char *fmt, va_list ap);
/* Empties the buffer, keeping its allocation. */
void bb_buf_clear(bb_buf *b);
/* Returns the data (never NULL: "" for an empty buffer, malloc'd) and resets b.
 * The caller frees the result. NULL only when out of memory. */
char *bb_buf_detach(bb_buf *b);

#endif
