#include "ingest/csv.h"

#include <csv.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/sha256.h"

#define RAW_KEEP 4096  /* bytes of a record kept for reporting a bad one */
#define CHUNK (1u << 20)

struct bb_csv {
    struct csv_parser p;
    unsigned char csv_options;
    bb_csv_opts o;
    bb_csv_row_fn on_row;
    bb_csv_bad_fn on_bad;
    void *user;
    bb_csv_stats st;

    /* the record being assembled */
    bb_buf fields;        /* field bytes, each NUL-terminated */
    size_t *offs;         /* start of each field in fields */
    size_t *lens;
    const char **ptrs;
    size_t nfields, fields_cap;
    bool too_many_fields;
    bb_buf raw;           /* first RAW_KEEP bytes of the record's text */
    uint64_t record_bytes;
    uint64_t record_line;

    /* position in the stream */
    uint64_t line;        /* current physical line, 1-based */
    bool at_line_start;
    bool at_record_start; /* no byte of the next record fed yet */
    bool skip_to_eol;     /* resynchronising after a bad record */
    bool first_bytes;     /* still looking for a BOM */
    char bom_hold[3];
    size_t bom_held;
    bool in_record;       /* some bytes of a record were fed to libcsv */
    bb_err cb_err;        /* error returned by a user callback */
};

static void on_field(void *s, size_t len, void *data)
{
    bb_csv *r = data;
    if (r->cb_err != BB_OK)
        return;
    if (r->nfields == r->fields_cap) {
        if (r->nfields >= r->o.max_fields) {
            r->too_many_fields = true;
            return;
        }
        size_t cap = r->fields_cap ? r->fields_cap * 2 : 32;
        size_t *offs = realloc(r->offs, cap * sizeof *offs);
        size_t *lens = offs ? realloc(r->lens, cap * sizeof *lens) : NULL;
        const char **ptrs = lens ? realloc(r->ptrs, cap * sizeof *ptrs) : NULL;
        if (offs)
            r->offs = offs;
        if (lens)
            r->lens = lens;
        if (!ptrs) {
            r->cb_err = BB_ERR_NOMEM;
            return;
        }
        r->ptrs = ptrs;
        r->fields_cap = cap;
    }
    r->offs[r->nfields] = r->fields.len;
    r->lens[r->nfields] = s ? len : 0;
    if ((s && bb_buf_append(&r->fields, s, len) != BB_OK) || bb_buf_putc(&r->fields, '\0') != BB_OK) {
        r->cb_err = BB_ERR_NOMEM;
        return;
    }
    r->nfields++;
}

static void reset_record(bb_csv *r)
{
    bb_buf_clear(&r->fields);
    bb_buf_clear(&r->raw);
    r->nfields = 0;
    r->too_many_fields = false;
    r->record_bytes = 0;
    r->in_record = false;
}

static void report_bad(bb_csv *r, const char *reason)
{
    r->st.bad_records++;
    if (r->on_bad && r->cb_err == BB_OK)
        r->cb_err = r->on_bad(r->user, r->record_line, reason, r->raw.data ? r->raw.data : "",
                              r->raw.len);
}

static void on_row(int c, void *data)
{
    (void)c;
    bb_csv *r = data;
    r->at_record_start = true;
    if (r->cb_err != BB_OK) {
        reset_record(r);
        return;
    }
    if (r->too_many_fields) {
        char msg[96];
        snprintf(msg, sizeof msg, "more than %zu fields in one record", r->o.max_fields);
        report_bad(r, msg);
        reset_record(r);
        return;
    }
    for (size_t i = 0; i < r->nfields; i++)
        r->ptrs[i] = r->fields.data + r->offs[i];
    bb_csv_row row = {
        .nfields = r->nfields,
        .field = r->ptrs,
        .len = r->lens,
        .line = r->record_line,
        .index = r->st.records,
    };
    r->st.records++;
    r->cb_err = r->on_row(r->user, &row);
    reset_record(r);
}

static bb_err parser_init(bb_csv *r)
{
    if (csv_init(&r->p, r->csv_options) != 0)
        return BB_ERR_NOMEM;
    csv_set_delim(&r->p, (unsigned char)r->o.delimiter);
    return BB_OK;
}

