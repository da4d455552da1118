/* Tests of e-mail delivery. The default run needs no mail server: settings
 * errors, missing run files, bad templates, and retries with backoff against
 * a closed loopback port. With --smtp (ctest entry mail_smtp) the cases run
 * against a real SMTP server on loopback, tests/e2e/smtp_sink.py (Debian's
 * python3-aiosmtpd), which decodes each message it receives with Python's
 * email package; that run is skipped (77) when /usr/bin/python3 or aiosmtpd
 * is missing. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "bb_test.h"
#include "pipeline/mail.h"
#include "util/fs.h"
#include "util/rng.h"

#define PYTHON "/usr/bin/python3"

static const char *MANIFEST =
    "{\"program\": \"bbreport\", \"status\": \"ok\", \"run_id\": \"abc123def0\","
    " \"as_of\": \"2025-12-31\","
    " \"counts\": {\"customers\": 1200, \"active_customers\": 950, \"items\": 60,"
    "  \"purchases\": 4000, \"visits\": 3100, \"units\": 5230, \"revenue\": \"1234567.8\","
    "  \"first_purchase\": \"2023-01-02\", \"last_purchase\": \"2025-12-31\"},"
    " \"options\": {\"report\": {\"title\": \"Sales report\","
    "  \"business_name\": \"Zo\\u00eb & Co <Salon>\"}}}\n";

typedef struct sink {
    pid_t pid;
    char dir[300];
    int port;
} sink;

typedef struct fixture {
    char dir[64];
    char run[128];
    char url[64];
    bb_log *log;
    FILE *console;
    char *console_text;
    size_t console_len;
    sink sink;
    bb_mail_opts o;
} fixture;

/* ---- helpers ------------------------------------------------------------- */

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(bb_fs_write_file(path, data, len), BB_OK);
}

static char *read_all(const char *path, size_t *len)
{
    char *data = NULL;
    size_t n = 0;
    if (bb_fs_read_file(path, (size_t)64 << 20, &data, &n) != BB_OK)
        return NULL;
    if (len)
        *len = n;
    return data;
}

/* Binary content that would break a careless transport: every byte value,
 * CRLF, bare CR and LF, NULs and the SMTP end-of-data line "\r\n.\r\n". */
static void write_binary(const char *dir, const char *name, const char *magic, size_t n,
                         uint64_t seed)
{
    unsigned char *b = malloc(n);
    assert_non_null(b);
    bb_rng r;
    bb_rng_seed(&r, seed, 0);
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(i < 256 ? i : bb_rng_next(&r) >> 56);
    memcpy(b, magic, strlen(magic));
    memcpy(b + n / 2, "\r\n.\r\n", 5);
    memcpy(b + n / 3, "\n.\n", 3);
    write_file(dir, name, b, n);
    free(b);
}

static bool file_equal(const char *a, const char *b)
{
    size_t la, lb;
    char *da = read_all(a, &la), *db = read_all(b, &lb);
    bool eq = da && db && la == lb && memcmp(da, db, la) == 0;
    free(da);
    free(db);
    return eq;
}

