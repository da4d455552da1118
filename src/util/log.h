/*
 * log.h - the run's log: a console stream and the run directory's run.log.
 *
 * Console lines are short ("bbreport: warning: ...") on a terminal and
 * timestamped when not (cron, systemd). run.log lines are always timestamped.
 * The run directory does not exist when logging starts, so lines logged before
 * bb_log_attach_file() are kept in memory (capped) and written when the file
 * is attached. Wall-clock time appears only here and in manifest.json.
 */
#ifndef BB_LOG_H
#define BB_LOG_H

#include <stdbool.h>
#include <stdio.h>

#include "util/err.h"

typedef enum bb_log_level {
    BB_LOG_ERROR = 0,
    BB_LOG_WARN,
    BB_LOG_INFO,
    BB_LOG_DEBUG,
} bb_log_level;

typedef struct bb_log bb_log;

/* console may be NULL (nothing on screen); lines above console_level are
 * not shown there but still go to the file (up to INFO; DEBUG only when the
 * console level is DEBUG). */
bb_err bb_log_new(bb_log **out, FILE *console, bb_log_level console_level);
void bb_log_free(bb_log *log);
/* Starts writing to path (after the lines held so far). */
bb_err bb_log_attach_file(bb_log *log, const char *path);
/* Closes the file; later lines are held in memory again. */
void bb_log_detach_file(bb_log *log);
bool bb_log_console_is_tty(const bb_log *log);
void bb_log_msg(bb_log *log, bb_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Number of lines logged at ERROR and WARN level. */
unsigned long bb_log_count(const bb_log *log, bb_log_level level);

#define bb_error(log, ...) bb_log_msg((log), BB_LOG_ERROR, __VA_ARGS__)
#define bb_warn(log, ...)  bb_log_msg((log), BB_LOG_WARN, __VA_ARGS__)
#define bb_info(log, ...)  bb_log_msg((log), BB_LOG_INFO, __VA_ARGS__)
#define bb_debug(log, ...) bb_log_msg((log), BB_LOG_DEBUG, __VA_ARGS__)

#endif
