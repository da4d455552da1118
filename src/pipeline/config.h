/*
 * config.h - the run's settings, and the one option table behind them.
 *
 * Every setting is a row of a static table (section, key, command-line name,
 * type, default, help). The same table drives the INI file (libinih), the
 * command line, `--help` with defaults, `--print-config`, and the manifest's
 * record of effective settings. Precedence: defaults < config file < command
 * line.
 *
 *     bb_config c;
 *     bb_config_init(&c);
 *     char err[512];
 *     if (bb_config_parse_args(&c, argc, argv, err, sizeof err) != BB_OK) ...
 *
 * In an INI file, a relative `data` or `out` path is taken relative to the
 * file's own directory, so a config can live beside its data; on the command
 * line it is relative to the working directory.
 */
#ifndef BB_CONFIG_H
#define BB_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "ingest/ingest.h"
#include "util/err.h"

typedef struct bb_config_input {
    char *file;
    char delimiter;
    char *date_format;
    char *column[BB_MAX_COLUMNS];
} bb_config_input;

typedef struct bb_config_mail {
    char *smtp_url, *from, *to, *operators, *subject, *username, *password;
    bool starttls, attach_workbook;
    int64_t max_bytes, retries, retry_delay_ms, timeout_s;
} bb_config_mail;

typedef struct bb_config_segment {
    int64_t k, k_min, k_max, n_init, max_iter, silhouette_sample, scan_sample;
    double tol;
    char *features, *log_features;
} bb_config_segment;

typedef struct bb_config_recommend {
    int64_t holdout_days, k, max_epochs, batch, patience, epoch_rows;
    char *serve, *loss, *hidden, *repeatable;
    double dropout, input_dropout, l2, lr;
} bb_config_recommend;

typedef struct bb_config {
    /* [run] */
    char *data_dir;
    char *out_dir;
    int32_t as_of;            /* BB_DATE_NONE: the last purchase date */
    uint64_t seed;
    int64_t threads;          /* 0: all cores */
    double reject_threshold;
    int64_t max_record_bytes;
    int64_t log_rejects;
    int64_t keep_runs;        /* 0: keep every run */
    int64_t top_n;            /* recommendations per customer */
    char *sheets;             /* all | none | segment:<name> | ids:<file> */
    /* [report] */
    char *business_name;
    char *title;
    char *templates_dir;      /* "": built in */
    /* [sales] */
    char *sales_period;       /* month, week or quarter */
    int64_t sales_top_items;
    /* [segment] */
    bb_config_segment segment;
    /* [recommend] */
    bb_config_recommend recommend;
    /* [mail] */
    bb_config_mail mail;
    /* [customers] [items] [purchases] */
    bb_config_input input[BB_FILE__COUNT];

    /* command line only */
    char *config_path;
    bool print_config;
    bool send;                /* run --send: mail the report when the run completes */
    int verbosity;            /* -1 quiet, 0 normal, 1 verbose */
} bb_config;

/* Fills c with the defaults. */
bb_err bb_config_init(bb_config *c);
void bb_config_free(bb_config *c);

/* Sets one option from text. BB_ERR_CONFIG with a message when the section,
 * key or value is not valid. */
bb_err bb_config_set(bb_config *c, const char *section, const char *key, const char *value,
                     char *err, size_t errsize);
/* Reads an INI file over the current values. */
bb_err bb_config_load_ini(bb_config *c, const char *path, char *err, size_t errsize);
/* Parses the options after a command word: first --config (if any) is loaded,
 * then every option is applied on top. BB_ERR_USAGE for an unknown option or
 * a positional argument. */
bb_err bb_config_parse_args(bb_config *c, int argc, char **argv, char *err, size_t errsize);

/* Writes the effective settings as an INI file with the help as comments. */
void bb_config_print_ini(const bb_config *c, FILE *f);
/* Writes the option list for --help: "  --as-of DATE   ... (default: ...)". */
void bb_config_print_help(FILE *f);
/* The effective settings as a JSON object {"run": {...}, ...}. With
 * fingerprint_only, settings that cannot change the results (threads, output
 * directory, logging) are left out: this object feeds the run id. */
cJSON *bb_config_to_json(const bb_config *c, bool fingerprint_only);
/* The ingest options the settings describe (pointers into c). */
void bb_config_ingest_opts(const bb_config *c, bb_ingest_opts *o);

#endif
