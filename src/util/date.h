/*
 * date.h - calendar dates as day numbers.
 *
 * A date is an int32_t count of days since 1970-01-01 (proleptic Gregorian),
 * so differences are plain subtraction and dates sort as integers. Parsing
 * takes a pattern built from the tokens YYYY, MM, DD (exactly 4/2/2 digits),
 * M, D (1 or 2 digits) and literal separator characters, e.g. "YYYY-MM-DD"
 * or "DD-MM-YYYY" or "M/D/YYYY". Only real calendar days are accepted.
 */
#ifndef BB_DATE_H
#define BB_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BB_DATE_NONE INT32_MIN

typedef struct bb_date_tok {
    char kind;   /* 'Y' year, 'M' month, 'D' day, 'L' literal */
    char lit;    /* the literal character for 'L' */
    uint8_t min_digits, max_digits;
} bb_date_tok;

typedef struct bb_date_fmt {
    bb_date_tok tok[16];   /* the compiled pattern */
    int ntok;
    char text[32];
} bb_date_fmt;

/* Compiles a pattern; false when it is not a valid date pattern. */
bool bb_date_fmt_compile(bb_date_fmt *f, const char *pattern);
/* Parses s[0..len) exactly; false when it does not match or is no real day. */
bool bb_date_parse(const bb_date_fmt *f, const char *s, size_t len, int32_t *day);
/* Parses YYYY-MM-DD. */
bool bb_date_parse_iso(const char *s, int32_t *day);

int32_t bb_date_from_ymd(int y, int m, int d);
void bb_date_to_ymd(int32_t day, int *y, int *m, int *d);
bool bb_date_valid_ymd(int y, int m, int d);
/* Writes YYYY-MM-DD (11 bytes with NUL) into out. */
void bb_date_format(int32_t day, char out[static 11]);
/* 0 = Monday .. 6 = Sunday (ISO weekday - 1). */
int bb_date_weekday(int32_t day);
/* Months since year 0: y * 12 + (m - 1); handy for monthly buckets. */
int32_t bb_date_month_index(int32_t day);
/* The first day of a month index. */
int32_t bb_date_month_start(int32_t month_index);

#endif
