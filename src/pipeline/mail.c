/*
 * mail.c - the run's e-mail and failure notices through libcurl (SMTP + MIME).
 *
 * A message is prepared once (addresses parsed, headers encoded, bodies
 * rendered, attachments chosen against the size limit) into an `outgoing`,
 * and each delivery attempt builds a fresh curl handle and MIME tree from
 * it, so a retry never depends on what a failed transfer left behind.
 * Attachments are streamed from disk by curl (curl_mime_filedata) and
 * base64-encoded by curl; this file never touches their bytes.
 *
 * Header fields are the one place where encoding is ours: curl sends the
 * strings of CURLOPT_HTTPHEADER as they are. Non-ASCII subjects and display
 * names become RFC 2047 "B" encoded words of at most 75 characters, folded
 * onto continuation lines (CRLF + space) so lines stay under 78 characters
 * (RFC 5322 section 2.1.1). CR and LF never reach a header from data.
 */
#define _XOPEN_SOURCE 700 /* realpath, gethostname */
#include "pipeline/mail.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "bb_build_info.h"
#include "render/template.h"
#include "render/templates.h"
#include "util/buf.h"
#include "util/fmt.h"
#include "util/fs.h"
#include "util/utf8.h"

#define MAX_ATTACHMENTS 4
#define TEMPLATE_MAX ((size_t)1 << 20)
#define MANIFEST_MAX ((size_t)64 << 20)
#define BODY_MAX ((size_t)16 << 20)
#define LOG_TAIL_LINES 40
#define LOG_TAIL_BYTES 65536
#define SUBJECT_MAX_CP 200
/* Input bytes per RFC 2047 encoded word: 39 bytes are 52 base64 characters,
 * so "=?UTF-8?B?" + 52 + "?=" is 64, within the 75 allowed, and a word fits
 * on a line after "Subject: ". */
#define WORD_BYTES 39
#define FOLD_AT 76
/* Headers and MIME boundaries, counted generously for the size estimate. */
#define HEADER_ALLOWANCE 4096
#define PART_ALLOWANCE 512
/* Backoff never waits longer than this between two attempts. */
#define MAX_DELAY_MS (10 * 60 * 1000)

typedef struct mail_addr {
    char *display; /* UTF-8, "" when none */
    char *spec;    /* local@domain, ASCII */
} mail_addr;

typedef struct addr_list {
    mail_addr *a;
    size_t n;
} addr_list;

typedef struct attachment {
    char name[80];
    char path[4200];
    const char *type;
    long long bytes;
} attachment;

/* Everything one delivery attempt needs; the strings are owned here. */
typedef struct outgoing {
    const addr_list *rcpt;
    const mail_addr *sender;
    char *from_hdr, *to_hdr, *subject_hdr;
    char date_hdr[64];
    char msgid_hdr[256];
    char *text;   /* CRLF line ends */
    char *html;   /* NULL: text only */
    attachment att[MAX_ATTACHMENTS];
    size_t n_att;
    const char *what; /* "report" or "failure notice", for the log */
} outgoing;

typedef enum attempt_outcome {
    OUT_SENT,
    OUT_RETRY,     /* worth another attempt */
    OUT_REFUSED,   /* a final refusal by the server */
    OUT_CONFIG,    /* the settings are wrong: retrying cannot help */
    OUT_INPUT,     /* an attachment could not be read */
} attempt_outcome;

void bb_mail_defaults(bb_mail_opts *o)
{
    memset(o, 0, sizeof *o);
    o->subject = BB_MAIL_DEFAULT_SUBJECT;
    o->starttls = true;
    o->attach_workbook = false;
    o->max_bytes = (size_t)10 << 20;
    o->retries = 3;
    o->retry_delay_ms = 2000;
    o->timeout_s = 60;
}

const char *bb_mail_library_version(void)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    return v && v->version ? v->version : "unknown";
}

static bool empty(const char *s)
{
    return !s || !*s;
}

/* ---- addresses ---------------------------------------------------------- */

static void addr_list_free(addr_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->a[i].display);
        free(l->a[i].spec);
    }
    free(l->a);
    l->a = NULL;
    l->n = 0;
}

static char *dup_range(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* An addr-spec we can hand to SMTP: printable ASCII, one '@' with text on
 * both sides, none of the characters that delimit addresses in a header. */
static bool valid_spec(const char *s, size_t n)
{
    size_t at = 0, ats = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || strchr("<>()[],;:\\\"", c))
            return false;
        if (c == '@') {
            at = i;
            ats++;
        }
    }
    return ats == 1 && at > 0 && at + 1 < n;
}

/* One mailbox: "addr", "<addr>", "Name <addr>" or "\"Doe, Jane\" <addr>". */
static bool parse_mailbox(const char *s, size_t n, mail_addr *out)
{
    trim(&s, &n);
    const char *lt = n ? memchr(s, '<', n) : NULL;
    const char *spec = s, *disp = s;
    size_t spec_n = n, disp_n = 0;
    if (lt) {
        if (s[n - 1] != '>')
            return false;
        spec = lt + 1;
        spec_n = (size_t)(s + n - 1 - spec);
        disp_n = (size_t)(lt - s);
        trim(&disp, &disp_n);
    }
    trim(&spec, &spec_n);
    if (!valid_spec(spec, spec_n))
        return false;
    bb_buf d;
    bb_buf_init(&d, 4096);
    bool quoted = disp_n >= 2 && disp[0] == '"' && disp[disp_n - 1] == '"';
    size_t from = quoted ? 1 : 0, to = quoted ? disp_n - 1 : disp_n;
    bool ok = true;
    for (size_t i = from; i < to && ok; i++) {
        char c = disp[i];
        if (c == '\r' || c == '\n')
            ok = false;
        else if (quoted && c == '\\' && i + 1 < to)
            ok = bb_buf_putc(&d, disp[++i]) == BB_OK;
        else
            ok = bb_buf_putc(&d, c) == BB_OK;
    }
    if (ok && d.len && !bb_utf8_valid(d.data, d.len, NULL))
        ok = false;
    out->display = ok ? bb_buf_detach(&d) : NULL;
    out->spec = ok ? dup_range(spec, spec_n) : NULL;
    bb_buf_free(&d);
    if (!out->display || !out->spec) {
        free(out->display);
        free(out->spec);
        out->display = out->spec = NULL;
        return false;
    }
    return true;
}

