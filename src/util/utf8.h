/*
 * utf8.h - UTF-8 validation (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
 */
#ifndef BB_UTF8_H
#define BB_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..n) is valid UTF-8; otherwise *bad_at (may be NULL) is the
 * offset of the first byte of the first invalid sequence. */
bool bb_utf8_valid(const char *s, size_t n, size_t *bad_at);
/* Number of code points in valid UTF-8 s[0..n). */
size_t bb_utf8_length(const char *s, size_t n);
/* Longest prefix of valid UTF-8 s[0..n) with at most max_cp code points, in bytes. */
size_t bb_utf8_prefix(const char *s, size_t n, size_t max_cp);

#endif
