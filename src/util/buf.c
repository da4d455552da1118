#include "util/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bb_buf_init(bb_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : BB_BUF_DEFAULT_MAX;
}

void bb_buf_free(bb_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

bb_err bb_buf_reserve(bb_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return BB_ERR_NOMEM;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return BB_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *p = realloc(b->data, cap);
    if (!p)
        return BB_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return BB_OK;
}

bb_err bb_buf_append(bb_buf *b, const void *p, size_t n)
{
    bb_err e = bb_buf_reserve(b, n);
    if (e != BB_OK)
        return e;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return BB_OK;
}

bb_err bb_buf_puts(bb_buf *b, const char *s)
{
    return bb_buf_append(b, s, strlen(s));
}

bb_err bb_buf_putc(bb_buf *b, char c)
{
    return bb_buf_append(b, &c, 1);
}

bb_err bb_buf_vprintf(bb_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return BB_ERR_INTERNAL;
    bb_err e = bb_buf_reserve(b, (size_t)n);
    if (e != BB_OK)
        return e;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return BB_OK;
}

bb_err bb_buf_printf(bb_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bb_err e = bb_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return e;
}

void bb_buf_clear(bb_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

char *bb_buf_detach(bb_buf *b)
{
    char *p = b->data;
    if (!p) {
        p = malloc(1);
        if (!p)
            return NULL;
        p[0] = '\0';
    }
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