/* Splits a comma-separated list, keeping commas inside quotes and <...>. */
static bb_err parse_addresses(const char *list, const char *key, addr_list *out, bb_log *log)
{
    out->a = NULL;
    out->n = 0;
    if (empty(list)) {
        bb_error(log, "mail: no %s address configured", key);
        return BB_ERR_CONFIG;
    }
    size_t len = strlen(list);
    size_t start = 0;
    bool in_quote = false, in_angle = false;
    for (size_t i = 0; i <= len; i++) {
        char c = list[i];
        if (i + 1 < len && c == '\\' && in_quote) {
            i++;
            continue;
        }
        if (c == '"' && !in_angle)
            in_quote = !in_quote;
        else if (c == '<' && !in_quote)
            in_angle = true;
        else if (c == '>' && !in_quote)
            in_angle = false;
        if (i < len && (c != ',' || in_quote || in_angle))
            continue;
        const char *piece = list + start;
        size_t n = i - start;
        start = i + 1;
        trim(&piece, &n);
        if (n == 0)
            continue;
        mail_addr a;
        if (!parse_mailbox(piece, n, &a)) {
            bb_error(log, "mail: %s: \"%.*s\" is not an e-mail address", key, (int)(n > 200 ? 200 : n),
                     piece);
            addr_list_free(out);
            return BB_ERR_CONFIG;
        }
        mail_addr *grown = realloc(out->a, (out->n + 1) * sizeof *grown);
        if (!grown) {
            free(a.display);
            free(a.spec);
            addr_list_free(out);
            return BB_ERR_NOMEM;
        }
        out->a = grown;
        out->a[out->n++] = a;
    }
    if (out->n == 0) {
        bb_error(log, "mail: no %s address configured", key);
        return BB_ERR_CONFIG;
    }
    return BB_OK;
}

/* ---- header encoding (RFC 5322, RFC 2047) -------------------------------- */

static bool is_ascii_printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