/* What was logged so far (the console stream is a memstream). */
static const char *logged(fixture *f)
{
    fflush(f->console);
    return f->console_text ? f->console_text : "";
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* A TCP port on loopback with nothing listening (bound, then released). */
static int closed_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

static bool smtp_sink_available(void)
{
    if (access(PYTHON, X_OK) != 0)
        return false;
    return system(PYTHON " -c 'import aiosmtpd' >/dev/null 2>&1") == 0;
}

/* Starts smtp_sink.py with extra arguments (NULL-terminated) and waits until
 * it has written its port. */
static void sink_start(fixture *f, const char *const *extra)
{
    sink *s = &f->sink;
    snprintf(s->dir, sizeof s->dir, "%s/mailbox", f->dir);
    assert_int_equal(bb_fs_mkdirs(s->dir), BB_OK);
    const char *src = getenv("BB_SOURCE_DIR");
    char script[512], log[400];
    snprintf(script, sizeof script, "%s/tests/e2e/smtp_sink.py", src ? src : ".");
    snprintf(log, sizeof log, "%s/sink.log", f->dir);
    const char *argv[16] = {PYTHON, script, "--dir", s->dir};
    size_t argc = 4;
    for (size_t i = 0; extra && extra[i] && argc < 15; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;
    fflush(NULL);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        FILE *out = freopen(log, "w", stdout);
        if (out)
            dup2(fileno(out), 2);
        execv(PYTHON, (char *const *)argv);
        _exit(127);
    }
    char port_path[400];
    snprintf(port_path, sizeof port_path, "%s/port", s->dir);
    for (int i = 0; i < 600 && !bb_fs_exists(port_path); i++) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    char *text = read_all(port_path, NULL);
    assert_non_null(text);
    s->port = (int)strtol(text, NULL, 10);
    free(text);
    assert_true(s->port > 0);
    snprintf(f->url, sizeof f->url, "smtp://127.0.0.1:%d", s->port);
    f->o.smtp_url = f->url;
}

static void sink_stop(sink *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

static bool have_msg(fixture *f, int n)
{
    char path[400];
    snprintf(path, sizeof path, "%s/msg-%d", f->sink.dir, n);
    return bb_fs_is_dir(path);
}

/* message.json of the n-th message received. */
static cJSON *msg_json(fixture *f, int n)
{
    char path[400];
    snprintf(path, sizeof path, "%s/msg-%d/message.json", f->sink.dir, n);
    char *text = read_all(path, NULL);
    assert_non_null(text);
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    return j;
}

static char *msg_file(fixture *f, int n, const char *name)
{
    char path[400];
    snprintf(path, sizeof path, "%s/msg-%d/%s", f->sink.dir, n, name);
    return read_all(path, NULL);
}

static bool msg_has_attachment(fixture *f, int n, const char *name)
{
    char path[400];
    snprintf(path, sizeof path, "%s/msg-%d/attachments/%s", f->sink.dir, n, name);
    return bb_fs_exists(path);
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void assert_str_array(const cJSON *o, const char *key, const char *const *want, size_t n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_true(cJSON_IsArray(a));
    assert_int_equal(cJSON_GetArraySize(a), n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(cJSON_GetArrayItem(a, (int)i)->valuestring, want[i]);
}

/* The content types of the message's parts, in order, joined by spaces. */
static void part_types(const cJSON *m, char *out, size_t size)
{
    out[0] = '\0';
    size_t used = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(m, "parts"))
    {
        int w = snprintf(out + used, size - used, "%s%s", used ? " " : "", jstr(p, "content_type"));
        if (w > 0 && (size_t)w < size - used)
            used += (size_t)w;
    }
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/bb_mail_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->run, sizeof f->run, "%s/runs/2025-12-31_abc123def0", f->dir);
    assert_int_equal(bb_fs_mkdirs(f->run), BB_OK);
    write_file(f->run, "manifest.json", MANIFEST, strlen(MANIFEST));
    write_binary(f->run, "report.pdf", "%PDF-1.4\n", 30000, 1);
    write_binary(f->run, "workbook.xlsx", "PK\x03\x04", 20000, 2);
    f->console = open_memstream(&f->console_text, &f->console_len);
    assert_non_null(f->console);
    assert_int_equal(bb_log_new(&f->log, f->console, BB_LOG_DEBUG), BB_OK);
    bb_mail_defaults(&f->o);
    f->o.from = "Reports <reports@example.com>";
    f->o.to = "owner@example.com";
    f->o.operators = "ops@example.com";
    f->o.starttls = false;
    f->o.retry_delay_ms = 5;
    f->o.timeout_s = 20;
    unsetenv("BB_SMTP_USER");
    unsetenv("BB_SMTP_PASSWORD");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sink_stop(&f->sink);
    if (getenv("BB_TEST_VERBOSE"))
        fprintf(stderr, "%s", logged(f));
    bb_log_free(f->log);
    fclose(f->console);
    free(f->console_text);
    if (!getenv("BB_TEST_KEEP"))
        bb_fs_rmtree(f->dir);
    unsetenv("BB_SMTP_USER");
    unsetenv("BB_SMTP_PASSWORD");
    free(f);
    return 0;
}

/* ---- without a server ---------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    bb_mail_opts o;
    bb_mail_defaults(&o);
    assert_null(o.smtp_url);
    assert_null(o.to);
    assert_string_equal(o.subject, BB_MAIL_DEFAULT_SUBJECT);
    assert_true(o.starttls);
    assert_false(o.attach_workbook);
    assert_int_equal(o.max_bytes, 10u << 20);
    assert_int_equal(o.retries, 3);
    assert_int_equal(o.retry_delay_ms, 2000);
    assert_int_equal(o.timeout_s, 60);
    assert_non_null(bb_mail_library_version());
}

/* Settings are checked before any connection: each of these fails at once. */
static void test_missing_settings(void **state)
{
    fixture *f = *state;
    f->o.smtp_url = NULL;
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_ERR_CONFIG);
    assert_non_null(strstr(logged(f), "no SMTP server configured"));

    f->o.smtp_url = "http://127.0.0.1:1";
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_ERR_CONFIG);
    f->o.smtp_url = "smtp://127.0.0.1:1";

    f->o.from = "";
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_ERR_CONFIG);
    f->o.from = "Reports <reports@example.com>";

    f->o.to = NULL;
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_ERR_CONFIG);
    f->o.to = " , ";
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_ERR_CONFIG);
    f->o.to = "owner@example.com, not an address";
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_ERR_CONFIG);
    assert_non_null(strstr(logged(f), "\"not an address\" is not an e-mail address"));
    f->o.to = "Owner <owner@example.com";
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_ERR_CONFIG);
    f->o.to = "Zo\xc3\xab <zo\xc3\xab@example.com>"; /* non-ASCII address: no SMTPUTF8 */
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_ERR_CONFIG);
    f->o.to = "owner@example.com";

    f->o.operators = NULL;
    assert_int_equal(bb_mail_send_failure(&f->o, NULL, "boom", 70, f->log), BB_ERR_CONFIG);
    assert_non_null(strstr(logged(f), "no operators address configured"));

    f->o.subject = "{{#as_of}} never closed";
    f->o.operators = "ops@example.com";
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_ERR_CONFIG);
    assert_non_null(strstr(logged(f), "template subject"));
    assert_int_equal(count_of(logged(f), "sending the"), 0);
}

