/*
 * template.c - Mustache parser and renderer.
 *
 * Layout. A template is parsed into a flat array of tokens (tpl_parsed).
 * Text and names are (pointer, length) slices of the template source, which
 * outlives the tokens: the caller's string for the main template, a copy
 * owned by the partial cache for partials. A section token holds the index
 * of its closing token in `end`, so its body is toks[i + 1 .. end) and the
 * renderer skips to end + 1 after it. Comments and delimiter changes leave no
 * token; adjacent text is merged.
 *
 * Parsing is two passes. The first scans the source and emits tokens line by
 * line (a text token never crosses a '\n'), so that at each line end it can
 * apply the spec's standalone rule: a line holding only whitespace and tags
 * of the kinds section, inverted, closing, comment, partial or delimiter
 * disappears from the output entirely, and a standalone partial remembers
 * the whitespace before it as indentation. The second pass merges text and
 * pairs sections with their closing tags using an explicit stack, so neither
 * pass recurses.
 *
 * Rendering walks the tokens recursively (one level per section or partial,
 * both capped at BB_TPL_MAX_DEPTH) with the context stack in a growable
 * array. An indented partial is indented textually before parsing, as the
 * spec says ("prepended to each line of the partial before rendering"), so
 * interpolated data is never indented. Parsed partials are cached per call by
 * (partial, indentation).
 */
#include "render/template.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum tok_kind {
    TOK_TEXT,
    TOK_VAR,      /* {{name}}: escaped */
    TOK_RAW,      /* {{{name}}} or {{&name}} */
    TOK_SECTION,  /* {{#name}} */
    TOK_INVERTED, /* {{^name}} */
    TOK_CLOSE,    /* {{/name}} */
    TOK_PARTIAL,  /* {{>name}} */
    TOK_COMMENT,  /* {{!...}}: kept only until its line is judged */
    TOK_DELIM,    /* {{=a b=}}: likewise */
} tok_kind;

typedef struct tok {
    tok_kind kind;
    const char *s; /* text, or the tag's name */
    size_t n;
    size_t pos;    /* offset of the tag (or text) in the source, for messages */
    size_t end;    /* sections: index of the closing token */
    const char *indent; /* standalone partials: whitespace before the tag */
    size_t indent_len;
} tok;

typedef struct tpl_parsed {
    tok *toks;
    size_t n, cap;
    const char *src;
    size_t len;
    const char *name; /* partial name for messages, NULL for the main template */
    size_t col_shift; /* indentation added to every line of an indented partial */
} tpl_parsed;

typedef struct partial_entry {
    const cJSON *item; /* the partial in the partials object: identifies it */
    char *indent;
    size_t indent_len;
    char *src; /* the indented source the tokens point into */
    tpl_parsed tpl;
} partial_entry;

typedef struct renderer {
    bb_buf *out;
    const cJSON *partials;
    const cJSON **stack;
    size_t depth, stack_cap;
    partial_entry **cache;
    size_t ncache, cache_cap;
    int partial_depth;
    char *err;
    size_t errsize;
} renderer;

/* ---- messages ---------------------------------------------------------- */

__attribute__((format(printf, 5, 6))) static void set_err(char *err, size_t errsize,
                                                          const tpl_parsed *t, size_t pos,
                                                          const char *fmt, ...)
{
    if (!err || errsize == 0 || err[0] != '\0')
        return;
    unsigned long line = 1, col = 1;
    for (size_t i = 0; i < pos && i < t->len; i++) {
        unsigned char c = (unsigned char)t->src[i];
        if (c == '\n') {
            line++;
            col = 1;
        } else if ((c & 0xC0) != 0x80) {
            col++; /* count UTF-8 characters, not bytes */
        }
    }
    if (col > t->col_shift)
        col -= t->col_shift;
    int used;
    if (t->name)
        used = snprintf(err, errsize, "partial \"%s\", line %lu, column %lu: ", t->name, line, col);
    else
        used = snprintf(err, errsize, "line %lu, column %lu: ", line, col);
    if (used < 0 || (size_t)used >= errsize)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + used, errsize - (size_t)used, fmt, ap);
    va_end(ap);
}

/* At most this many bytes of a name are quoted in a message. */
#define NAME_IN_MSG 64
#define MSG_LEN(n) ((int)((n) < NAME_IN_MSG ? (n) : NAME_IN_MSG))