static void base64(const unsigned char *p, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

/* Appends text as a run of encoded words (RFC 2047 section 5: allowed in
 * *text and in phrases), each holding whole UTF-8 characters, separated by
 * a space or, before a word that would pass FOLD_AT, a fold. *col is the
 * current column. */
static bb_err put_encoded_words(bb_buf *b, const char *s, size_t *col)
{
    size_t n = strlen(s);
    bool first = true;
    bb_err e = BB_OK;
    while (n > 0 && e == BB_OK) {
        size_t take = n <= WORD_BYTES ? n : WORD_BYTES;
        while (take < n && ((unsigned char)s[take] & 0xC0) == 0x80)
            take--; /* do not split a character */
        char enc[4 * WORD_BYTES / 3 + 8];
        base64((const unsigned char *)s, take, enc);
        size_t word = 12 + strlen(enc);
        if (!first) {
            if (*col + 1 + word > FOLD_AT) {
                e = bb_buf_puts(b, "\r\n ");
                *col = 1;
            } else {
                e = bb_buf_putc(b, ' ');
                (*col)++;
            }
        }
        if (e == BB_OK)
            e = bb_buf_printf(b, "=?UTF-8?B?%s?=", enc);
        *col += word;
        s += take;
        n -= take;
        first = false;
    }
    return e;
}

/* A display name as an RFC 5322 phrase: atoms as they are, other ASCII as a
 * quoted-string, anything else as encoded words. */
static bb_err put_phrase(bb_buf *b, const char *s, size_t *col)
{
    if (!is_ascii_printable(s) || strstr(s, "=?"))
        return put_encoded_words(b, s, col);
    bool atoms = true;
    for (const char *p = s; *p; p++)
        if (!(p[0] == ' ' || (p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z') ||
              (p[0] >= '0' && p[0] <= '9') || strchr("!#$%&'*+-/=?^_`{|}~", p[0])))
            atoms = false;
    size_t before = b->len;
    bb_err e = BB_OK;
    if (atoms) {
        e = bb_buf_puts(b, s);
    } else {
        e = bb_buf_putc(b, '"');
        for (const char *p = s; *p && e == BB_OK; p++) {
            if (*p == '"' || *p == '\\')
                e = bb_buf_putc(b, '\\');
            if (e == BB_OK)
                e = bb_buf_putc(b, *p);
        }
        if (e == BB_OK)
            e = bb_buf_putc(b, '"');
    }
    *col += b->len - before;
    return e;
}

/* "Name: a, b, c" with each mailbox folded onto its own line when needed. */
static char *address_header(const char *name, const mail_addr *a, size_t n)
{
    bb_buf b;
    bb_buf_init(&b, 1 << 20);
    bb_err e = bb_buf_printf(&b, "%s: ", name);
    size_t col = strlen(name) + 2;
    for (size_t i = 0; i < n && e == BB_OK; i++) {
        if (i > 0) {
            size_t need = strlen(a[i].spec) + 2 + (a[i].display[0] ? strlen(a[i].display) + 1 : 0);
            if (col + 1 + need > FOLD_AT) {
                e = bb_buf_puts(&b, ",\r\n ");
                col = 1;
            } else {
                e = bb_buf_puts(&b, ", ");
                col += 2;
            }
        }
        if (e == BB_OK && a[i].display[0]) {
            e = put_phrase(&b, a[i].display, &col);
            if (e == BB_OK)
                e = bb_buf_puts(&b, " ");
            col++;
        }
        if (e == BB_OK)
            e = bb_buf_printf(&b, "<%s>", a[i].spec);
        col += strlen(a[i].spec) + 2;
    }
    char *s = e == BB_OK ? bb_buf_detach(&b) : NULL;
    bb_buf_free(&b);
    return s;
}

/* ASCII text folded at spaces before FOLD_AT: unfolding (removing the CRLF)
 * gives the text back, space included. */
static bb_err put_folded(bb_buf *b, const char *s, size_t *col)
{
    bb_err e = BB_OK;
    while (*s && e == BB_OK) {
        size_t word = strcspn(s + 1, " ") + 1;
        if (*s == ' ' && *col + word > FOLD_AT && *col > 1) {
            e = bb_buf_puts(b, "\r\n");
            *col = 0;
        }
        if (e == BB_OK)
            e = bb_buf_append(b, s, word);
        *col += word;
        s += word;
    }
    return e;
}

static char *subject_header(const char *subject)
{
    bb_buf b;
    bb_buf_init(&b, 1 << 20);
    bb_err e = bb_buf_puts(&b, "Subject: ");
    size_t col = 9;
    if (e == BB_OK && (!is_ascii_printable(subject) || strstr(subject, "=?")))
        e = put_encoded_words(&b, subject, &col);
    else if (e == BB_OK)
        e = put_folded(&b, subject, &col);
    char *s = e == BB_OK ? bb_buf_detach(&b) : NULL;
    bb_buf_free(&b);
    return s;
}

/* RFC 5322 date-time in UTC, with English names whatever the C locale. */
static void date_header(time_t t, char out[64])
{
    static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 64, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000", wd[tm.tm_wday % 7], tm.tm_mday,
             mon[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Unique per message: wall time to the nanosecond, process, what it is; the
 * sender's domain on the right, as RFC 5322 section 3.6.4 suggests. */
static void msgid_header(const mail_addr *from, const char *tag, char out[256])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    const char *domain = strchr(from->spec, '@');
    snprintf(out, 256, "Message-ID: <%lld.%09ld.%ld.%s@%s>", (long long)ts.tv_sec, ts.tv_nsec,
             (long)getpid(), tag, domain ? domain + 1 : "localhost");
}

/* ---- text helpers -------------------------------------------------------- */

/* Replaces bytes that are not valid UTF-8 by '?', in place. */
static void utf8_scrub(char *s, size_t n)
{
    size_t off = 0;
    while (off < n) {
        size_t bad;
        if (bb_utf8_valid(s + off, n - off, &bad))
            return;
        s[off + bad] = '?';
        off += bad + 1;
    }
}

/* The subject as one plain-text line: with decode_entities, the HTML
 * escapes of template.c decoded (exactly the five it writes); control
 * characters as spaces, spaces collapsed, at most SUBJECT_MAX_CP characters. */
static char *plain_subject(const char *s, size_t n, bool decode_entities)
{
    static const struct {
        const char *ent;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}};
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '&' && decode_entities) {
            for (size_t k = 0; k < sizeof ents / sizeof ents[0]; k++) {
                size_t el = strlen(ents[k].ent);
                if (n - i >= el && memcmp(s + i, ents[k].ent, el) == 0) {
                    c = ents[k].c;
                    i += el - 1;
                    break;
                }
            }
        } else if ((unsigned char)c < 0x20 || c == 0x7f) {
            c = ' ';
        }
        if (c == ' ' && (o == 0 || out[o - 1] == ' '))
            continue;
        out[o++] = c;
    }
    while (o && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    utf8_scrub(out, o);
    out[bb_utf8_prefix(out, o, SUBJECT_MAX_CP)] = '\0';
    return out;
}

/* Text with CRLF line ends: curl's quoted-printable encoder takes only CRLF
 * pairs as line breaks and would escape a bare LF. */
static char *crlf(const char *s, size_t n)
{
    bb_buf b;
    bb_buf_init(&b, BODY_MAX);
    bb_err e = bb_buf_reserve(&b, n + n / 16 + 2);
    for (size_t i = 0; i < n && e == BB_OK; i++) {
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            e = bb_buf_putc(&b, '\r');
        if (e == BB_OK)
            e = bb_buf_putc(&b, s[i]);
    }
    char *out = e == BB_OK ? bb_buf_detach(&b) : NULL;
    bb_buf_free(&b);
    return out;
}

/* Encoded size of an attachment: base64, 76 characters and CRLF per line. */
static size_t base64_size(long long bytes)
{
    size_t chars = 4 * (((size_t)bytes + 2) / 3);
    return chars + 2 * ((chars + 75) / 76);
}

/* Quoted-printable size: escaped bytes take 3, soft breaks 3 per 73. */
static size_t qp_size(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p >= 0x7f || *p == '=' || (*p < 0x20 && *p != '\r' && *p != '\n')) ? 3 : 1;
    return n + 3 * (n / 73);
}

