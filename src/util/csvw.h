/*
 * csvw.h - writing CSV fields safely (RFC 4180 quoting, formula protection).
 *
 * A field is quoted when it holds the delimiter, a quote, CR or LF, or
 * leading/trailing spaces; quotes are doubled. With BB_CSVW_FORMULA_SAFE, a
 * field that a spreadsheet would run as a formula (starting with '=', '+',
 * '@', TAB, CR, or '-' not followed by a digit or '.') gets a leading
 * apostrophe, the OWASP advice for CSV injection. Plain negative numbers such
 * as "-2" or "-0.5" are left alone, so numeric columns stay numeric.
 */
#ifndef BB_CSVW_H
#define BB_CSVW_H

#include <stddef.h>

#include "util/buf.h"

enum { BB_CSVW_FORMULA_SAFE = 1 };

/* Appends one field (no delimiter) to b. */
bb_err bb_csvw_field(bb_buf *b, const char *s, size_t n, unsigned flags);
/* Appends fields joined by ',' and a trailing "\n". NULL fields are empty. */
bb_err bb_csvw_row(bb_buf *b, const char *const *fields, const size_t *lens, size_t n,
                   unsigned flags);

#endif