/* ---- parsing ----------------------------------------------------------- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Offset of the first occurrence of needle in s[from..len), or len. */
static size_t find(const char *s, size_t from, size_t len, const char *needle, size_t nlen)
{
    while (from + nlen <= len) {
        const char *p = memchr(s + from, needle[0], len - from - nlen + 1);
        if (!p)
            break;
        size_t at = (size_t)(p - s);
        if (memcmp(p, needle, nlen) == 0)
            return at;
        from = at + 1;
    }
    return len;
}

/* Like find, for the needle c followed by close: returns the offset of c. */
static size_t find_after_char(const char *s, size_t from, size_t len, char c, const char *close,
                              size_t clen)
{
    for (size_t at = from;;) {
        size_t k = find(s, at, len, close, clen);
        if (k == len)
            return len;
        if (k > from && s[k - 1] == c)
            return k - 1;
        at = k + 1;
    }
}

static void trim(const char **s, size_t *n)
{
    while (*n && is_space(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && is_space((*s)[*n - 1]))
        (*n)--;
}

/* "." or dot-separated non-empty parts without whitespace. */
static bool valid_name(const char *s, size_t n)
{
    if (n == 0)
        return false;
    if (n == 1 && s[0] == '.')
        return true;
    if (s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (is_space(s[i]) || s[i] == '\0')
            return false;
        if (s[i] == '.' && s[i + 1] == '.')
            return false;
    }
    return true;
}

static bb_err push_tok(tpl_parsed *t, tok_kind kind, const char *s, size_t n, size_t pos)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        tok *p = realloc(t->toks, cap * sizeof *p);
        if (!p)
            return BB_ERR_NOMEM;
        t->toks = p;
        t->cap = cap;
    }
    t->toks[t->n++] = (tok){.kind = kind, .s = s, .n = n, .pos = pos};
    return BB_OK;
}

/* Spaces and tabs, then optionally "\n" or "\r\n" at the very end. */
static bool is_blank_line_text(const char *s, size_t n)
{
    if (n && s[n - 1] == '\n') {
        n--;
        if (n && s[n - 1] == '\r')
            n--;
    }
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return false;
    return true;
}

/* Judges the line made of toks[first..n): applies the standalone rule and
 * drops the comment and delimiter tokens, which have served their purpose. */
static void end_line(tpl_parsed *t, size_t first)
{
    bool has_tag = false, standalone = true;
    for (size_t i = first; i < t->n && standalone; i++) {
        switch (t->toks[i].kind) {
        case TOK_TEXT:
            standalone = is_blank_line_text(t->toks[i].s, t->toks[i].n);
            break;
        case TOK_VAR:
        case TOK_RAW:
            standalone = false;
            break;
        default:
            has_tag = true;
            break;
        }
    }
    standalone = standalone && has_tag;
    size_t w = first;
    for (size_t i = first; i < t->n; i++) {
        tok *k = &t->toks[i];
        if (k->kind == TOK_COMMENT || k->kind == TOK_DELIM)
            continue;
        if (standalone && k->kind == TOK_TEXT)
            continue;
        if (standalone && k->kind == TOK_PARTIAL && i > first && t->toks[i - 1].kind == TOK_TEXT) {
            k->indent = t->toks[i - 1].s;
            k->indent_len = t->toks[i - 1].n;
        }
        t->toks[w++] = *k;
    }
    t->n = w;
}

typedef struct delims {
    const char *open, *close;
    size_t olen, clen;
} delims;

/* Parses the tag whose opening delimiter starts at src[at]; appends its token
 * (or changes d) and sets *next to the offset just past the tag. */
