#define _GNU_SOURCE /* renameat2 */
#include "pipeline/rundir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fs.h"

bb_err bb_rundir_open(bb_rundir *rd, const char *out, bb_log *log)
{
    memset(rd, 0, sizeof *rd);
    rd->lock_fd = -1;
    if (snprintf(rd->out, sizeof rd->out, "%s", out) >= (int)sizeof rd->out) {
        bb_error(log, "output path too long: %s", out);
        return BB_ERR_CANTCREAT;
    }
    char runs[2100];
    snprintf(runs, sizeof runs, "%s/runs", out);
    if (bb_fs_mkdirs(runs) != BB_OK) {
        bb_error(log, "cannot create the output directory %s: %s", runs, strerror(errno));
        return BB_ERR_CANTCREAT;
    }
    char lock[2100];
    snprintf(lock, sizeof lock, "%s/.lock", out);
    rd->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (rd->lock_fd < 0) {
        bb_error(log, "cannot open the lock file %s: %s", lock, strerror(errno));
        return BB_ERR_CANTCREAT;
    }
    if (flock(rd->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        bb_error(log, "another bbreport run is writing to %s (lock %s held); try again later", out, lock);
        close(rd->lock_fd);
        rd->lock_fd = -1;
        return BB_ERR_TEMPFAIL;
    }
    /* We hold the lock: any temporary directory left is from a run that died. */
    DIR *d = opendir(runs);
    if (d) {
        struct dirent *ent;
        while ((ent = readdir(d)) != NULL) {
            if (strncmp(ent->d_name, ".tmp-", 5) != 0 && strncmp(ent->d_name, ".old-", 5) != 0)
                continue;
            char stale[2400];
            snprintf(stale, sizeof stale, "%s/%s", runs, ent->d_name);
            bb_info(log, "removing %s, left by an interrupted run", stale);
            bb_fs_rmtree(stale);
        }
        closedir(d);
    }
    snprintf(rd->tmp, sizeof rd->tmp, "%s/.tmp-%ld", runs, (long)getpid());
    bb_fs_rmtree(rd->tmp);
    if (bb_fs_mkdirs(rd->tmp) != BB_OK) {
        bb_error(log, "cannot create %s: %s", rd->tmp, strerror(errno));
        return BB_ERR_CANTCREAT;
    }
    return BB_OK;
}

static bb_err point_latest(bb_rundir *rd, const char *name, bb_log *log)
{
    char target[4200], link_tmp[2100], link[2100];
    snprintf(target, sizeof target, "runs/%s", name);
    snprintf(link_tmp, sizeof link_tmp, "%s/.latest-%ld", rd->out, (long)getpid());
    snprintf(link, sizeof link, "%s/latest", rd->out);
    unlink(link_tmp);
    if (symlink(target, link_tmp) != 0 || rename(link_tmp, link) != 0) {
        bb_error(log, "cannot point %s at %s: %s", link, target, strerror(errno));
        unlink(link_tmp);
        return BB_ERR_CANTCREAT;
    }
    bb_fs_sync_dir(rd->out);
    return BB_OK;
}

bb_err bb_rundir_publish(bb_rundir *rd, const char *name, bb_log *log)
{
    char runs[2100];
    snprintf(runs, sizeof runs, "%s/runs", rd->out);
    snprintf(rd->final, sizeof rd->final, "%s/%s", runs, name);
    bb_fs_sync_dir(rd->tmp);
    if (rename(rd->tmp, rd->final) != 0) {
        if (errno != EEXIST && errno != ENOTEMPTY) {
            bb_error(log, "cannot rename %s to %s: %s", rd->tmp, rd->final, strerror(errno));
            return BB_ERR_CANTCREAT;
        }
        /* The same inputs ran before: swap the directories, then drop the old one. */
        if (renameat2(AT_FDCWD, rd->tmp, AT_FDCWD, rd->final, RENAME_EXCHANGE) != 0) {
            bb_error(log, "cannot replace %s: %s", rd->final, strerror(errno));
            return BB_ERR_CANTCREAT;
        }
        bb_info(log, "replaced the earlier run with the same run id");
        bb_fs_rmtree(rd->tmp);
    }
    bb_fs_sync_dir(runs);
    rd->tmp[0] = '\0';
    return point_latest(rd, name, log);
}

bb_err bb_rundir_fail(bb_rundir *rd, bb_log *log)
{
    if (!rd->tmp[0])
        return BB_OK;
    char failed[2100];
    snprintf(failed, sizeof failed, "%s/failed", rd->out);
    if (bb_fs_mkdirs(failed) != BB_OK)
        return BB_ERR_CANTCREAT;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(rd->final, sizeof rd->final, "%s/%s_%ld", failed, stamp, (long)getpid());
    if (rename(rd->tmp, rd->final) != 0) {
        bb_error(log, "cannot move %s to %s: %s", rd->tmp, rd->final, strerror(errno));
        return BB_ERR_CANTCREAT;
    }
    rd->tmp[0] = '\0';
    return BB_OK;
}

typedef struct entry {
    char name[256];
    long long mtime_ns;
} entry;

static int newest_first(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->mtime_ns != y->mtime_ns)
        return x->mtime_ns > y->mtime_ns ? -1 : 1;
    return strcmp(y->name, x->name);
}

