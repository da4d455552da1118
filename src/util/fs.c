#define _XOPEN_SOURCE 700
#include "util/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/intern.h"

bb_err bb_fs_mkdirs(const char *path)
{
    size_t n = strlen(path);
    if (n == 0 || n >= 4096)
        return BB_ERR_CANTCREAT;
    char tmp[4096];
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
                return BB_ERR_CANTCREAT;
            tmp[i] = c;
        }
    }
    return bb_fs_is_dir(path) ? BB_OK : BB_ERR_CANTCREAT;
}

bb_err bb_fs_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? BB_OK : BB_ERR_IO;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) == 0 ? BB_OK : BB_ERR_IO;
    DIR *d = opendir(path);
    if (!d)
        return BB_ERR_IO;
    bb_err e = BB_OK;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
            continue;
        size_t need = strlen(path) + strlen(ent->d_name) + 2;
        char *child = malloc(need);
        if (!child) {
            e = BB_ERR_NOMEM;
            break;
        }
        snprintf(child, need, "%s/%s", path, ent->d_name);
        e = bb_fs_rmtree(child);
        free(child);
        if (e != BB_OK)
            break;
    }
    closedir(d);
    if (e == BB_OK && rmdir(path) != 0)
        e = BB_ERR_IO;
    return e;
}

bool bb_fs_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

bool bb_fs_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

long long bb_fs_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

bb_err bb_fs_write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return BB_ERR_CANTCREAT;
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            return BB_ERR_IO;
        }
        p += w;
        len -= (size_t)w;
    }
    if (fsync(fd) != 0 && errno != EINVAL) {
        close(fd);
        return BB_ERR_IO;
    }
    return close(fd) == 0 ? BB_OK : BB_ERR_IO;
}

bb_err bb_fs_read_file(const char *path, size_t max, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? BB_ERR_NOINPUT : BB_ERR_IO;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return BB_ERR_NOMEM;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= max) {
                free(buf);
                fclose(f);
                return BB_ERR_NOMEM;
            }
            cap = cap * 2 > max ? max : cap * 2;
            char *p = realloc(buf, cap + 1);
            if (!p) {
                free(buf);
                fclose(f);
                return BB_ERR_NOMEM;
            }
            buf = p;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    bb_err e = ferror(f) ? BB_ERR_IO : BB_OK;
    fclose(f);
    if (e != BB_OK) {
        free(buf);
        return e;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return BB_OK;
}

bb_err bb_fs_sync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return BB_ERR_IO;
    int rc = fsync(fd);
    close(fd);
    return rc == 0 || errno == EINVAL ? BB_OK : BB_ERR_IO;
}

void bb_fs_safe_name(const char *text, char out[static 80])
{
    size_t n = 0;
    bool changed = false;
    for (const char *p = text; *p && n < 64; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || (c == '.' && n > 0);
        out[n++] = ok ? c : '_';
        changed |= !ok;
    }
    if (strlen(text) > n)
        changed = true;
    if (n == 0) {
        out[n++] = '_';
        changed = true;
    }
    out[n] = '\0';
    if (changed) {
        uint64_t h = bb_hash_bytes(text, strlen(text));
        snprintf(out + n, 80 - n, "-%08x", (unsigned)(h & 0xffffffffu));
    }
}