static void test_missing_run_files(void **state)
{
    fixture *f = *state;
    char path[512];
    f->o.smtp_url = "smtp://127.0.0.1:1";
    snprintf(path, sizeof path, "%s/nowhere", f->dir);
    assert_int_equal(bb_mail_send_run(&f->o, path, f->log), BB_ERR_NOINPUT);

    f->o.attach_workbook = true;
    snprintf(path, sizeof path, "%s/workbook.xlsx", f->run);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_ERR_NOINPUT);
    assert_non_null(strstr(logged(f), "workbook.xlsx not found"));

    snprintf(path, sizeof path, "%s/report.pdf", f->run);
    assert_int_equal(unlink(path), 0);
    f->o.attach_workbook = false;
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_ERR_NOINPUT);
    assert_non_null(strstr(logged(f), "report.pdf not found"));

    write_file(f->run, "report.pdf", "%PDF", 4);
    const char *failed = "{\"status\": \"failed\", \"error\": \"bad input data\"}";
    write_file(f->run, "manifest.json", failed, strlen(failed));
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_ERR_NOINPUT);
    assert_non_null(strstr(logged(f), "did not complete (status failed)"));

    write_file(f->run, "manifest.json", "{not json", 9);
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_ERR_NOINPUT);

    snprintf(path, sizeof path, "%s/manifest.json", f->run);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_ERR_NOINPUT);
    assert_int_equal(count_of(logged(f), "sending the"), 0);
}

