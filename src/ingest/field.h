/*
 * field.h - typed values from CSV text: integers, money in cents, booleans.
 *
 * Every parser takes s[0..n) (not necessarily NUL-terminated), ignores
 * surrounding ASCII spaces and tabs, and returns a status rather than
 * guessing: an empty field is BB_FIELD_EMPTY, not zero.
 *
 * Money: an optional '-', digits, an optional '.' and any number of digits,
 * rounded to the nearest cent (half away from zero). That accepts what other
 * systems export: "12", "12.5", "12.50" and float noise such as
 * "104.72999999999999" (= 10473 cents). Exponents, thousands separators and
 * currency symbols are syntax errors: a value is never half-understood.
 */
#ifndef BB_FIELD_H
#define BB_FIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum bb_field_status {
    BB_FIELD_OK = 0,
    BB_FIELD_EMPTY,
    BB_FIELD_SYNTAX,
    BB_FIELD_OVERFLOW,
} bb_field_status;

/* Largest money value accepted: 10^15 cents (10 trillion). */
#define BB_MAX_CENTS 1000000000000000LL

/* Narrows s[0..n) to its content without surrounding spaces and tabs. */
void bb_field_trim(const char **s, size_t *n);
bb_field_status bb_field_int(const char *s, size_t n, int64_t *out);
bb_field_status bb_field_cents(const char *s, size_t n, int64_t *out);
/* True/False, true/false, TRUE/FALSE, 1/0, yes/no. */
bb_field_status bb_field_bool(const char *s, size_t n, bool *out);

#endif