static size_t message_size(const outgoing *m, size_t n_att)
{
    size_t n = HEADER_ALLOWANCE + strlen(m->subject_hdr) + strlen(m->to_hdr) + strlen(m->from_hdr);
    n += PART_ALLOWANCE + qp_size(m->text);
    if (m->html)
        n += PART_ALLOWANCE + qp_size(m->html);
    for (size_t i = 0; i < n_att; i++)
        n += PART_ALLOWANCE + base64_size(m->att[i].bytes);
    return n;
}

/* ---- templates ----------------------------------------------------------- */

static bb_err load_template(const bb_mail_opts *o, const char *name, char **text, size_t *len,
                            bb_log *log)
{
    *text = NULL;
    *len = 0;
    if (!empty(o->templates_dir)) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", o->templates_dir, name);
        if (bb_fs_exists(path)) {
            bb_err e = bb_fs_read_file(path, TEMPLATE_MAX, text, len);
            if (e != BB_OK)
                bb_error(log, "mail: cannot read template %s", path);
            return e;
        }
        bb_debug(log, "mail: no %s in %s: using the built-in template", name, o->templates_dir);
    }
    for (const bb_template_file *t = bb_templates; t->name; t++) {
        if (strcmp(t->name, name) == 0) {
            *text = malloc(t->len + 1);
            if (!*text)
                return BB_ERR_NOMEM;
            memcpy(*text, t->data, t->len + 1);
            *len = t->len;
            return BB_OK;
        }
    }
    bb_error(log, "mail: no built-in template %s", name);
    return BB_ERR_INTERNAL;
}

static bb_err render_text(const char *what, const char *tpl, size_t len, const cJSON *view,
                          char **out, size_t *out_len, bb_log *log)
{
    *out = NULL;
    bb_buf b;
    bb_buf_init(&b, BODY_MAX);
    char err[256];
    bb_err e = bb_tpl_render(tpl, len, view, NULL, &b, err, sizeof err);
    if (e != BB_OK) {
        bb_error(log, "mail: template %s: %s", what, err);
        bb_buf_free(&b);
        return e;
    }
    if (out_len)
        *out_len = b.len;
    *out = bb_buf_detach(&b);
    bb_buf_free(&b);
    return *out ? BB_OK : BB_ERR_NOMEM;
}

/* Renders a template file into a CRLF body. */
static bb_err render_body(const bb_mail_opts *o, const char *name, const cJSON *view, char **out,
                          bb_log *log)
{
    *out = NULL;
    char *tpl = NULL, *raw = NULL;
    size_t tpl_len, raw_len = 0;
    bb_err e = load_template(o, name, &tpl, &tpl_len, log);
    if (e == BB_OK)
        e = render_text(name, tpl, tpl_len, view, &raw, &raw_len, log);
    if (e == BB_OK) {
        utf8_scrub(raw, raw_len);
        *out = crlf(raw, raw_len);
        if (!*out)
            e = BB_ERR_NOMEM;
    }
    free(tpl);
    free(raw);
    return e;
}

static bb_err render_subject(const char *tpl, const cJSON *view, char **out, bb_log *log)
{
    *out = NULL;
    char *raw = NULL;
    size_t raw_len = 0;
    bb_err e = render_text("subject", tpl, strlen(tpl), view, &raw, &raw_len, log);
    if (e == BB_OK) {
        *out = plain_subject(raw, raw_len, true);
        if (!*out)
            e = BB_ERR_NOMEM;
    }
    free(raw);
    return e;
}

/* ---- delivery ------------------------------------------------------------ */

static void outgoing_free(outgoing *m)
{
    free(m->from_hdr);
    free(m->to_hdr);
    free(m->subject_hdr);
    free(m->text);
    free(m->html);
    memset(m, 0, sizeof *m);
}

/* The SMTP URL for the log: scheme://host[:port], never user information. */
static void redacted_url(const char *url, char out[256])
{
    const char *p = strstr(url, "://");
    const char *host = p ? p + 3 : url;
    const char *end = host + strcspn(host, "/?#");
    const char *at = NULL;
    for (const char *q = host; q < end; q++)
        if (*q == '@')
            at = q;
    if (at)
        host = at + 1;
    int scheme = p ? (int)(p - url) : 0;
    snprintf(out, 256, "%.*s%s%.*s", scheme, url, p ? "://" : "", (int)(end - host), host);
}

static bb_err check_server(const bb_mail_opts *o, bb_log *log)
{
    if (empty(o->smtp_url)) {
        bb_error(log, "mail: no SMTP server configured (smtp_url)");
        return BB_ERR_CONFIG;
    }
    if (strncasecmp(o->smtp_url, "smtp://", 7) != 0 && strncasecmp(o->smtp_url, "smtps://", 8) != 0) {
        char u[256];
        redacted_url(o->smtp_url, u);
        bb_error(log, "mail: smtp_url %s must start with smtp:// or smtps://", u);
        return BB_ERR_CONFIG;
    }
    if (o->retries < 0 || o->retry_delay_ms < 0 || o->timeout_s <= 0) {
        bb_error(log, "mail: retries, retry delay and timeout must not be negative");
        return BB_ERR_CONFIG;
    }
    return BB_OK;
}

static bool add_header(struct curl_slist **l, const char *h)
{
    struct curl_slist *n = curl_slist_append(*l, h);
    if (n)
        *l = n;
    return n != NULL;
}

static bool add_text_part(curl_mime *mime, const char *text, const char *type)
{
    curl_mimepart *p = curl_mime_addpart(mime);
    return p && curl_mime_data(p, text, CURL_ZERO_TERMINATED) == CURLE_OK &&
           curl_mime_type(p, type) == CURLE_OK && curl_mime_encoder(p, "quoted-printable") == CURLE_OK;
}

/* The MIME tree of a message: the text (with its HTML alternative), then
 * the attachments as they are on disk, base64-encoded by curl. */
