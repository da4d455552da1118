/*
 * pipeline.h - the only place that knows the order of the stages.
 *
 *     ingest -> analytics -> charts -> PDF, workbook, HTML -> manifest -> publish
 *
 * Each stage is timed (wall time, peak resident memory) for the manifest and
 * the log; progress goes to the console. Everything is written into a
 * temporary run directory that is published in one rename when complete
 * (rundir.h), so a failure at any stage leaves out/latest untouched.
 */
#ifndef BB_PIPELINE_H
#define BB_PIPELINE_H

#include "pipeline/config.h"
#include "util/err.h"
#include "util/log.h"

typedef struct bb_run_result {
    char run_dir[4096];   /* the published run, or where a failed run was kept */
    char run_id[16];
    char as_of[11];
    size_t sheets;        /* customer sheets written */
} bb_run_result;

/* bbreport run */
bb_err bb_pipeline_run(const bb_config *c, bb_log *log, bb_run_result *res);
/* Mails a published run (bbreport send, run --send). BB_ERR_CONFIG when no
 * mail server or recipients are configured; BB_ERR_TEMPFAIL when delivery
 * failed after the retries. */
bb_err bb_pipeline_send(const bb_config *c, const char *run_dir, bb_log *log);
/* Mails a failure notice to [mail] operators, when a server and operators are
 * configured (nothing otherwise). failed_dir may be NULL. */
void bb_pipeline_notify_failure(const bb_config *c, const char *failed_dir, bb_err e, bb_log *log);
/* (src/pipeline/recommend_cmd.c)
 * `bbreport recommend --model FILE --data DIR --customer ID [--config FILE] [--top-n N]`:
 * argv after "recommend"; prints one customer's list (the CSV header and
 * rows of recommendations.csv) without retraining; a corrupt or mismatched
 * model file is rejected with a clear message (exit code via bb_err). Other
 * options (--as-of, --threads, input columns) are those of `bbreport run`. */
bb_err bb_recommend_command(int argc, char **argv, FILE *out, bb_log *log);
/* bbreport check: ingest only, data-quality summary on out. */
bb_err bb_pipeline_check(const bb_config *c, bb_log *log, FILE *out);

#endif