static void test_bad_template_dir(void **state)
{
    fixture *f = *state;
    f->o.smtp_url = "smtp://127.0.0.1:1";
    char tdir[256];
    snprintf(tdir, sizeof tdir, "%s/templates", f->dir);
    assert_int_equal(bb_fs_mkdirs(tdir), BB_OK);
    write_file(tdir, "email.html", "<p>{{#figures}}</p>", 19);
    f->o.templates_dir = tdir;
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_ERR_CONFIG);
    assert_non_null(strstr(logged(f), "template email.html"));
    assert_int_equal(count_of(logged(f), "sending the"), 0);
}

/* Nothing listens: every attempt fails at once, the waits double, and the
 * result is "try again later". The log shows the waits, not the clock. */
static void test_server_down_backoff(void **state)
{
    fixture *f = *state;
    char url[64];
    snprintf(url, sizeof url, "smtp://127.0.0.1:%d", closed_port());
    f->o.smtp_url = url;
    f->o.retries = 3;
    f->o.retry_delay_ms = 5;
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_ERR_TEMPFAIL);
    const char *l = logged(f);
    assert_int_equal(count_of(l, "sending the report"), 4);
    assert_non_null(strstr(l, "attempt 1 of 4 failed"));
    assert_non_null(strstr(l, "retrying in 5 ms"));
    assert_non_null(strstr(l, "retrying in 10 ms"));
    assert_non_null(strstr(l, "retrying in 20 ms"));
    assert_null(strstr(l, "retrying in 40 ms"));
    assert_non_null(strstr(l, "not delivered after 4 attempts"));

    f->o.retries = 0;
    assert_int_equal(bb_mail_send_failure(&f->o, f->run, "boom", 70, f->log), BB_ERR_TEMPFAIL);
    assert_non_null(strstr(logged(f), "failure notice was not delivered after 1 attempt"));
}

/* ---- against the loopback server ------------------------------------------ */