static bool build_mime(CURL *c, const outgoing *m, size_t n_att, curl_mime **out)
{
    curl_mime *mime = curl_mime_init(c);
    if (!mime)
        return false;
    *out = mime;
    if (m->html) {
        curl_mime *alt = curl_mime_init(c);
        if (!alt)
            return false;
        /* plain text first: RFC 2046 section 5.1.4 puts the preferred form last */
        if (!add_text_part(alt, m->text, "text/plain; charset=utf-8") ||
            !add_text_part(alt, m->html, "text/html; charset=utf-8")) {
            curl_mime_free(alt);
            return false;
        }
        curl_mimepart *p = curl_mime_addpart(mime);
        if (!p || curl_mime_subparts(p, alt) != CURLE_OK) {
            curl_mime_free(alt);
            return false;
        }
        if (curl_mime_type(p, "multipart/alternative") != CURLE_OK)
            return false;
    } else if (!add_text_part(mime, m->text, "text/plain; charset=utf-8")) {
        return false;
    }
    for (size_t i = 0; i < n_att; i++) {
        curl_mimepart *p = curl_mime_addpart(mime);
        if (!p || curl_mime_filedata(p, m->att[i].path) != CURLE_OK ||
            curl_mime_filename(p, m->att[i].name) != CURLE_OK ||
            curl_mime_type(p, m->att[i].type) != CURLE_OK ||
            curl_mime_encoder(p, "base64") != CURLE_OK)
            return false;
    }
    return true;
}

/* What a failed transfer means for the next attempt. smtp_code is the last
 * reply of the server (0 when none came). */
static attempt_outcome classify(CURLcode rc, long smtp_code)
{
    switch (rc) {
    case CURLE_OK:
        return OUT_SENT;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_USE_SSL_FAILED: /* STARTTLS required but not offered */
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
        return OUT_CONFIG;
    case CURLE_LOGIN_DENIED:
        return smtp_code >= 400 && smtp_code < 500 ? OUT_RETRY : OUT_CONFIG;
    case CURLE_READ_ERROR:
        return OUT_INPUT;
    default:
        break;
    }
    if (smtp_code >= 500)
        return OUT_REFUSED;
    return OUT_RETRY; /* no connection, timeout, 4xx, connection dropped */
}

static attempt_outcome attempt(const bb_mail_opts *o, const outgoing *m, size_t n_att,
                               const char *user, const char *pass, char errbuf[CURL_ERROR_SIZE],
                               long *smtp_code)
{
    *smtp_code = 0;
    errbuf[0] = '\0';
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(errbuf, CURL_ERROR_SIZE, "cannot create a curl handle");
        return OUT_RETRY;
    }
    struct curl_slist *rcpt = NULL, *hdrs = NULL;
    curl_mime *mime = NULL;
    attempt_outcome out = OUT_RETRY;
    char from[512];
    snprintf(from, sizeof from, "<%s>", m->sender->spec);
    bool ok = true;
    for (size_t i = 0; i < m->rcpt->n && ok; i++) {
        char r[512];
        snprintf(r, sizeof r, "<%s>", m->rcpt->a[i].spec);
        ok = add_header(&rcpt, r);
    }
    ok = ok && add_header(&hdrs, m->date_hdr) && add_header(&hdrs, m->from_hdr) &&
         add_header(&hdrs, m->to_hdr) && add_header(&hdrs, m->subject_hdr) &&
         add_header(&hdrs, m->msgid_hdr) &&
         /* RFC 3834: tells autoresponders not to answer a robot */
         add_header(&hdrs, "Auto-Submitted: auto-generated");
    ok = ok && build_mime(c, m, n_att, &mime);
    if (!ok) {
        snprintf(errbuf, CURL_ERROR_SIZE, "out of memory building the message");
        goto done;
    }
    long tls = o->starttls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE;
    curl_easy_setopt(c, CURLOPT_URL, o->smtp_url);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
    curl_easy_setopt(c, CURLOPT_USE_SSL, tls);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)o->timeout_s);
    curl_easy_setopt(c, CURLOPT_SERVER_RESPONSE_TIMEOUT, (long)o->timeout_s);
    /* a transfer that moves nothing for timeout_s seconds is dead */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)o->timeout_s);
    if (!empty(user)) {
        curl_easy_setopt(c, CURLOPT_USERNAME, user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, pass ? pass : "");
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, smtp_code);
    if (rc != CURLE_OK && !errbuf[0])
        snprintf(errbuf, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
    out = classify(rc, *smtp_code);
done:
    curl_easy_cleanup(c);
    curl_mime_free(mime);
    curl_slist_free_all(rcpt);
    curl_slist_free_all(hdrs);
    return out;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Delivers m with up to 1 + o->retries attempts, doubling the wait between
 * them (exponential backoff). */
static bb_err deliver(const bb_mail_opts *o, const outgoing *m, size_t n_att, bb_log *log)
{
    const char *user = !empty(o->username) ? o->username : getenv("BB_SMTP_USER");
    const char *pass = !empty(o->password) ? o->password : getenv("BB_SMTP_PASSWORD");
    char url[256];
    redacted_url(o->smtp_url, url);
    bool tls = strncasecmp(o->smtp_url, "smtps://", 8) == 0 || o->starttls;
    if (!empty(user) && !tls)
        bb_warn(log, "mail: credentials for %s go without TLS (starttls is off)", url);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        bb_error(log, "mail: cannot initialise libcurl");
        return BB_ERR_INTERNAL;
    }
    int attempts = 1 + o->retries;
    long delay = o->retry_delay_ms;
    bb_err e = BB_ERR_TEMPFAIL;
    for (int i = 1; i <= attempts; i++) {
        bb_info(log, "mail: sending the %s to %zu recipient%s through %s%s", m->what, m->rcpt->n,
                m->rcpt->n == 1 ? "" : "s", url, i > 1 ? " (again)" : "");
        char errbuf[CURL_ERROR_SIZE];
        long code;
        attempt_outcome out = attempt(o, m, n_att, user, pass, errbuf, &code);
        if (out == OUT_SENT) {
            bb_info(log, "mail: the %s was accepted by %s", m->what, url);
            e = BB_OK;
            break;
        }
        char reply[32] = "";
        if (code)
            snprintf(reply, sizeof reply, " (server reply %ld)", code);
        if (out == OUT_CONFIG) {
            bb_error(log, "mail: %s: %s%s; check the mail settings", url, errbuf, reply);
            e = BB_ERR_CONFIG;
            break;
        }
        if (out == OUT_INPUT) {
            bb_error(log, "mail: cannot read an attachment: %s", errbuf);
            e = BB_ERR_NOINPUT;
            break;
        }
        if (out == OUT_REFUSED) {
            bb_error(log, "mail: %s refused the %s: %s%s", url, m->what, errbuf, reply);
            break;
        }
        if (i == attempts) {
            bb_error(log, "mail: the %s was not delivered after %d attempt%s: %s%s", m->what,
                     attempts, attempts == 1 ? "" : "s", errbuf, reply);
            break;
        }
        bb_warn(log, "mail: attempt %d of %d failed: %s%s; retrying in %ld ms", i, attempts, errbuf,
                reply, delay);
        sleep_ms(delay);
        delay = delay > MAX_DELAY_MS / 2 ? MAX_DELAY_MS : delay * 2;
    }
    curl_global_cleanup();
    return e;
}

