/*
 * fs.h - file-system helpers: directories, whole-file I/O, safe names.
 *
 * Paths are plain C strings. Functions that fail leave errno set and return
 * BB_ERR_IO / BB_ERR_CANTCREAT; the caller logs the path.
 */
#ifndef BB_FS_H
#define BB_FS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

/* mkdir -p. */
bb_err bb_fs_mkdirs(const char *path);
/* rm -rf; a missing path is not an error. Does not follow symlinks. */
bb_err bb_fs_rmtree(const char *path);
bool bb_fs_exists(const char *path);
bool bb_fs_is_dir(const char *path);
/* Writes data to path and fsyncs it (BB_ERR_IO when the disk is full). */
bb_err bb_fs_write_file(const char *path, const void *data, size_t len);
/* Reads a whole file of at most max bytes; *out is malloc'd and NUL-terminated. */
bb_err bb_fs_read_file(const char *path, size_t max, char **out, size_t *len);
/* fsync a directory so that renames in it are durable. */
bb_err bb_fs_sync_dir(const char *path);
/* Makes a file name from untrusted text: keeps [A-Za-z0-9._-], maps anything
 * else to '_', never starts with '.', at most 64 bytes. When the text had to
 * change, an 8-hex-digit hash of the original is appended, so distinct IDs get
 * distinct names. out must hold 80 bytes. */
void bb_fs_safe_name(const char *text, char out[static 80]);
/* Size of a file in bytes, or -1. */
long long bb_fs_size(const char *path);

#endif