static void test_send_run(void **state)
{
    fixture *f = *state;
    sink_start(f, NULL);
    f->o.to = "Zo\xc3\xab M\xc3\xbcller <zoe@example.com>, owner@example.com,"
              " \"Doe, John\" <john@example.com>";
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_OK);
    assert_true(have_msg(f, 1));
    assert_false(have_msg(f, 2));

    cJSON *m = msg_json(f, 1);
    assert_string_equal(jstr(m, "mail_from"), "reports@example.com");
    static const char *const rcpt[] = {"zoe@example.com", "owner@example.com", "john@example.com"};
    assert_str_array(m, "rcpt_tos", rcpt, 3);
    assert_str_array(m, "to_addresses", rcpt, 3);
    static const char *const names[] = {"Zo\xc3\xab M\xc3\xbcller", "", "Doe, John"};
    assert_str_array(m, "to_names", names, 3);
    assert_string_equal(jstr(m, "from"), "Reports <reports@example.com>");
    /* the default subject, decoded; HTML escapes of the template undone */
    assert_string_equal(jstr(m, "subject"),
                        "Sales report: Zo\xc3\xab & Co <Salon>, as of 2025-12-31");
    assert_memory_equal(jstr(m, "raw_subject"), "=?UTF-8?B?", 10);
    assert_string_equal(jstr(m, "auto_submitted"), "auto-generated");
    assert_non_null(jstr(m, "message_id"));
    assert_non_null(jstr(m, "date"));
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(m, "date_count")->valueint, 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, "defects")), 0);
    char types[512];
    part_types(m, types, sizeof types);
    assert_string_equal(types, "multipart/mixed multipart/alternative text/plain text/html application/pdf");
    cJSON_Delete(m);

    /* the PDF arrives byte for byte; the workbook only when asked for */
    char sent[512], got[512];
    snprintf(sent, sizeof sent, "%s/report.pdf", f->run);
    snprintf(got, sizeof got, "%s/msg-1/attachments/report.pdf", f->sink.dir);
    assert_true(file_equal(sent, got));
    assert_false(msg_has_attachment(f, 1, "workbook.xlsx"));

    /* everything on the wire is 7-bit: headers encoded, bodies QP, files base64 */
    size_t len;
    char *raw = msg_file(f, 1, "raw.eml");
    assert_non_null(raw);
    len = strlen(raw);
    for (size_t i = 0; i < len; i++)
        assert_true((unsigned char)raw[i] < 0x80);
    /* no line of the headers built here (all but curl's Content-*) over 78
     * characters; the long To and Subject are folded */
    char *end = strstr(raw, "\r\n\r\n");
    assert_non_null(end);
    for (char *line = raw; line < end;) {
        char *eol = strstr(line, "\r\n");
        bool ours = strncmp(line, "Content-", 8) != 0;
        if (ours && eol - line > 78)
            print_message("long header line: %.*s\n", (int)(eol - line), line);
        assert_true(!ours || eol - line <= 78);
        line = eol + 2;
    }
    assert_non_null(strstr(raw, ",\r\n "));     /* To: folded between mailboxes */
    assert_non_null(strstr(raw, "?=\r\n =?UTF-8?B?")); /* Subject: folded between words */
    free(raw);

    char *text = msg_file(f, 1, "body.txt");
    assert_non_null(text);
    assert_non_null(strstr(text, "Sales report: Zo\xc3\xab & Co <Salon>\n"));
    assert_non_null(strstr(text, "Report as of 2025-12-31, purchases from 2023-01-02 to 2025-12-31."));
    assert_non_null(strstr(text, "Revenue: 1,234,567.80"));
    assert_non_null(strstr(text, "Visits: 3,100"));
    assert_non_null(strstr(text, "Active customers: 950"));
    assert_non_null(strstr(text, "Attached: report.pdf (29.3 KiB)"));
    assert_null(strstr(text, "Not attached"));
    assert_non_null(strstr(text, "Run abc123def0"));
    free(text);
    char *html = msg_file(f, 1, "body.html");
    assert_non_null(html);
    assert_non_null(strstr(html, "<h1 style=\"margin:0 0 4px;font-size:20px;\">Sales report: "
                                 "Zo\xc3\xab &amp; Co &lt;Salon&gt;</h1>"));
    assert_non_null(strstr(html, "1,234,567.80"));
    free(html);
}

/* The pipeline's "kpis" are shown as they come; the workbook is attached on
 * request; a custom subject template is plain text. */