/* ---- the run's message --------------------------------------------------- */

static const cJSON *get(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

static const char *get_str(const cJSON *o, const char *key)
{
    const cJSON *v = get(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void set_item(cJSON *o, const char *key, cJSON *v)
{
    if (get(o, key))
        cJSON_ReplaceItemInObjectCaseSensitive(o, key, v);
    else
        cJSON_AddItemToObject(o, key, v);
}

static void set_str(cJSON *o, const char *key, const char *s)
{
    set_item(o, key, cJSON_CreateString(s));
}

/* A decimal "1234.5" or "-0.25" from the manifest as cents; false if not one. */
static bool parse_cents(const char *s, int64_t *cents)
{
    bool neg = *s == '-';
    if (neg)
        s++;
    int64_t whole = 0, frac = 0;
    int digits = 0, fdigits = 0;
    for (; *s >= '0' && *s <= '9' && digits < 17; s++, digits++)
        whole = whole * 10 + (*s - '0');
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++, fdigits++)
            if (fdigits < 2)
                frac = frac * 10 + (*s - '0');
    if (*s || digits == 0)
        return false;
    if (fdigits == 1)
        frac *= 10;
    *cents = (neg ? -1 : 1) * (whole * 100 + frac);
    return true;
}

static void add_figure(cJSON *list, const char *label, const char *value)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "label", label);
    cJSON_AddStringToObject(f, "value", value);
    cJSON_AddItemToArray(list, f);
}

/* The manifest's counts formatted for people, for mails without "kpis". */
static cJSON *figures(const cJSON *counts)
{
    static const struct {
        const char *key, *label;
    } rows[] = {{"visits", "Visits"},     {"units", "Units sold"}, {"customers", "Customers"},
                {"active_customers", "Active customers"}, {"items", "Items"}};
    cJSON *list = cJSON_CreateArray();
    char v[48];
    int64_t cents;
    const char *rev = get_str(counts, "revenue");
    if (rev && parse_cents(rev, &cents) && cents != 0)
        add_figure(list, "Revenue", bb_fmt_money(v, sizeof v, cents));
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const cJSON *n = get(counts, rows[i].key);
        if (cJSON_IsNumber(n))
            add_figure(list, rows[i].label, bb_fmt_int(v, sizeof v, (int64_t)n->valuedouble));
    }
    return list;
}

static cJSON *file_list(const attachment *a, size_t from, size_t to)
{
    cJSON *list = cJSON_CreateArray();
    for (size_t i = from; i < to; i++) {
        char size[32];
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "name", a[i].name);
        cJSON_AddStringToObject(f, "size", bb_fmt_bytes(size, sizeof size, (uint64_t)a[i].bytes));
        cJSON_AddItemToArray(list, f);
    }
    return list;
}

