/*
 * intern.h - string interning: each distinct string gets a dense id 0..n-1.
 *
 * Layout: the strings live back to back, each NUL-terminated, in one pool;
 * off[id] is where string id starts and len[id] its length. The hash index
 * is open addressing with linear probing over a power-of-two table of
 * 64-bit slots (hash bits and id; all ones = empty), kept at most half full. Ids are stable for the table's
 * life; pointers returned by bb_intern_str() stay valid only until the next
 * bb_intern_put() (the pool may move).
 *
 * The pool is capped (max_bytes), so hostile input cannot exhaust memory.
 */
#ifndef BB_INTERN_H
#define BB_INTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct bb_intern bb_intern;

/* max_bytes caps the string pool (0: 1 GiB). *out is NULL on failure. */
bb_err bb_intern_new(bb_intern **out, size_t max_bytes);
void bb_intern_free(bb_intern *t);
/* Finds or adds s[0..len); *id is its id; *added (may be NULL) says whether it was new. */
bb_err bb_intern_put(bb_intern *t, const char *s, size_t len, uint32_t *id, bool *added);
/* Finds s[0..len); false when absent. */
bool bb_intern_get(const bb_intern *t, const char *s, size_t len, uint32_t *id);
const char *bb_intern_str(const bb_intern *t, uint32_t id);
size_t bb_intern_len(const bb_intern *t, uint32_t id);
uint32_t bb_intern_count(const bb_intern *t);
/* Bytes held (pool + index), for memory accounting. */
size_t bb_intern_bytes(const bb_intern *t);

/* 64-bit hash of a byte string (word-at-a-time multiply-xorshift). */
uint64_t bb_hash_bytes(const void *p, size_t n);

#endif