static void test_kpis_workbook_subject(void **state)
{
    fixture *f = *state;
    const char *manifest =
        "{\"status\": \"ok\", \"run_id\": \"r2\", \"as_of\": \"2026-01-07\", \"title\": \"Weekly\","
        " \"business_name\": \"Hair & Co\", \"counts\": {\"visits\": 10},"
        " \"kpis\": [{\"label\": \"Revenue\", \"value\": \"12,345.00\", \"delta\": \"+4.1 %\"},"
        "           {\"label\": \"Visits\", \"value\": \"310\", \"delta\": \"\"}]}";
    write_file(f->run, "manifest.json", manifest, strlen(manifest));
    sink_start(f, NULL);
    f->o.attach_workbook = true;
    f->o.subject = "{{title}} for {{business_name}}: the figures of the salon and the shop\n"
                   "for the week, as of {{as_of}}";
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_OK);
    cJSON *m = msg_json(f, 1);
    /* ASCII stays readable, folded at a space; the line break became a space */
    assert_string_equal(jstr(m, "subject"), "Weekly for Hair & Co: the figures of the salon and "
                                            "the shop for the week, as of 2026-01-07");
    char *raw = msg_file(f, 1, "raw.eml");
    assert_non_null(strstr(raw, "\r\nSubject: Weekly for Hair & Co: the figures of the salon and "
                                "the shop for the\r\n week, as of 2026-01-07\r\n"));
    free(raw);
    char types[512];
    part_types(m, types, sizeof types);
    assert_string_equal(types, "multipart/mixed multipart/alternative text/plain text/html "
                               "application/pdf "
                               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    cJSON_Delete(m);
    char sent[512], got[512];
    snprintf(sent, sizeof sent, "%s/workbook.xlsx", f->run);
    snprintf(got, sizeof got, "%s/msg-1/attachments/workbook.xlsx", f->sink.dir);
    assert_true(file_equal(sent, got));
    char *text = msg_file(f, 1, "body.txt");
    assert_non_null(strstr(text, "Weekly: Hair & Co\n"));
    assert_non_null(strstr(text, "Revenue: 12,345.00 (+4.1 %)\n"));
    assert_non_null(strstr(text, "Visits: 310\n"));
    assert_null(strstr(text, "Visits: 10\n")); /* kpis replace the counts */
    free(text);
    char *html = msg_file(f, 1, "body.html");
    assert_non_null(strstr(html, "+4.1 %"));
    free(html);
}

/* Over the size limit the workbook goes first, then the PDF; the body says
 * what was left out and where the report is. */
static void test_size_limit(void **state)
{
    fixture *f = *state;
    sink_start(f, NULL);
    f->o.attach_workbook = true;
    /* the PDF alone (about 41 KB encoded) fits, PDF + workbook do not */
    f->o.max_bytes = 60000;
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_OK);
    assert_true(msg_has_attachment(f, 1, "report.pdf"));
    assert_false(msg_has_attachment(f, 1, "workbook.xlsx"));
    cJSON *m = msg_json(f, 1);
    assert_true(cJSON_GetObjectItemCaseSensitive(m, "size")->valuedouble <= 60000);
    cJSON_Delete(m);
    char *text = msg_file(f, 1, "body.txt");
    assert_non_null(strstr(text, "Not attached, to keep this message under 58.6 KiB:"));
    assert_non_null(strstr(text, "  workbook.xlsx (19.5 KiB)"));
    free(text);
    assert_non_null(strstr(logged(f), "sending the PDF without the workbook"));

    f->o.max_bytes = 20000;
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_OK);
    m = msg_json(f, 2);
    char types[512];
    part_types(m, types, sizeof types);
    assert_string_equal(types, "multipart/mixed multipart/alternative text/plain text/html");
    assert_true(cJSON_GetObjectItemCaseSensitive(m, "size")->valuedouble <= 20000);
    cJSON_Delete(m);
    text = msg_file(f, 2, "body.txt");
    assert_non_null(strstr(text, "  report.pdf (29.3 KiB)\n"));
    assert_non_null(strstr(text, "  workbook.xlsx (19.5 KiB)\n"));
    char where[512];
    snprintf(where, sizeof where, "  %s/report.pdf\n", f->run);
    assert_non_null(strstr(text, where));
    assert_null(strstr(text, "Attached:"));
    free(text);
    char *html = msg_file(f, 2, "body.html");
    snprintf(where, sizeof where, "<code>%s/report.pdf</code>", f->run);
    assert_non_null(strstr(html, where));
    free(html);
}