/* The template data: the manifest, with the fields mail.h lists on top. */
static void decorate_view(cJSON *view, const char *run_dir, const bb_mail_opts *o)
{
    const cJSON *report = get(get(view, "options"), "report");
    const char *title = get_str(view, "title");
    if (!title)
        title = get_str(report, "title");
    if (empty(title))
        title = "Sales report";
    const char *business = get_str(view, "business_name");
    if (!business)
        business = get_str(report, "business_name");
    if (!business)
        business = "";
    char heading[1024];
    if (business[0])
        snprintf(heading, sizeof heading, "%s: %s", title, business);
    else
        snprintf(heading, sizeof heading, "%s", title);
    char *t = strdup(title), *b = strdup(business);
    if (t && b) {
        set_str(view, "title", t);
        set_str(view, "business_name", b);
    }
    free(t);
    free(b);
    set_str(view, "heading", heading);
    set_str(view, "run_dir", run_dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/report.pdf", run_dir);
    set_str(view, "report_path", path);
    const cJSON *counts = get(view, "counts");
    const char *first = get_str(counts, "first_purchase"), *last = get_str(counts, "last_purchase");
    if (first && last) {
        char period[64];
        snprintf(period, sizeof period, "%s to %s", first, last);
        set_str(view, "period", period);
    }
    set_item(view, "figures", figures(counts));
    const cJSON *kpis = get(view, "kpis");
    set_item(view, "has_kpis", cJSON_CreateBool(cJSON_IsArray(kpis) && cJSON_GetArraySize(kpis) > 0));
    char limit[32] = "";
    if (o->max_bytes)
        bb_fmt_bytes(limit, sizeof limit, (uint64_t)o->max_bytes);
    set_str(view, "size_limit", limit);
    set_str(view, "generator", "bbreport " BB_VERSION);
}

static bb_err add_attachment(outgoing *m, const char *dir, const char *name, const char *type,
                             bb_log *log)
{
    attachment *a = &m->att[m->n_att];
    snprintf(a->name, sizeof a->name, "%s", name);
    snprintf(a->path, sizeof a->path, "%s/%s", dir, name);
    a->type = type;
    a->bytes = bb_fs_size(a->path);
    if (a->bytes < 0) {
        bb_error(log, "mail: %s not found", a->path);
        return BB_ERR_NOINPUT;
    }
    m->n_att++;
    return BB_OK;
}

static bb_err read_manifest(const char *dir, cJSON **out, bb_log *log)
{
    *out = NULL;
    char path[4200];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    char *text = NULL;
    size_t len;
    bb_err e = bb_fs_read_file(path, MANIFEST_MAX, &text, &len);
    if (e != BB_OK) {
        if (e == BB_ERR_NOINPUT)
            bb_error(log, "mail: %s not found", path);
        else
            bb_error(log, "mail: cannot read %s", path);
        return e;
    }
    *out = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(*out)) {
        bb_error(log, "mail: %s is not a run manifest", path);
        cJSON_Delete(*out);
        *out = NULL;
        return BB_ERR_NOINPUT;
    }
    return BB_OK;
}

static bb_err common_headers(outgoing *m, const addr_list *from, const addr_list *rcpt,
                             const char *subject, const char *tag)
{
    m->sender = &from->a[0];
    m->rcpt = rcpt;
    m->from_hdr = address_header("From", from->a, 1);
    m->to_hdr = address_header("To", rcpt->a, rcpt->n);
    m->subject_hdr = subject_header(subject);
    date_header(time(NULL), m->date_hdr);
    msgid_header(m->sender, tag, m->msgid_hdr);
    return m->from_hdr && m->to_hdr && m->subject_hdr ? BB_OK : BB_ERR_NOMEM;
}

