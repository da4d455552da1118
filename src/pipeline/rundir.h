/*
 * rundir.h - the output directory: lock, temporary run directory, atomic
 * publication, the latest link.
 *
 * Layout under OUT:
 *     .lock                   flock()ed for the whole run
 *     runs/.tmp-<pid>/        the run being written
 *     runs/<as-of>_<run-id>/  complete runs
 *     latest -> runs/<...>    symlink to the newest complete run
 *     failed/<utc>_<pid>/     what a failed run left (log, quarantine, manifest)
 *
 * A run is written entirely inside its temporary directory, synced, and then
 * renamed to its final name in one step; `latest` is then replaced by
 * renaming a new symlink over it. A crash at any point leaves the previous
 * complete run and `latest` as they were. A rerun with the same run id swaps
 * its directory with the old one (renameat2 RENAME_EXCHANGE) before deleting
 * the old one, so the name never points at a half-written run.
 */
#ifndef BB_RUNDIR_H
#define BB_RUNDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"
#include "util/log.h"

typedef struct bb_rundir {
    char out[2048];
    char tmp[4096];       /* the temporary run directory */
    char final[4096];     /* set by bb_rundir_publish */
    int lock_fd;
} bb_rundir;

/* Creates OUT, takes the lock (BB_ERR_TEMPFAIL when another run holds it),
 * removes stale temporary directories and creates a fresh one. */
bb_err bb_rundir_open(bb_rundir *rd, const char *out, bb_log *log);
/* Renames the temporary directory to runs/<name> and points latest at it. */
bb_err bb_rundir_publish(bb_rundir *rd, const char *name, bb_log *log);
/* Moves the temporary directory to failed/<utc>_<pid> (path in rd->final). */
bb_err bb_rundir_fail(bb_rundir *rd, bb_log *log);
/* Deletes all but the newest `keep` entries of OUT/runs and of OUT/failed
 * (by modification time; never the run `latest` points at). keep 0: none. */
void bb_rundir_prune(bb_rundir *rd, int keep, bb_log *log);
/* The run this one is compared with: the newest complete run in OUT/runs
 * whose as-of date is before as_of (so a rerun of the same night compares
 * with the night before, not with itself). Its path goes to buf; false when
 * there is none. */
bool bb_rundir_previous(const bb_rundir *rd, const char *as_of, char *buf, size_t size);
/* Releases the lock. */
void bb_rundir_close(bb_rundir *rd);

#endif