static bb_err parse_tag(tpl_parsed *t, delims *d, size_t at, size_t *next, char *err,
                        size_t errsize)
{
    const char *src = t->src;
    size_t len = t->len;
    size_t q = at + d->olen;
    char sigil = q < len ? src[q] : '\0';

    if (sigil == '=' || sigil == '{') {
        char closer = sigil == '=' ? '=' : '}';
        size_t k = find_after_char(src, q + 1, len, closer, d->close, d->clen);
        if (k == len) {
            set_err(err, errsize, t, at, "unclosed tag (no \"%c%.*s\" follows)", closer,
                    (int)d->clen, d->close);
            return BB_ERR_CONFIG;
        }
        *next = k + 1 + d->clen;
        const char *s = src + q + 1;
        size_t n = k - (q + 1);
        trim(&s, &n);
        if (sigil == '{') {
            if (!valid_name(s, n)) {
                set_err(err, errsize, t, at, "bad tag name \"%.*s\"", MSG_LEN(n), s);
                return BB_ERR_CONFIG;
            }
            return push_tok(t, TOK_RAW, s, n, at);
        }
        size_t split = 0;
        while (split < n && !is_space(s[split]))
            split++;
        size_t second = split;
        while (second < n && is_space(s[second]))
            second++;
        bool ok = split > 0 && second < n && second > split;
        for (size_t i = second; ok && i < n; i++)
            ok = !is_space(s[i]);
        if (!ok) {
            set_err(err, errsize, t, at,
                    "bad delimiter change \"%.*s\" (want two delimiters separated by space)",
                    MSG_LEN(n), s);
            return BB_ERR_CONFIG;
        }
        d->open = s;
        d->olen = split;
        d->close = s + second;
        d->clen = n - second;
        return push_tok(t, TOK_DELIM, NULL, 0, at);
    }

    size_t k = find(src, q, len, d->close, d->clen);
    if (k == len) {
        set_err(err, errsize, t, at, "unclosed tag (no \"%.*s\" follows)", (int)d->clen, d->close);
        return BB_ERR_CONFIG;
    }
    *next = k + d->clen;
    if (sigil == '!')
        return push_tok(t, TOK_COMMENT, NULL, 0, at);

    tok_kind kind;
    switch (sigil) {
    case '#': kind = TOK_SECTION; break;
    case '^': kind = TOK_INVERTED; break;
    case '/': kind = TOK_CLOSE; break;
    case '>': kind = TOK_PARTIAL; break;
    case '&': kind = TOK_RAW; break;
    case '<':
    case '$':
        set_err(err, errsize, t, at, "template inheritance tags (\"%c\") are not supported",
                sigil);
        return BB_ERR_CONFIG;
    default: kind = TOK_VAR; break;
    }
    const char *s = src + q + (kind == TOK_VAR ? 0 : 1);
    size_t n = (size_t)(src + k - s);
    trim(&s, &n);
    bool ok = kind == TOK_PARTIAL ? n > 0 : valid_name(s, n);
    if (kind == TOK_PARTIAL)
        for (size_t i = 0; ok && i < n; i++)
            ok = !is_space(s[i]);
    if (!ok) {
        set_err(err, errsize, t, at, "bad tag name \"%.*s\"", MSG_LEN(n), s);
        return BB_ERR_CONFIG;
    }
    return push_tok(t, kind, s, n, at);
}

/* Second pass: merges adjacent text and pairs each section with its closing
 * tag. */
static bb_err link_sections(tpl_parsed *t, char *err, size_t errsize)
{
    size_t w = 0;
    for (size_t i = 0; i < t->n; i++) {
        tok *k = &t->toks[i];
        if (k->kind == TOK_TEXT && k->n == 0)
            continue;
        if (k->kind == TOK_TEXT && w > 0 && t->toks[w - 1].kind == TOK_TEXT &&
            t->toks[w - 1].s + t->toks[w - 1].n == k->s) {
            t->toks[w - 1].n += k->n;
            continue;
        }
        t->toks[w++] = *k;
    }
    t->n = w;

    size_t open[BB_TPL_MAX_DEPTH];
    size_t depth = 0;
    for (size_t i = 0; i < t->n; i++) {
        tok *k = &t->toks[i];
        if (k->kind == TOK_SECTION || k->kind == TOK_INVERTED) {
            if (depth == BB_TPL_MAX_DEPTH) {
                set_err(err, errsize, t, k->pos, "sections nested deeper than %d",
                        BB_TPL_MAX_DEPTH);
                return BB_ERR_CONFIG;
            }
            open[depth++] = i;
        } else if (k->kind == TOK_CLOSE) {
            if (depth == 0) {
                set_err(err, errsize, t, k->pos, "closing tag \"/%.*s\" without an open section",
                        MSG_LEN(k->n), k->s);
                return BB_ERR_CONFIG;
            }
            tok *o = &t->toks[open[--depth]];
            if (o->n != k->n || memcmp(o->s, k->s, k->n) != 0) {
                set_err(err, errsize, t, k->pos,
                        "closing tag \"/%.*s\" does not match the open section \"%.*s\"",
                        MSG_LEN(k->n), k->s, MSG_LEN(o->n), o->s);
                return BB_ERR_CONFIG;
            }
            o->end = i;
        }
    }
    if (depth > 0) {
        tok *o = &t->toks[open[depth - 1]];
        set_err(err, errsize, t, o->pos, "unclosed section \"%.*s\"", MSG_LEN(o->n), o->s);
        return BB_ERR_CONFIG;
    }
    return BB_OK;
}