bb_err bb_csv_new(bb_csv **out, const bb_csv_opts *o, bb_csv_row_fn row, bb_csv_bad_fn bad,
                  void *user)
{
    *out = NULL;
    bb_csv *r = calloc(1, sizeof *r);
    if (!r)
        return BB_ERR_NOMEM;
    r->o = *o;
    if (!r->o.delimiter)
        r->o.delimiter = ',';
    if (!r->o.max_record_bytes)
        r->o.max_record_bytes = (size_t)1 << 20;
    if (!r->o.max_fields)
        r->o.max_fields = 4096;
    r->on_row = row;
    r->on_bad = bad;
    r->user = user;
    r->csv_options = CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL | CSV_EMPTY_IS_NULL;
    bb_buf_init(&r->fields, r->o.max_record_bytes + r->o.max_fields + 16);
    bb_buf_init(&r->raw, RAW_KEEP + 1);
    r->line = 1;
    r->at_line_start = true;
    r->at_record_start = true;
    r->first_bytes = true;
    if (parser_init(r) != BB_OK) {
        free(r);
        return BB_ERR_NOMEM;
    }
    *out = r;
    return BB_OK;
}

void bb_csv_free(bb_csv *r)
{
    if (!r)
        return;
    csv_free(&r->p);
    bb_buf_free(&r->fields);
    bb_buf_free(&r->raw);
    free(r->offs);
    free(r->lens);
    free(r->ptrs);
    free(r);
}

const bb_csv_stats *bb_csv_stats_get(const bb_csv *r)
{
    return &r->st;
}

/* Drops the record in progress and restarts libcsv at the next line. */
static bb_err resync(bb_csv *r, const char *reason)
{
    report_bad(r, reason);
    csv_free(&r->p);
    bb_err e = parser_init(r);
    reset_record(r);
    r->at_record_start = true;
    return e;
}

static void keep_raw(bb_csv *r, const char *s, size_t n)
{
    size_t room = RAW_KEEP - r->raw.len;
    if (room > 0)
        bb_buf_append(&r->raw, s, n < room ? n : room);
}

/* Feeds one piece of a physical line: s[0..n), where s[n-1] == '\n' when the
 * piece ends the line. */
static bb_err feed_piece(bb_csv *r, const char *s, size_t n)
{
    bool ends_line = n > 0 && s[n - 1] == '\n';
    if (ends_line && n >= 2 && s[n - 2] == '\r')
        r->st.crlf = true;

    if (r->skip_to_eol) {
        if (ends_line)
            r->skip_to_eol = false;
        goto done;
    }
    if (r->at_record_start && r->at_line_start) {
        bool blank = true;
        for (size_t i = 0; i < n && blank; i++)
            blank = s[i] == '\n' || s[i] == '\r';
        if (blank) {
            if (ends_line)
                r->st.blank_lines++;
            goto done;
        }
        r->record_line = r->line;
        r->at_record_start = false;
    }
    if (!r->at_record_start || r->in_record) {
        r->in_record = true;
        r->record_bytes += n;
        keep_raw(r, s, n);
        if (r->record_bytes > r->o.max_record_bytes) {
            char msg[96];
            snprintf(msg, sizeof msg, "record longer than %zu bytes", r->o.max_record_bytes);
            bb_err e = resync(r, msg);
            if (e != BB_OK)
                return e;
            r->skip_to_eol = !ends_line;
            goto done;
        }
    }
    size_t used = csv_parse(&r->p, s, n, on_field, on_row, r);
    if (r->cb_err != BB_OK)
        return r->cb_err;
    if (used != n) {
        char msg[128];
        snprintf(msg, sizeof msg, "malformed CSV: %s (a quote inside an unquoted field, or text after a closing quote)",
                 csv_strerror(csv_error(&r->p)));
        bb_err e = resync(r, msg);
        if (e != BB_OK)
            return e;
        r->skip_to_eol = !ends_line;
    }
done:
    if (ends_line) {
        r->line++;
        r->at_line_start = true;
    } else if (n > 0) {
        r->at_line_start = false;
    }
    return r->cb_err;
}

