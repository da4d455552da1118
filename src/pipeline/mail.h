/*
 * mail.h - e-mail of a published run, and failure notices, over SMTP.
 *
 * Messages are built with libcurl's MIME API and sent with its SMTP client
 * (the only module that includes curl.h). A run's message is:
 *
 *     multipart/mixed
 *       multipart/alternative
 *         text/plain; charset=utf-8   templates/email.txt  (quoted-printable)
 *         text/html; charset=utf-8    templates/email.html (quoted-printable)
 *       application/pdf               report.pdf           (base64, as on disk)
 *       application/vnd...sheet       workbook.xlsx        (only with attach_workbook)
 *
 * The bodies and the subject are Mustache templates (render/template.h)
 * rendered over the run's manifest.json, with these fields added on top:
 * title, business_name, heading ("Sales report: Zoë & Co"), run_dir,
 * report_path, period, figures [{label, value}] (the counts formatted for
 * people), has_kpis (the manifest's optional "kpis" [{label, value, delta}]
 * are passed through as they are), attachments and omitted [{name, size}],
 * summary_only, size_limit, generator. The subject is plain text: HTML
 * escapes that {{name}} produces are decoded again, and a subject that is not
 * ASCII goes out as RFC 2047 encoded words. Display names in From and To are
 * encoded the same way; addresses themselves must be ASCII.
 *
 * Size limit: the encoded size of the message is estimated before sending.
 * Over max_bytes, the workbook is left out first, then the PDF too; the body
 * then names the files left out and where the run directory is.
 *
 * Delivery: up to 1 + retries attempts, waiting retry_delay_ms, then twice
 * that, and so on, between them. A connection failure, a timeout or a 4xx
 * reply is retried; a 5xx reply (a refused recipient, say) is final
 * (BB_ERR_TEMPFAIL: mail not delivered). Refused credentials, STARTTLS
 * required but not offered, and a certificate that does not verify are
 * settings errors (BB_ERR_CONFIG), not retried. The password never reaches
 * the log, and the SMTP URL is logged without user information.
 *
 * Usage:
 *
 *     bb_mail_opts o;
 *     bb_mail_defaults(&o);
 *     o.smtp_url = "smtp://mail.example.com:587";
 *     o.from = "Reports <reports@example.com>";
 *     o.to = "owner@example.com, \"Doe, Jane\" <jane@example.com>";
 *     o.operators = "ops@example.com";
 *     bb_err e = bb_mail_send_run(&o, "out/latest", log);
 *     // BB_ERR_TEMPFAIL: not delivered (exit code 75); the run itself is fine
 */
#ifndef BB_MAIL_H
#define BB_MAIL_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"
#include "util/log.h"

/* The subject used when opts.subject is NULL or "". */
#define BB_MAIL_DEFAULT_SUBJECT "{{heading}}, as of {{as_of}}"

typedef struct bb_mail_opts {
    const char *smtp_url;     /* "smtp://host:587" or "smtps://host:465" */
    const char *from;         /* "Reports <reports@example.com>" */
    const char *to;           /* comma-separated recipients */
    const char *operators;    /* comma-separated: failure notices go here */
    const char *subject;      /* Mustache template over the run summary, e.g. "{{title}}: as of {{as_of}}" */
    bool starttls;            /* require STARTTLS on smtp:// (CURLUSESSL_ALL) */
    const char *username, *password;  /* NULL or "": from environment BB_SMTP_USER / BB_SMTP_PASSWORD */
    bool attach_workbook;
    size_t max_bytes;         /* message size limit (0: none); above it: summary-only mail that says where the report is */
    int retries;              /* 3 */
    int retry_delay_ms;       /* 2000, doubled each retry (backoff) */
    int timeout_s;            /* 60: connection and whole-transfer limit per attempt */
    const char *templates_dir; /* NULL: built-in templates; a file missing there falls back to the built-in one */
} bb_mail_opts;

/* Fills o with the defaults: no server or addresses, the default subject,
 * starttls on, no workbook, max_bytes 10 MiB, 3 retries from 2000 ms, 60 s. */
void bb_mail_defaults(bb_mail_opts *o);

/* Mails a published run: report.pdf (and workbook.xlsx) attached, a short text + HTML body from
 * templates/email.txt|html rendered (src/render/template.h) over manifest.json of the run
 * (as_of, run_id, title/business name, counts, and an optional "kpis" array of
 * {label, value, delta} objects that the pipeline will add). BB_ERR_TEMPFAIL when the server
 * cannot be reached or refuses after the retries; BB_ERR_CONFIG for missing settings;
 * BB_ERR_NOINPUT when the run directory lacks its files. */
bb_err bb_mail_send_run(const bb_mail_opts *o, const char *run_dir, bb_log *log);

/* Mails a failure notice to the operators: the error, the exit code, the last lines of the
 * run's log (failed_dir/run.log when present). failed_dir may be NULL (the run failed before
 * it had a directory). The whole run.log is attached when it fits in max_bytes. */
bb_err bb_mail_send_failure(const bb_mail_opts *o, const char *failed_dir, const char *error,
                            int exit_code, bb_log *log);

/* The libcurl version, for the manifest. */
const char *bb_mail_library_version(void);

#endif