static void prune_dir(const char *dir, int keep, const char *protect, bb_log *log)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    entry *list = NULL;
    size_t n = 0, cap = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.' || strlen(ent->d_name) >= sizeof list[0].name)
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        struct stat st;
        if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            entry *grown = realloc(list, cap * sizeof *grown);
            if (!grown)
                break;
            list = grown;
        }
        snprintf(list[n].name, sizeof list[n].name, "%s", ent->d_name);
        list[n].mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
        n++;
    }
    closedir(d);
    if (n > (size_t)keep) {
        qsort(list, n, sizeof *list, newest_first);
        for (size_t i = (size_t)keep; i < n; i++) {
            if (protect && strcmp(list[i].name, protect) == 0)
                continue;
            char path[4400];
            snprintf(path, sizeof path, "%s/%s", dir, list[i].name);
            bb_info(log, "removing %s (keeping the newest %d)", path, keep);
            bb_fs_rmtree(path);
        }
    }
    free(list);
}

void bb_rundir_prune(bb_rundir *rd, int keep, bb_log *log)
{
    if (keep <= 0)
        return;
    char dir[2100], link[2100], target[2100] = "";
    snprintf(link, sizeof link, "%s/latest", rd->out);
    ssize_t n = readlink(link, target, sizeof target - 1);
    const char *protect = NULL;
    if (n > 0) {
        target[n] = '\0';
        const char *slash = strrchr(target, '/');
        protect = slash ? slash + 1 : target;
    }
    snprintf(dir, sizeof dir, "%s/runs", rd->out);
    prune_dir(dir, keep, protect, log);
    snprintf(dir, sizeof dir, "%s/failed", rd->out);
    prune_dir(dir, keep, NULL, log);
}

bool bb_rundir_previous(const bb_rundir *rd, const char *as_of, char *buf, size_t size)
{
    char runs[2100];
    snprintf(runs, sizeof runs, "%s/runs", rd->out);
    DIR *d = opendir(runs);
    if (!d)
        return false;
    char best[256] = "";
    long long best_mtime = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        const char *n = ent->d_name;
        /* "<YYYY-MM-DD>_<run id>": ISO dates compare as text. */
        if (strlen(n) < 12 || n[10] != '_' || n[0] == '.' || strncmp(n, as_of, 10) >= 0 ||
            strlen(n) >= sizeof best)
            continue;
        char path[2400];
        snprintf(path, sizeof path, "%s/%s", runs, n);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        long long mtime = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
        int cmp = best[0] ? strncmp(n, best, 10) : 1;
        if (cmp > 0 || (cmp == 0 && mtime > best_mtime)) {
            snprintf(best, sizeof best, "%s", n);
            best_mtime = mtime;
        }
    }
    closedir(d);
    if (!best[0])
        return false;
    snprintf(buf, size, "%s/%s", runs, best);
    return true;
}

void bb_rundir_close(bb_rundir *rd)
{
    if (rd->lock_fd >= 0)
        close(rd->lock_fd);
    rd->lock_fd = -1;
}
