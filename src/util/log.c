#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"

#define HELD_MAX ((size_t)8 << 20)

struct bb_log {
    FILE *console;
    bool console_tty;
    bb_log_level console_level;
    FILE *file;
    bb_buf held;            /* lines waiting for the file */
    unsigned long held_dropped;
    unsigned long count[BB_LOG_DEBUG + 1];
    pthread_mutex_t lock;
};

static const char *level_name[] = {"ERROR", "WARN", "INFO", "DEBUG"};

bb_err bb_log_new(bb_log **out, FILE *console, bb_log_level console_level)
{
    *out = NULL;
    bb_log *log = calloc(1, sizeof *log);
    if (!log)
        return BB_ERR_NOMEM;
    log->console = console;
    log->console_tty = console && isatty(fileno(console));
    log->console_level = console_level;
    bb_buf_init(&log->held, HELD_MAX);
    pthread_mutex_init(&log->lock, NULL);
    *out = log;
    return BB_OK;
}

void bb_log_free(bb_log *log)
{
    if (!log)
        return;
    if (log->file)
        fclose(log->file);
    bb_buf_free(&log->held);
    pthread_mutex_destroy(&log->lock);
    free(log);
}

bool bb_log_console_is_tty(const bb_log *log)
{
    return log && log->console_tty;
}

bb_err bb_log_attach_file(bb_log *log, const char *path)
{
    FILE *f = fopen(path, "a");
    if (!f)
        return BB_ERR_CANTCREAT;
    pthread_mutex_lock(&log->lock);
    if (log->file)
        fclose(log->file);
    log->file = f;
    if (log->held.len)
        fwrite(log->held.data, 1, log->held.len, f);
    if (log->held_dropped)
        fprintf(f, "(%lu earlier log lines were not kept: the log buffer was full)\n",
                log->held_dropped);
    bb_buf_clear(&log->held);
    log->held_dropped = 0;
    fflush(f);
    pthread_mutex_unlock(&log->lock);
    return BB_OK;
}

void bb_log_detach_file(bb_log *log)
{
    pthread_mutex_lock(&log->lock);
    if (log->file)
        fclose(log->file);
    log->file = NULL;
    pthread_mutex_unlock(&log->lock);
}

unsigned long bb_log_count(const bb_log *log, bb_log_level level)
{
    return log ? log->count[level] : 0;
}

void bb_log_msg(bb_log *log, bb_log_level level, const char *fmt, ...)
{
    if (!log)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);

    pthread_mutex_lock(&log->lock);
    log->count[level]++;
    if (log->console && level <= log->console_level) {
        if (log->console_tty) {
            const char *tag = level == BB_LOG_ERROR ? "error: " : level == BB_LOG_WARN ? "warning: " : "";
            fprintf(log->console, "bbreport: %s%s\n", tag, msg);
        } else {
            fprintf(log->console, "%s %-5s %s\n", stamp, level_name[level], msg);
        }
        fflush(log->console);
    }
    if (level <= BB_LOG_INFO || log->console_level >= BB_LOG_DEBUG) {
        if (log->file) {
            fprintf(log->file, "%s %-5s %s\n", stamp, level_name[level], msg);
            fflush(log->file);
        } else if (bb_buf_printf(&log->held, "%s %-5s %s\n", stamp, level_name[level], msg) != BB_OK) {
            log->held_dropped++;
        }
    }
    pthread_mutex_unlock(&log->lock);
}
