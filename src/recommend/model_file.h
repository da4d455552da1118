/*
 * model_file.h - the serving model as a versioned binary with a checksum.
 *
 * Format, version 1. All integers little-endian, floats IEEE 754 binary32
 * (f64: binary64), strings as u32 length + bytes (no NUL):
 *
 *   magic     8 bytes  "BBRECMDL"
 *   version   u32      BB_MODEL_FILE_VERSION
 *   sections, in this order, each: tag (4 ASCII bytes), u64 length, payload
 *     CONF  u32 kind, u32 top_n, u32 k, u64 seed, str loss, str hidden,
 *           str repeatable, str as_of (YYYY-MM-DD), u32 epochs
 *     ITEM  u32 n_items, n x str item ID (the model's item order)
 *     REPT  n_items x u8 repeatable flags
 *     POPU  n_items x f32 popularity
 *     MODL  by kind: popularity: nothing;
 *           itemknn: u32 k, u32 k_max, n x u32 count, n*k_max x u32 item, n*k_max x f32 sim;
 *           ease: f64 lambda, n*n x f32 B;
 *           autoencoder: u32 layers, (layers+1) x u32 dims, u32 loss, f32 dropout,
 *                        f32 input_dropout, f32 l2, f32 lr, u32 batch, u64 seed,
 *                        u64 n_params, n_params x f32 (autoencoder.h layout)
 *     RSNS  n x u32 associate count, n*BB_REASON_ASSOC x u32 associates,
 *           BB_REASON_TOP x u32 global top, u32 n_segments,
 *           n_segments*BB_REASON_TOP x u32 top, same x f32 share
 *     SEGS  u32 n_segments, n_segments x str name, u32 n_customers,
 *           n_customers x (str customer ID, i32 segment), IDs in byte order
 *   checksum  32 bytes SHA-256 of every byte before it
 *
 * Reading checks, in order: the magic, the checksum (any changed byte is
 * "damaged"), the version (a file of another version is named as such),
 * then every length against the bytes left, so a file that passes the
 * checksum but was written wrongly still cannot read out of bounds.
 */
#ifndef BB_MODEL_FILE_H
#define BB_MODEL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "recommend/model.h"
#include "util/err.h"

#define BB_MODEL_FILE_VERSION 1u
#define BB_MODEL_FILE_MAX_BYTES ((size_t)4 << 30)

typedef struct bb_model_file {
    bb_rec_model model;
    bb_reasons reasons;
    uint8_t *repeatable;
    uint32_t n_items;
    char **item_ids;           /* n_items strings */
    uint32_t top_n, k;
    uint64_t seed;
    char loss[16], hidden[64], repeatable_text[512], as_of[11];
    uint32_t epochs;
    uint32_t n_segments;
    char (*segment_names)[64];
    uint32_t n_customers;
    char **customer_ids;       /* sorted (strcmp order) */
    int32_t *customer_segment; /* parallel */
} bb_model_file;

/* Writes through "<path>.tmp", renamed into place. */
bb_err bb_model_file_save(const char *path, const bb_model_file *m);
/* BB_ERR_NOINPUT: cannot open; BB_ERR_DATA: not a model file, damaged,
 * another version or malformed (err says which). */
bb_err bb_model_file_load(const char *path, bb_model_file *out, char *err, size_t errsize);
/* Frees what bb_model_file_load() allocated (not for a file built for saving). */
void bb_model_file_free(bb_model_file *m);
/* The segment of a customer ID, -1 when not listed. */
int bb_model_file_segment(const bb_model_file *m, const char *customer_id);

#endif