static void tpl_release(tpl_parsed *t)
{
    free(t->toks);
    t->toks = NULL;
    t->n = t->cap = 0;
}

/* Parses src[0..len) into t (which the caller has zeroed and named). */
static bb_err tpl_parse(tpl_parsed *t, const char *src, size_t len, char *err, size_t errsize)
{
    t->src = src;
    t->len = len;
    delims d = {"{{", "}}", 2, 2};
    size_t pos = 0, line_first = 0;
    bb_err e = BB_OK;
    while (pos < len) {
        size_t tag = find(src, pos, len, d.open, d.olen);
        while (pos < tag) {
            const char *nl = memchr(src + pos, '\n', tag - pos);
            size_t stop = nl ? (size_t)(nl - src) + 1 : tag;
            e = push_tok(t, TOK_TEXT, src + pos, stop - pos, pos);
            if (e != BB_OK)
                goto fail;
            pos = stop;
            if (nl) {
                end_line(t, line_first);
                line_first = t->n;
            }
        }
        if (tag == len)
            break;
        e = parse_tag(t, &d, tag, &pos, err, errsize);
        if (e != BB_OK)
            goto fail;
    }
    end_line(t, line_first);
    e = link_sections(t, err, errsize);
    if (e != BB_OK)
        goto fail;
    return BB_OK;
fail:
    tpl_release(t);
    return e;
}

/* ---- values ------------------------------------------------------------ */

/* The child named s[0..n) of an object; the name need not be terminated. */
static const cJSON *child_named(const cJSON *obj, const char *s, size_t n)
{
    for (const cJSON *c = obj->child; c; c = c->next) {
        const char *k = c->string;
        if (!k)
            continue;
        size_t i = 0;
        while (i < n && k[i] != '\0' && k[i] == s[i])
            i++;
        if (i == n && k[n] == '\0')
            return c;
    }
    return NULL;
}

static const cJSON *lookup(const renderer *r, const char *name, size_t n)
{
    if (n == 1 && name[0] == '.')
        return r->depth ? r->stack[r->depth - 1] : NULL;
    const char *dot = memchr(name, '.', n);
    size_t first = dot ? (size_t)(dot - name) : n;
    const cJSON *v = NULL;
    for (size_t d = r->depth; d-- > 0 && !v;)
        if (cJSON_IsObject(r->stack[d]))
            v = child_named(r->stack[d], name, first);
    size_t at = first;
    while (v && at < n) {
        at++; /* the dot */
        const char *part = name + at;
        const char *next = memchr(part, '.', n - at);
        size_t plen = next ? (size_t)(next - part) : n - at;
        v = cJSON_IsObject(v) ? child_named(v, part, plen) : NULL;
        at += plen;
    }
    return v;
}

static bool truthy(const cJSON *v)
{
    if (!v || cJSON_IsFalse(v) || cJSON_IsNull(v) || cJSON_IsInvalid(v))
        return false;
    if (cJSON_IsArray(v))
        return v->child != NULL;
    if (cJSON_IsString(v))
        return v->valuestring && v->valuestring[0] != '\0';
    if (cJSON_IsNumber(v))
        return v->valuedouble != 0.0 && !isnan(v->valuedouble);
    return true;
}

/*
 * Integral values print as integers; others in the shortest "%.*g" form that
 * strtod reads back exactly. Starting at 15 digits is enough: any decimal of
 * at most DBL_DIG (15) significant digits survives decimal -> double ->
 * decimal, so when a shorter form exists, "%.15g" prints it (%g drops the
 * trailing zeros). printf and strtod both follow LC_NUMERIC, so the round
 * trip holds in any locale, and whatever the locale put between the digits
 * (its decimal point, possibly several bytes) is then replaced by '.'.
 */
static void format_number(double v, char *out, size_t size)
{
    if (!isfinite(v)) {
        out[0] = '\0';
        return;
    }
    if (v == trunc(v) && fabs(v) < 9.0e18) {
        snprintf(out, size, "%lld", (long long)v);
        return;
    }
    char tmp[64];
    for (int prec = DBL_DIG; prec <= DBL_DIG + 2; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    size_t w = 0;
    bool in_point = false;
    for (const char *p = tmp; *p && w + 1 < size; p++) {
        char c = *p;
        if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e') {
            out[w++] = c;
            in_point = false;
        } else if (!in_point) {
            out[w++] = '.';
            in_point = true;
        }
    }
    out[w] = '\0';
}

