/*
 * sha256.h - SHA-256 of a byte stream, through OpenSSL's EVP API.
 *
 * Used to fingerprint input files as they stream through ingest (one pass,
 * no second read) and to derive the run id.
 */
#ifndef BB_SHA256_H
#define BB_SHA256_H

#include <stddef.h>

#include "util/err.h"

typedef struct bb_sha256 bb_sha256;

bb_err bb_sha256_new(bb_sha256 **out);
void bb_sha256_free(bb_sha256 *h);
bb_err bb_sha256_update(bb_sha256 *h, const void *p, size_t n);
/* Writes 64 lowercase hex digits and a NUL. The context cannot be updated after. */
bb_err bb_sha256_hex(bb_sha256 *h, char out[static 65]);
/* One-shot: hash of p[0..n) as hex. */
bb_err bb_sha256_of(const void *p, size_t n, char out[static 65]);

/* The OpenSSL version string, for the manifest. */
const char *bb_sha256_library_version(void);

#endif