bb_err bb_csv_feed(bb_csv *r, const char *data, size_t len)
{
    r->st.bytes += len;
    if (r->first_bytes) {
        /* Hold up to three bytes until we know whether they are a BOM. */
        static const char bom[3] = {'\xef', '\xbb', '\xbf'};
        while (len > 0 && r->bom_held < 3) {
            r->bom_hold[r->bom_held++] = *data++;
            len--;
            if (memcmp(r->bom_hold, bom, r->bom_held) != 0)
                break;
        }
        if (r->bom_held == 3 && memcmp(r->bom_hold, bom, 3) == 0) {
            r->st.bom = true;
            r->first_bytes = false;
        } else if (r->bom_held < 3 && memcmp(r->bom_hold, bom, r->bom_held) == 0) {
            return BB_OK; /* need more bytes to decide */
        } else {
            r->first_bytes = false;
            char held[3];
            size_t nheld = r->bom_held;
            memcpy(held, r->bom_hold, nheld);
            /* The held bytes are not a BOM: feed them as data, line by line. */
            size_t pos = 0;
            while (pos < nheld) {
                const char *nl = memchr(held + pos, '\n', nheld - pos);
                size_t end = nl ? (size_t)(nl - held) + 1 : nheld;
                bb_err e = feed_piece(r, held + pos, end - pos);
                if (e != BB_OK)
                    return e;
                pos = end;
            }
        }
    }
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - data) + 1 : len;
        bb_err e = feed_piece(r, data + pos, end - pos);
        if (e != BB_OK)
            return e;
        pos = end;
    }
    return BB_OK;
}

bb_err bb_csv_finish(bb_csv *r)
{
    if (r->first_bytes && r->bom_held > 0) {
        /* A stream shorter than a BOM: whatever was held is data. */
        r->first_bytes = false;
        bb_err e = feed_piece(r, r->bom_hold, r->bom_held);
        if (e != BB_OK)
            return e;
    }
    if (r->st.bytes > 0)
        r->st.lines = r->line - (r->at_line_start ? 1 : 0);
    if (r->skip_to_eol)
        return BB_OK;
    if (csv_fini(&r->p, on_field, on_row, r) != 0) {
        if (r->cb_err != BB_OK)
            return r->cb_err;
        bb_err e = resync(r, "malformed CSV: a quoted field is not closed before the end of the file");
        if (e != BB_OK)
            return e;
    }
    return r->cb_err;
}

bb_err bb_csv_read_file(const char *path, const bb_csv_opts *o, bb_csv_row_fn row,
                        bb_csv_bad_fn bad, void *user, bb_csv_stats *st)
{
    memset(st, 0, sizeof *st);
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT || errno == ENOTDIR ? BB_ERR_NOINPUT : BB_ERR_IO;
    bb_csv *r = NULL;
    bb_sha256 *h = NULL;
    char *chunk = malloc(CHUNK);
    bb_err e = chunk ? BB_OK : BB_ERR_NOMEM;
    if (e == BB_OK)
        e = bb_csv_new(&r, o, row, bad, user);
    if (e == BB_OK)
        e = bb_sha256_new(&h);
    while (e == BB_OK) {
        size_t n = fread(chunk, 1, CHUNK, f);
        if (n == 0) {
            if (ferror(f))
                e = BB_ERR_IO;
            break;
        }
        e = bb_sha256_update(h, chunk, n);
        if (e == BB_OK)
            e = bb_csv_feed(r, chunk, n);
        if (o->progress)
            o->progress(o->progress_user, bb_csv_stats_get(r)->bytes);
    }
    char hex[65] = "";
    if (e == BB_OK)
        e = bb_csv_finish(r);
    if (e == BB_OK)
        e = bb_sha256_hex(h, hex);
    if (r) {
        *st = *bb_csv_stats_get(r);
        memcpy(st->sha256, hex, sizeof hex);
    }
    bb_sha256_free(h);
    bb_csv_free(r);
    free(chunk);
    fclose(f);
    return e;
}

#define BB_STR2(x) #x
#define BB_STR(x) BB_STR2(x)

const char *bb_csv_library_version(void)
{
    return "libcsv " BB_STR(CSV_MAJOR) "." BB_STR(CSV_MINOR) "." BB_STR(CSV_RELEASE);
}