bb_err bb_mail_send_run(const bb_mail_opts *o, const char *run_dir, bb_log *log)
{
    addr_list from = {0}, to = {0};
    outgoing m;
    memset(&m, 0, sizeof m);
    m.what = "report";
    cJSON *view = NULL;
    char *dir = NULL, *subject = NULL;

    bb_err e = check_server(o, log);
    if (e == BB_OK)
        e = parse_addresses(o->from, "from", &from, log);
    if (e == BB_OK)
        e = parse_addresses(o->to, "to", &to, log);
    if (e != BB_OK)
        goto fail;
    if (empty(run_dir) || !(dir = realpath(run_dir, NULL))) {
        bb_error(log, "mail: run directory %s not found", run_dir ? run_dir : "(none)");
        e = BB_ERR_NOINPUT;
        goto fail;
    }
    e = read_manifest(dir, &view, log);
    if (e != BB_OK)
        goto fail;
    const char *status = get_str(view, "status");
    if (status && strcmp(status, "ok") != 0) {
        bb_error(log, "mail: the run in %s did not complete (status %s): nothing to send", dir, status);
        e = BB_ERR_NOINPUT;
        goto fail;
    }
    e = add_attachment(&m, dir, "report.pdf", "application/pdf", log);
    if (e == BB_OK && o->attach_workbook)
        e = add_attachment(&m, dir, "workbook.xlsx",
                           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", log);
    if (e != BB_OK)
        goto fail;
    decorate_view(view, dir, o);
    e = render_subject(empty(o->subject) ? BB_MAIL_DEFAULT_SUBJECT : o->subject, view, &subject, log);
    if (e != BB_OK)
        goto fail;
    char tag[80];
    const char *run_id = get_str(view, "run_id");
    bb_fs_safe_name(run_id ? run_id : "run", tag);
    e = common_headers(&m, &from, &to, subject, tag);
    if (e != BB_OK)
        goto fail;

    /* Size limit: all attachments, then without the workbook, then none;
     * the bodies are rendered for each plan since they list what is left out. */
    size_t n_att = m.n_att;
    for (;;) {
        set_item(view, "attachments", file_list(m.att, 0, n_att));
        set_item(view, "omitted", file_list(m.att, n_att, m.n_att));
        set_item(view, "has_omitted", cJSON_CreateBool(n_att < m.n_att));
        set_item(view, "summary_only", cJSON_CreateBool(n_att == 0));
        free(m.text);
        free(m.html);
        m.text = m.html = NULL;
        e = render_body(o, "email.txt", view, &m.text, log);
        if (e == BB_OK)
            e = render_body(o, "email.html", view, &m.html, log);
        if (e != BB_OK)
            goto fail;
        size_t size = message_size(&m, n_att);
        if (o->max_bytes == 0 || size <= o->max_bytes)
            break;
        char a[32], b[32];
        if (n_att == 0) {
            bb_warn(log, "mail: even without attachments the message is about %s, over the %s limit",
                    bb_fmt_bytes(a, sizeof a, size), bb_fmt_bytes(b, sizeof b, o->max_bytes));
            break;
        }
        n_att = n_att > 1 ? 1 : 0;
        bb_warn(log, "mail: the message would be about %s, over the %s limit: sending %s",
                bb_fmt_bytes(a, sizeof a, size), bb_fmt_bytes(b, sizeof b, o->max_bytes),
                n_att ? "the PDF without the workbook" : "the summary only");
    }
    e = deliver(o, &m, n_att, log);

fail:
    outgoing_free(&m);
    free(subject);
    free(dir);
    cJSON_Delete(view);
    addr_list_free(&from);
    addr_list_free(&to);
    return e;
}

/* ---- failure notices ----------------------------------------------------- */

/* The last LOG_TAIL_LINES lines of a log file, read from its last
 * LOG_TAIL_BYTES bytes; NULL when the file cannot be read. */
static char *log_tail(const char *path, int *lines_out)
{
    *lines_out = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(LOG_TAIL_BYTES + 1);
    size_t n = 0;
    bool cut = false;
    if (buf && fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        long from = size > LOG_TAIL_BYTES ? size - LOG_TAIL_BYTES : 0;
        cut = from > 0;
        if (size >= 0 && fseek(f, from, SEEK_SET) == 0)
            n = fread(buf, 1, LOG_TAIL_BYTES, f);
    }
    fclose(f);
    if (!buf)
        return NULL;
    buf[n] = '\0';
    size_t start = 0;
    if (cut) { /* the first line read may be a partial one */
        char *nl = memchr(buf, '\n', n);
        start = nl ? (size_t)(nl - buf) + 1 : 0;
    }
    size_t end = n;
    while (end > start && buf[end - 1] == '\n')
        end--;
    size_t pos = end;
    int lines = end > start ? 1 : 0;
    while (pos > start) {
        if (buf[pos - 1] == '\n') {
            if (lines == LOG_TAIL_LINES)
                break;
            lines++;
        }
        pos--;
    }
    memmove(buf, buf + pos, end - pos);
    buf[end - pos] = '\0';
    utf8_scrub(buf, end - pos);
    *lines_out = lines;
    return buf;
}

bb_err bb_mail_send_failure(const bb_mail_opts *o, const char *failed_dir, const char *error,
                            int exit_code, bb_log *log)
{
    addr_list from = {0}, ops = {0};
    outgoing m;
    memset(&m, 0, sizeof m);
    m.what = "failure notice";
    cJSON *view = NULL;
    char *dir = NULL, *tail = NULL, *subject = NULL;

    bb_err e = check_server(o, log);
    if (e == BB_OK)
        e = parse_addresses(o->from, "from", &from, log);
    if (e == BB_OK)
        e = parse_addresses(o->operators, "operators", &ops, log);
    if (e != BB_OK)
        goto fail;

    if (!empty(failed_dir))
        dir = realpath(failed_dir, NULL);
    if (dir && read_manifest(dir, &view, NULL) != BB_OK)
        view = NULL;
    if (!view)
        view = cJSON_CreateObject();
    if (!view) {
        e = BB_ERR_NOMEM;
        goto fail;
    }
    decorate_view(view, dir ? dir : "", o);
    char err_line[512];
    snprintf(err_line, sizeof err_line, "%s", empty(error) ? "unknown error" : error);
    utf8_scrub(err_line, strlen(err_line));
    set_str(view, "error", err_line);
    set_item(view, "exit_code", cJSON_CreateNumber(exit_code));
    set_str(view, "failed_dir", dir ? dir : (failed_dir ? failed_dir : ""));
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "unknown host");
    set_str(view, "host", host);
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    set_str(view, "time_utc", when);
    int tail_lines = 0;
    if (dir) {
        char path[4200];
        snprintf(path, sizeof path, "%s/run.log", dir);
        tail = log_tail(path, &tail_lines);
        if (tail && add_attachment(&m, dir, "run.log", "text/plain; charset=utf-8", NULL) != BB_OK)
            m.n_att = 0;
    }
    set_str(view, "log_tail", tail ? tail : "");
    set_item(view, "log_lines", cJSON_CreateNumber(tail_lines));

    /* The subject is fixed: operators filter on it. The first line of the
     * error is enough there; the body has all of it. */
    char subj[1024];
    const char *heading = get_str(view, "heading");
    snprintf(subj, sizeof subj, "%s: run failed on %s (exit %d: %.*s)", heading ? heading : "bbreport",
             host, exit_code, (int)strcspn(err_line, "\r\n"), err_line);
    subject = plain_subject(subj, strlen(subj), false);
    if (!subject) {
        e = BB_ERR_NOMEM;
        goto fail;
    }
    e = common_headers(&m, &from, &ops, subject, "failure");
    if (e != BB_OK)
        goto fail;

    size_t n_att = m.n_att;
    set_item(view, "log_attached", cJSON_CreateBool(false));
    e = render_body(o, "failure.txt", view, &m.text, log);
    if (e != BB_OK)
        goto fail;
    if (n_att && o->max_bytes && message_size(&m, n_att) > o->max_bytes)
        n_att = 0;
    if (n_att) {
        set_item(view, "log_attached", cJSON_CreateBool(true));
        free(m.text);
        m.text = NULL;
        e = render_body(o, "failure.txt", view, &m.text, log);
        if (e != BB_OK)
            goto fail;
    }
    e = deliver(o, &m, n_att, log);

fail:
    outgoing_free(&m);
    free(subject);
    free(tail);
    free(dir);
    cJSON_Delete(view);
    addr_list_free(&from);
    addr_list_free(&ops);
    return e;
}