/* 451 to the first two MAIL commands: delivered on the third attempt. */
static void test_tempfail_then_delivered(void **state)
{
    fixture *f = *state;
    static const char *const args[] = {"--tempfail", "2", NULL};
    sink_start(f, args);
    f->o.retries = 3;
    f->o.retry_delay_ms = 10;
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_OK);
    assert_true(have_msg(f, 1));
    assert_false(have_msg(f, 2));
    const char *l = logged(f);
    assert_non_null(strstr(l, "attempt 1 of 4 failed"));
    assert_non_null(strstr(l, "(server reply 451); retrying in 10 ms"));
    assert_non_null(strstr(l, "(server reply 451); retrying in 20 ms"));
    assert_int_equal(count_of(l, "retrying in"), 2);
    assert_non_null(strstr(l, "the report was accepted"));
}

/* A refused recipient is final: no retries, nothing delivered. */
static void test_rejected_recipient(void **state)
{
    fixture *f = *state;
    static const char *const args[] = {"--reject-rcpt", "nobody@example.com", NULL};
    sink_start(f, args);
    f->o.to = "owner@example.com, nobody@example.com";
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_ERR_TEMPFAIL);
    assert_false(have_msg(f, 1));
    const char *l = logged(f);
    assert_non_null(strstr(l, "refused the report"));
    assert_non_null(strstr(l, "550"));
    assert_int_equal(count_of(l, "retrying in"), 0);
}

/* Credentials from the environment; the password never reaches the log. A
 * wrong password is a settings error, not retried. */
static void test_auth_from_environment(void **state)
{
    fixture *f = *state;
    static const char *const args[] = {"--auth", "mailer:s3cr3t-Pw0rd", NULL};
    sink_start(f, args);
    setenv("BB_SMTP_USER", "mailer", 1);
    setenv("BB_SMTP_PASSWORD", "s3cr3t-Pw0rd", 1);
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_OK);
    assert_true(have_msg(f, 1));

    f->o.password = "wrong-Pw0rd";
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_ERR_CONFIG);
    assert_false(have_msg(f, 2));
    const char *l = logged(f);
    assert_int_equal(count_of(l, "retrying in"), 0);
    assert_non_null(strstr(l, "without TLS"));
    assert_null(strstr(l, "s3cr3t"));
    assert_null(strstr(l, "wrong-Pw0rd"));

    /* user information in the URL is not logged either */
    char url[128];
    snprintf(url, sizeof url, "smtp://mailer:s3cr3t-Pw0rd@127.0.0.1:%d", f->sink.port);
    f->o.smtp_url = url;
    f->o.username = "mailer";
    f->o.password = "s3cr3t-Pw0rd";
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_OK);
    assert_null(strstr(logged(f), "s3cr3t"));
}

/* starttls = true against a server without STARTTLS: a settings error. */
static void test_starttls_required(void **state)
{
    fixture *f = *state;
    sink_start(f, NULL);
    f->o.starttls = true;
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_ERR_CONFIG);
    assert_false(have_msg(f, 1));
    assert_int_equal(count_of(logged(f), "retrying in"), 0);
}

/* A template directory overrides the files it has; the others stay built in. */
static void test_template_override(void **state)
{
    fixture *f = *state;
    char tdir[256];
    snprintf(tdir, sizeof tdir, "%s/templates", f->dir);
    assert_int_equal(bb_fs_mkdirs(tdir), BB_OK);
    const char *tpl = "Custom body for {{{business_name}}} ({{run_id}})\n";
    write_file(tdir, "email.txt", tpl, strlen(tpl));
    sink_start(f, NULL);
    f->o.templates_dir = tdir;
    assert_int_equal(bb_mail_send_run(&f->o, f->run, f->log), BB_OK);
    char *text = msg_file(f, 1, "body.txt");
    assert_string_equal(text, "Custom body for Zo\xc3\xab & Co <Salon> (abc123def0)\n");
    free(text);
    char *html = msg_file(f, 1, "body.html");
    assert_non_null(strstr(html, "Report as of 2025-12-31"));
    free(html);
}

