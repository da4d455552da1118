#include "util/csvw.h"

#include <string.h>

static int looks_like_formula(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    switch (s[0]) {
    case '=':
    case '+':
    case '@':
    case '\t':
    case '\r':
        return 1;
    case '-':
        return !(n > 1 && ((s[1] >= '0' && s[1] <= '9') || s[1] == '.'));
    default:
        return 0;
    }
}

bb_err bb_csvw_field(bb_buf *b, const char *s, size_t n, unsigned flags)
{
    if (!s)
        return BB_OK;
    int protect = (flags & BB_CSVW_FORMULA_SAFE) && looks_like_formula(s, n);
    int quote = n > 0 && (s[0] == ' ' || s[n - 1] == ' ');
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote && !protect)
        return bb_buf_append(b, s, n);
    bb_err e = bb_buf_putc(b, '"');
    if (e == BB_OK && protect)
        e = bb_buf_putc(b, '\'');
    size_t start = 0;
    for (size_t i = 0; i < n && e == BB_OK; i++) {
        if (s[i] == '"') {
            e = bb_buf_append(b, s + start, i - start + 1);
            if (e == BB_OK)
                e = bb_buf_putc(b, '"');
            start = i + 1;
        }
    }
    if (e == BB_OK)
        e = bb_buf_append(b, s + start, n - start);
    if (e == BB_OK)
        e = bb_buf_putc(b, '"');
    return e;
}

bb_err bb_csvw_row(bb_buf *b, const char *const *fields, const size_t *lens, size_t n,
                   unsigned flags)
{
    bb_err e = BB_OK;
    for (size_t i = 0; i < n && e == BB_OK; i++) {
        if (i)
            e = bb_buf_putc(b, ',');
        if (e == BB_OK && fields[i])
            e = bb_csvw_field(b, fields[i], lens ? lens[i] : strlen(fields[i]), flags);
    }
    if (e == BB_OK)
        e = bb_buf_putc(b, '\n');
    return e;
}