static bb_err put_escaped(bb_buf *b, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep;
        size_t rlen;
        switch (s[i]) {
        case '&': rep = "&amp;"; rlen = 5; break;
        case '<': rep = "&lt;"; rlen = 4; break;
        case '>': rep = "&gt;"; rlen = 4; break;
        case '"': rep = "&quot;"; rlen = 6; break;
        case '\'': rep = "&#39;"; rlen = 5; break;
        default: continue;
        }
        bb_err e = bb_buf_append(b, s + run, i - run);
        if (e == BB_OK)
            e = bb_buf_append(b, rep, rlen);
        if (e != BB_OK)
            return e;
        run = i + 1;
    }
    return bb_buf_append(b, s + run, n - run);
}

/* Writes v as text; the text goes to the output and is never parsed. */
static bb_err put_value(bb_buf *b, const cJSON *v, bool escape)
{
    char num[64];
    const char *s = NULL;
    if (!v)
        return BB_OK;
    if (cJSON_IsString(v)) {
        s = v->valuestring;
    } else if (cJSON_IsNumber(v)) {
        format_number(v->valuedouble, num, sizeof num);
        s = num;
    } else if (cJSON_IsTrue(v)) {
        s = "true";
    } else if (cJSON_IsFalse(v)) {
        s = "false";
    }
    if (!s)
        return BB_OK;
    return escape ? put_escaped(b, s, strlen(s)) : bb_buf_append(b, s, strlen(s));
}

/* ---- rendering --------------------------------------------------------- */

static bb_err push_ctx(renderer *r, const cJSON *v)
{
    if (r->depth == r->stack_cap) {
        size_t cap = r->stack_cap ? r->stack_cap * 2 : 32;
        const cJSON **p = realloc((void *)r->stack, cap * sizeof *p);
        if (!p)
            return BB_ERR_NOMEM;
        r->stack = p;
        r->stack_cap = cap;
    }
    r->stack[r->depth++] = v;
    return BB_OK;
}

static void partial_entry_free(partial_entry *p)
{
    if (!p)
        return;
    tpl_release(&p->tpl);
    free(p->src);
    free(p->indent);
    free(p);
}

/* src with indent put before each line that has content. */
static char *indent_copy(const char *src, size_t len, const char *indent, size_t ilen,
                         size_t *out_len)
{
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        if (i == 0 || (src[i - 1] == '\n'))
            lines++;
    if (ilen && lines > (SIZE_MAX - len - 1) / ilen)
        return NULL;
    size_t total = len + lines * ilen;
    char *dst = malloc(total + 1);
    if (!dst)
        return NULL;
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        if (i == 0 || src[i - 1] == '\n') {
            memcpy(dst + w, indent, ilen);
            w += ilen;
        }
        dst[w++] = src[i];
    }
    dst[w] = '\0';
    *out_len = w;
    return dst;
}

/* The parsed form of partial item under this indentation, parsed on first
 * use and then kept for the rest of the call. */
static bb_err get_partial(renderer *r, const cJSON *item, const char *indent, size_t ilen,
                          partial_entry **out)
{
    for (size_t i = 0; i < r->ncache; i++) {
        partial_entry *p = r->cache[i];
        if (p->item == item && p->indent_len == ilen &&
            (ilen == 0 || memcmp(p->indent, indent, ilen) == 0)) {
            *out = p;
            return BB_OK;
        }
    }
    bb_err e = BB_ERR_NOMEM;
    partial_entry *p = calloc(1, sizeof *p);
    if (!p)
        goto fail;
    p->indent = malloc(ilen + 1);
    if (!p->indent)
        goto fail;
    if (ilen)
        memcpy(p->indent, indent, ilen);
    p->indent_len = ilen;
    size_t slen = 0;
    const char *text = item->valuestring;
    p->src = indent_copy(text, strlen(text), p->indent, ilen, &slen);
    if (!p->src)
        goto fail;
    if (r->ncache == r->cache_cap) {
        size_t cap = r->cache_cap ? r->cache_cap * 2 : 8;
        partial_entry **c = realloc(r->cache, cap * sizeof *c);
        if (!c)
            goto fail;
        r->cache = c;
        r->cache_cap = cap;
    }
    p->item = item;
    p->tpl.name = item->string;
    p->tpl.col_shift = ilen;
    e = tpl_parse(&p->tpl, p->src, slen, r->err, r->errsize);
    if (e != BB_OK)
        goto fail;
    r->cache[r->ncache++] = p;
    *out = p;
    return BB_OK;
fail:
    partial_entry_free(p);
    return e;
}