static void test_failure_notice(void **state)
{
    fixture *f = *state;
    char failed[256];
    snprintf(failed, sizeof failed, "%s/failed/20260101T020000Z_123", f->dir);
    assert_int_equal(bb_fs_mkdirs(failed), BB_OK);
    char log[8192] = "";
    size_t used = 0;
    for (int i = 1; i <= 100; i++)
        used += (size_t)snprintf(log + used, sizeof log - used,
                                 "2026-01-01T02:00:00Z INFO  line %03d of the run\n", i);
    write_file(failed, "run.log", log, used);
    const char *manifest = "{\"status\": \"failed\", \"error\": \"bad input data\", \"run_id\": \"f00d\","
                           " \"as_of\": \"2025-12-31\","
                           " \"options\": {\"report\": {\"title\": \"Sales report\","
                           " \"business_name\": \"Caf\\u00e9 Zo\\u00eb\"}}}";
    write_file(failed, "manifest.json", manifest, strlen(manifest));
    sink_start(f, NULL);
    f->o.operators = "ops@example.com, On Call <oncall@example.com>";
    assert_int_equal(bb_mail_send_failure(&f->o, failed, "bad input data: purchases.csv", 65, f->log),
                     BB_OK);

    cJSON *m = msg_json(f, 1);
    static const char *const rcpt[] = {"ops@example.com", "oncall@example.com"};
    assert_str_array(m, "rcpt_tos", rcpt, 2);
    const char *subject = jstr(m, "subject");
    assert_non_null(strstr(subject, "Sales report: Caf\xc3\xa9 Zo\xc3\xab: run failed on "));
    assert_non_null(strstr(subject, "(exit 65: bad input data: purchases.csv)"));
    char types[512];
    part_types(m, types, sizeof types);
    assert_string_equal(types, "multipart/mixed text/plain text/plain");
    cJSON_Delete(m);

    char *text = msg_file(f, 1, "body.txt");
    assert_non_null(text);
    assert_non_null(strstr(text, "Error:     bad input data: purchases.csv\n"));
    assert_non_null(strstr(text, "Exit code: 65\n"));
    assert_non_null(strstr(text, "Run id:    f00d\n"));
    assert_non_null(strstr(text, failed));
    assert_non_null(strstr(text, "The last 40 lines of run.log (all of it is attached):"));
    assert_non_null(strstr(text, "line 100 of the run"));
    assert_non_null(strstr(text, "line 061 of the run"));
    assert_null(strstr(text, "line 060 of the run"));
    free(text);
    char sent[512], got[512];
    snprintf(sent, sizeof sent, "%s/run.log", failed);
    snprintf(got, sizeof got, "%s/msg-1/attachments/run.log", f->sink.dir);
    assert_true(file_equal(sent, got));

    /* a run that failed before it had a directory */
    assert_int_equal(bb_mail_send_failure(&f->o, NULL, "another run holds the lock", 75, f->log),
                     BB_OK);
    text = msg_file(f, 2, "body.txt");
    assert_non_null(strstr(text, "stopped before it had a run directory"));
    assert_non_null(strstr(text, "Exit code: 75\n"));
    assert_null(strstr(text, "lines of run.log"));
    free(text);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test_setup_teardown(test_missing_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_run_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_template_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_down_backoff, setup, teardown),
    };
    const struct CMUnitTest smtp[] = {
        cmocka_unit_test_setup_teardown(test_send_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kpis_workbook_subject, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tempfail_then_delivered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_recipient, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_from_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_starttls_required, setup, teardown),
        cmocka_unit_test_setup_teardown(test_template_override, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_notice, setup, teardown),
    };
    if (argc > 1 && strcmp(argv[1], "--smtp") == 0) {
        if (!smtp_sink_available()) {
            printf(PYTHON " with aiosmtpd not found: skipped\n");
            return BB_TEST_SKIP;
        }
        return cmocka_run_group_tests_name("smtp", smtp, NULL, NULL);
    }
    return cmocka_run_group_tests_name("unit", unit, NULL, NULL);
}
