/*
 * fmt.h - numbers formatted for people, independent of the C locale.
 *
 *     bb_fmt_money(buf, sizeof buf, 123456)   -> "1,234.56"
 *     bb_fmt_int(buf, sizeof buf, -1234567)   -> "-1,234,567"
 *     bb_fmt_pct(buf, sizeof buf, 0.1234, 1)  -> "12.3 %"
 *     bb_fmt_fixed(buf, sizeof buf, 3.14159, 2) -> "3.14"
 *
 * All return buf, always NUL-terminated (truncated if size is too small).
 */
#ifndef BB_FMT_H
#define BB_FMT_H

#include <stddef.h>
#include <stdint.h>

char *bb_fmt_int(char *buf, size_t size, int64_t v);
char *bb_fmt_money(char *buf, size_t size, int64_t cents);
/* A ratio (0.123) as a percentage with the given decimals and " %". */
char *bb_fmt_pct(char *buf, size_t size, double ratio, int decimals);
/* Fixed-point with thousands separators. */
char *bb_fmt_fixed(char *buf, size_t size, double v, int decimals);
/* Money as a plain decimal for machine-readable files: "-1234.56". */
char *bb_fmt_cents_plain(char *buf, size_t size, int64_t cents);
/* Bytes for people: "512 B", "1.5 KiB", "20.1 MiB". */
char *bb_fmt_bytes(char *buf, size_t size, uint64_t bytes);

#endif