static bb_err render_range(renderer *r, const tpl_parsed *t, size_t from, size_t to);

static bb_err render_partial(renderer *r, const tpl_parsed *t, const tok *k)
{
    const cJSON *item = r->partials ? child_named(r->partials, k->s, k->n) : NULL;
    if (!item)
        return BB_OK; /* the spec: a missing partial renders as nothing */
    if (!cJSON_IsString(item) || !item->valuestring) {
        set_err(r->err, r->errsize, t, k->pos, "partial \"%.*s\" is not a string",
                MSG_LEN(k->n), k->s);
        return BB_ERR_CONFIG;
    }
    if (r->partial_depth >= BB_TPL_MAX_DEPTH) {
        set_err(r->err, r->errsize, t, k->pos,
                "partials nested deeper than %d (does \"%.*s\" include itself?)",
                BB_TPL_MAX_DEPTH, MSG_LEN(k->n), k->s);
        return BB_ERR_CONFIG;
    }
    partial_entry *p;
    bb_err e = get_partial(r, item, k->indent, k->indent_len, &p);
    if (e != BB_OK)
        return e;
    r->partial_depth++;
    e = render_range(r, &p->tpl, 0, p->tpl.n);
    r->partial_depth--;
    return e;
}

static bb_err render_range(renderer *r, const tpl_parsed *t, size_t from, size_t to)
{
    bb_err e = BB_OK;
    for (size_t i = from; i < to && e == BB_OK; i++) {
        const tok *k = &t->toks[i];
        switch (k->kind) {
        case TOK_TEXT:
            e = bb_buf_append(r->out, k->s, k->n);
            break;
        case TOK_VAR:
        case TOK_RAW:
            e = put_value(r->out, lookup(r, k->s, k->n), k->kind == TOK_VAR);
            break;
        case TOK_SECTION: {
            const cJSON *v = lookup(r, k->s, k->n);
            if (cJSON_IsArray(v)) {
                for (const cJSON *c = v->child; c && e == BB_OK; c = c->next) {
                    e = push_ctx(r, c);
                    if (e == BB_OK)
                        e = render_range(r, t, i + 1, k->end);
                    r->depth--;
                }
            } else if (truthy(v)) {
                e = push_ctx(r, v);
                if (e == BB_OK)
                    e = render_range(r, t, i + 1, k->end);
                r->depth--;
            }
            i = k->end;
            break;
        }
        case TOK_INVERTED:
            if (!truthy(lookup(r, k->s, k->n)))
                e = render_range(r, t, i + 1, k->end);
            i = k->end;
            break;
        case TOK_PARTIAL:
            e = render_partial(r, t, k);
            break;
        default:
            break; /* closing tags are skipped over by their section */
        }
    }
    return e;
}

bb_err bb_tpl_render(const char *tpl, size_t len, const cJSON *data, const cJSON *partials,
                     bb_buf *out, char *err, size_t errsize)
{
    if (err && errsize)
        err[0] = '\0';
    if ((!tpl && len) || !out) {
        if (err && errsize)
            snprintf(err, errsize, "no template or no output buffer");
        return BB_ERR_INTERNAL;
    }
    size_t start_len = out->len;
    renderer r = {.out = out, .partials = partials, .err = err, .errsize = errsize};
    tpl_parsed main_tpl = {0};
    bb_err e = tpl_parse(&main_tpl, tpl ? tpl : "", len, err, errsize);
    if (e != BB_OK)
        goto fail;
    if (data) {
        e = push_ctx(&r, data);
        if (e != BB_OK)
            goto fail;
    }
    e = render_range(&r, &main_tpl, 0, main_tpl.n);
fail:
    if (e == BB_ERR_NOMEM && err && errsize && err[0] == '\0')
        snprintf(err, errsize, "out of memory, or output over its cap of %zu bytes", out->max);
    if (e != BB_OK && out->data) {
        out->len = start_len;
        out->data[start_len] = '\0';
    }
    tpl_release(&main_tpl);
    for (size_t i = 0; i < r.ncache; i++)
        partial_entry_free(r.cache[i]);
    free(r.cache);
    free((void *)r.stack);
    return e;
}
