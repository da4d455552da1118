/*
 * model_file.c - writing and reading the model file (format in the header).
 *
 * The writer streams: every section is produced twice, first by a counting
 * pass that only adds up its length (the length precedes the payload), then
 * for real into the file and the SHA-256 at once, so a 100 MB EASE matrix
 * is never copied. The reader loads the whole file (it is needed anyway)
 * and walks it with a bounds-checked cursor.
 */
#include "recommend/model_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/date.h"
#include "util/fs.h"
#include "util/sha256.h"

static const char MAGIC[8] = {'B', 'B', 'R', 'E', 'C', 'M', 'D', 'L'};

/* ---- writing ------------------------------------------------------------ */

typedef struct writer {
    FILE *f;
    bb_sha256 *hash;
    bool counting;
    uint64_t count;
    bb_err e;
} writer;

static void w_bytes(writer *w, const void *p, size_t n)
{
    if (w->e != BB_OK || n == 0)
        return;
    if (w->counting) {
        w->count += n;
        return;
    }
    if (fwrite(p, 1, n, w->f) != n)
        w->e = BB_ERR_IO;
    else
        w->e = bb_sha256_update(w->hash, p, n);
}

static void w_u32(writer *w, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    w_bytes(w, b, 4);
}

static void w_u64(writer *w, uint64_t v)
{
    w_u32(w, (uint32_t)v);
    w_u32(w, (uint32_t)(v >> 32));
}

static void w_f64(writer *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    w_u64(w, u);
}

static void w_str(writer *w, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    w_u32(w, (uint32_t)n);
    w_bytes(w, s, n);
}

/* Arrays of 32-bit words (u32, i32 or f32) in little-endian order, through a
 * buffer so a large matrix is written in pieces. */
static void w_words(writer *w, const void *p, size_t n)
{
    if (w->counting) {
        w->count += 4 * (uint64_t)n;
        return;
    }
    unsigned char buf[16384];
    const unsigned char *src = p;
    while (n > 0 && w->e == BB_OK) {
        size_t m = n < sizeof buf / 4 ? n : sizeof buf / 4;
        for (size_t i = 0; i < m; i++) {
            uint32_t v;
            memcpy(&v, src + 4 * i, 4);
            buf[4 * i] = (unsigned char)v;
            buf[4 * i + 1] = (unsigned char)(v >> 8);
            buf[4 * i + 2] = (unsigned char)(v >> 16);
            buf[4 * i + 3] = (unsigned char)(v >> 24);
        }
        w_bytes(w, buf, 4 * m);
        src += 4 * m;
        n -= m;
    }
}

typedef void (*section_fn)(writer *w, const bb_model_file *m);

static void s_conf(writer *w, const bb_model_file *m)
{
    w_u32(w, (uint32_t)m->model.kind);
    w_u32(w, m->top_n);
    w_u32(w, m->k);
    w_u64(w, m->seed);
    w_str(w, m->loss);
    w_str(w, m->hidden);
    w_str(w, m->repeatable_text);
    w_str(w, m->as_of);
    w_u32(w, m->epochs);
}

static void s_item(writer *w, const bb_model_file *m)
{
    w_u32(w, m->n_items);
    for (uint32_t j = 0; j < m->n_items; j++)
        w_str(w, m->item_ids[j]);
}

static void s_rept(writer *w, const bb_model_file *m)
{
    w_bytes(w, m->repeatable, m->n_items);
}

static void s_popu(writer *w, const bb_model_file *m)
{
    w_words(w, m->model.pop, m->n_items);
}

static void s_modl(writer *w, const bb_model_file *m)
{
    const bb_rec_model *md = &m->model;
    size_t n = m->n_items;
    switch (md->kind) {
    case BB_REC_ITEMKNN:
        w_u32(w, md->knn_k);
        w_u32(w, md->knn.k);
        w_words(w, md->knn.n_nbr, n);
        w_words(w, md->knn.nbr, n * md->knn.k);
        w_words(w, md->knn.sim, n * md->knn.k);
        break;
    case BB_REC_EASE:
        w_f64(w, md->ease_lambda);
        w_words(w, md->ease, n * n);
        break;
    case BB_REC_AUTOENCODER: {
        bb_ae *ae = md->ae;
        int layers = bb_ae_layers(ae);
        const int *dims = bb_ae_dims(ae);
        const bb_ae_opts *o = bb_ae_options(ae);
        w_u32(w, (uint32_t)layers);
        for (int l = 0; l <= layers; l++)
            w_u32(w, (uint32_t)dims[l]);
        w_u32(w, (uint32_t)o->loss);
        w_words(w, &o->dropout, 1);
        w_words(w, &o->input_dropout, 1);
        w_words(w, &o->l2, 1);
        w_words(w, &o->lr, 1);
        w_u32(w, (uint32_t)o->batch);
        w_u64(w, o->seed);
        size_t count;
        const float *p = bb_ae_params(ae, &count);
        w_u64(w, count);
        w_words(w, p, count);
        break;
    }
    default:
        break;
    }
}

static void s_rsns(writer *w, const bb_model_file *m)
{
    const bb_reasons *r = &m->reasons;
    w_words(w, r->assoc_n, m->n_items);
    w_words(w, r->assoc, (size_t)m->n_items * BB_REASON_ASSOC);
    w_words(w, r->global_top, BB_REASON_TOP);
    w_u32(w, r->n_segments);
    w_words(w, r->seg_top, (size_t)r->n_segments * BB_REASON_TOP);
    w_words(w, r->seg_share, (size_t)r->n_segments * BB_REASON_TOP);
}

static void s_segs(writer *w, const bb_model_file *m)
{
    w_u32(w, m->n_segments);
    for (uint32_t s = 0; s < m->n_segments; s++)
        w_str(w, m->segment_names[s]);
    w_u32(w, m->n_customers);
    for (uint32_t c = 0; c < m->n_customers; c++) {
        w_str(w, m->customer_ids[c]);
        w_words(w, &m->customer_segment[c], 1);
    }
}

static const struct {
    char tag[4];
    section_fn fn;
} SECTIONS[] = {
    {{'C', 'O', 'N', 'F'}, s_conf}, {{'I', 'T', 'E', 'M'}, s_item}, {{'R', 'E', 'P', 'T'}, s_rept},
    {{'P', 'O', 'P', 'U'}, s_popu}, {{'M', 'O', 'D', 'L'}, s_modl}, {{'R', 'S', 'N', 'S'}, s_rsns},
    {{'S', 'E', 'G', 'S'}, s_segs},
};
#define N_SECTIONS (sizeof SECTIONS / sizeof SECTIONS[0])

static int hex_value(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void hex_to_bytes(const char hex[65], unsigned char out[32])
{
    for (int i = 0; i < 32; i++)
        out[i] = (unsigned char)(hex_value(hex[2 * i]) * 16 + hex_value(hex[2 * i + 1]));
}

bb_err bb_model_file_save(const char *path, const bb_model_file *m)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    writer w = {0};
    w.f = fopen(tmp, "wb");
    if (!w.f)
        return BB_ERR_CANTCREAT;
    w.e = bb_sha256_new(&w.hash);
    w_bytes(&w, MAGIC, sizeof MAGIC);
    w_u32(&w, BB_MODEL_FILE_VERSION);
    for (size_t i = 0; i < N_SECTIONS && w.e == BB_OK; i++) {
        writer count = {.counting = true};
        SECTIONS[i].fn(&count, m);
        w_bytes(&w, SECTIONS[i].tag, 4);
        w_u64(&w, count.count);
        SECTIONS[i].fn(&w, m);
    }
    char hex[65];
    if (w.e == BB_OK)
        w.e = bb_sha256_hex(w.hash, hex);
    if (w.e == BB_OK) {
        unsigned char sum[32];
        hex_to_bytes(hex, sum);
        if (fwrite(sum, 1, sizeof sum, w.f) != sizeof sum)
            w.e = BB_ERR_IO;
    }
    bb_sha256_free(w.hash);
    if (fflush(w.f) != 0 && w.e == BB_OK)
        w.e = BB_ERR_IO;
    if (fclose(w.f) != 0 && w.e == BB_OK)
        w.e = BB_ERR_IO;
    if (w.e == BB_OK && rename(tmp, path) != 0)
        w.e = BB_ERR_IO;
    if (w.e != BB_OK)
        remove(tmp);
    return w.e;
}

/* ---- reading ------------------------------------------------------------ */

typedef struct reader {
    const unsigned char *p;
    size_t left;
    bool bad;
} reader;

static bool r_need(reader *r, size_t n)
{
    if (r->bad || n > r->left) {
        r->bad = true;
        return false;
    }
    return true;
}

static uint32_t r_u32(reader *r)
{
    if (!r_need(r, 4))
        return 0;
    uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
    r->p += 4;
    r->left -= 4;
    return v;
}

static uint64_t r_u64(reader *r)
{
    uint64_t lo = r_u32(r);
    return lo | (uint64_t)r_u32(r) << 32;
}

static double r_f64(reader *r)
{
    uint64_t u = r_u64(r);
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* n 32-bit words into dst (which holds n). */
static void r_words(reader *r, void *dst, size_t n)
{
    if (n > SIZE_MAX / 4 || !r_need(r, 4 * n))
        return;
    unsigned char *d = dst;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = (uint32_t)r->p[4 * i] | (uint32_t)r->p[4 * i + 1] << 8 | (uint32_t)r->p[4 * i + 2] << 16 |
                     (uint32_t)r->p[4 * i + 3] << 24;
        memcpy(d + 4 * i, &v, 4);
    }
    r->p += 4 * n;
    r->left -= 4 * n;
}

/* A string copied into a malloc'd, NUL-terminated buffer (or into fixed when given). */
static char *r_str(reader *r, char *fixed, size_t fixed_size)
{
    uint32_t n = r_u32(r);
    if (!r_need(r, n))
        return NULL;
    char *s = fixed;
    if (fixed) {
        if (n >= fixed_size) {
            r->bad = true;
            return NULL;
        }
    } else {
        s = malloc((size_t)n + 1);
        if (!s) {
            r->bad = true;
            return NULL;
        }
    }
    memcpy(s, r->p, n);
    s[n] = '\0';
    r->p += n;
    r->left -= n;
    return s;
}

void bb_model_file_free(bb_model_file *m)
{
    if (!m)
        return;
    bb_rec_model_clear(&m->model);
    bb_reasons_free(&m->reasons);
    free(m->repeatable);
    if (m->item_ids)
        for (uint32_t j = 0; j < m->n_items; j++)
            free(m->item_ids[j]);
    free(m->item_ids);
    free(m->segment_names);
    if (m->customer_ids)
        for (uint32_t c = 0; c < m->n_customers; c++)
            free(m->customer_ids[c]);
    free(m->customer_ids);
    free(m->customer_segment);
    memset(m, 0, sizeof *m);
}

int bb_model_file_segment(const bb_model_file *m, const char *customer_id)
{
    size_t lo = 0, hi = m->n_customers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->customer_ids[mid], customer_id);
        if (c == 0)
            return m->customer_segment[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Opens section `tag`; its payload becomes the reader's view. */
static bool section(reader *file, const char tag[4], reader *out)
{
    if (!r_need(file, 12) || memcmp(file->p, tag, 4) != 0) {
        file->bad = true;
        return false;
    }
    file->p += 4;
    file->left -= 4;
    uint64_t len = r_u64(file);
    if (!r_need(file, len))
        return false;
    *out = (reader){file->p, (size_t)len, false};
    file->p += len;
    file->left -= len;
    return true;
}

static bool read_model(reader *r, bb_model_file *m)
{
    bb_rec_model *md = &m->model;
    size_t n = m->n_items;
    switch (md->kind) {
    case BB_REC_POPULARITY:
        return true;
    case BB_REC_ITEMKNN: {
        md->knn_k = r_u32(r);
        uint32_t k = r_u32(r);
        if (r->bad || k == 0 || k > 100000 || md->knn_k == 0 || md->knn_k > k || n * k > r->left / 8)
            return false;
        md->knn.n_items = m->n_items;
        md->knn.k = k;
        md->knn.n_nbr = malloc(n * sizeof *md->knn.n_nbr);
        md->knn.nbr = malloc(n * k * sizeof *md->knn.nbr);
        md->knn.sim = malloc(n * k * sizeof *md->knn.sim);
        if (!md->knn.n_nbr || !md->knn.nbr || !md->knn.sim)
            return false;
        r_words(r, md->knn.n_nbr, n);
        r_words(r, md->knn.nbr, n * k);
        r_words(r, md->knn.sim, n * k);
        for (size_t i = 0; i < n && !r->bad; i++) {
            if (md->knn.n_nbr[i] > k)
                return false;
            for (uint32_t t = 0; t < md->knn.n_nbr[i]; t++)
                if (md->knn.nbr[i * k + t] >= n)
                    return false;
        }
        return !r->bad;
    }
    case BB_REC_EASE:
        md->ease_lambda = r_f64(r);
        if (r->bad || n * n > r->left / 4)
            return false;
        md->ease = malloc(n * n * sizeof *md->ease);
        if (!md->ease)
            return false;
        r_words(r, md->ease, n * n);
        return !r->bad;
    case BB_REC_AUTOENCODER: {
        uint32_t layers = r_u32(r);
        if (r->bad || layers < 2 || layers > BB_AE_MAX_HIDDEN + 1)
            return false;
        uint32_t dims[BB_AE_MAX_HIDDEN + 2];
        for (uint32_t l = 0; l <= layers; l++)
            dims[l] = r_u32(r);
        bb_ae_opts o;
        bb_ae_defaults(&o, m->n_items);
        if (dims[0] != m->n_items || dims[layers] != m->n_items)
            return false;
        o.n_hidden = (int)layers - 1;
        for (uint32_t l = 1; l < layers; l++) {
            if (dims[l] < 1 || dims[l] > BB_AE_MAX_WIDTH)
                return false;
            o.hidden[l - 1] = (int)dims[l];
        }
        o.loss = (bb_ae_loss)r_u32(r);
        r_words(r, &o.dropout, 1);
        r_words(r, &o.input_dropout, 1);
        r_words(r, &o.l2, 1);
        r_words(r, &o.lr, 1);
        o.batch = (int)r_u32(r);
        o.seed = r_u64(r);
        uint64_t count = r_u64(r);
        if (r->bad || o.batch < 1 || o.batch > 65536 || count > r->left / 4)
            return false;
        if (bb_ae_new(&o, &md->ae) != BB_OK)
            return false;
        size_t have;
        float *p = bb_ae_params(md->ae, &have);
        if (have != count)
            return false;
        r_words(r, p, count);
        return !r->bad;
    }
    default:
        return false;
    }
}

bb_err bb_model_file_load(const char *path, bb_model_file *out, char *err, size_t errsize)
{
    memset(out, 0, sizeof *out);
    if (err && errsize)
        err[0] = '\0';
    char *data = NULL;
    size_t len = 0;
    bb_err e = bb_fs_read_file(path, BB_MODEL_FILE_MAX_BYTES, &data, &len);
    if (e != BB_OK) {
        snprintf(err, errsize, "cannot read the model file %s", path);
        return e == BB_ERR_NOMEM ? e : BB_ERR_NOINPUT;
    }
    const unsigned char *p = (const unsigned char *)data;
    if (len < sizeof MAGIC + 4 + 32 || memcmp(p, MAGIC, sizeof MAGIC) != 0) {
        snprintf(err, errsize, "%s is not a bbreport model file", path);
        free(data);
        return BB_ERR_DATA;
    }
    char hex[65];
    unsigned char sum[32];
    e = bb_sha256_of(p, len - 32, hex);
    if (e != BB_OK) {
        free(data);
        return e;
    }
    hex_to_bytes(hex, sum);
    if (memcmp(sum, p + len - 32, 32) != 0) {
        snprintf(err, errsize, "%s is damaged: its checksum does not match its content", path);
        free(data);
        return BB_ERR_DATA;
    }
    reader file = {p + sizeof MAGIC, len - sizeof MAGIC - 32, false};
    uint32_t version = r_u32(&file);
    if (version != BB_MODEL_FILE_VERSION) {
        snprintf(err, errsize, "%s is a model file of version %u; this bbreport reads version %u", path,
                 (unsigned)version, BB_MODEL_FILE_VERSION);
        free(data);
        return BB_ERR_DATA;
    }

    reader s;
    bool ok = section(&file, "CONF", &s);
    if (ok) {
        uint32_t kind = r_u32(&s);
        out->model.kind = (bb_rec_kind)kind;
        out->top_n = r_u32(&s);
        out->k = r_u32(&s);
        out->seed = r_u64(&s);
        r_str(&s, out->loss, sizeof out->loss);
        r_str(&s, out->hidden, sizeof out->hidden);
        r_str(&s, out->repeatable_text, sizeof out->repeatable_text);
        r_str(&s, out->as_of, sizeof out->as_of);
        out->epochs = r_u32(&s);
        ok = !s.bad && kind < BB_REC__KINDS && out->top_n >= 1 && out->top_n <= 255;
    }
    if (ok && (ok = section(&file, "ITEM", &s))) {
        uint32_t n = r_u32(&s);
        ok = !s.bad && n >= 1 && n <= s.left / 4;
        if (ok) {
            out->n_items = n;
            out->model.n_items = n;
            out->item_ids = calloc(n, sizeof *out->item_ids);
            ok = out->item_ids != NULL;
            for (uint32_t j = 0; ok && j < n; j++)
                ok = (out->item_ids[j] = r_str(&s, NULL, 0)) != NULL;
        }
    }
    if (ok && (ok = section(&file, "REPT", &s))) {
        out->repeatable = malloc(out->n_items);
        ok = out->repeatable && r_need(&s, out->n_items);
        if (ok)
            memcpy(out->repeatable, s.p, out->n_items);
    }
    if (ok && (ok = section(&file, "POPU", &s))) {
        out->model.pop = malloc((size_t)out->n_items * sizeof *out->model.pop);
        ok = out->model.pop != NULL;
        if (ok)
            r_words(&s, out->model.pop, out->n_items);
        ok = ok && !s.bad;
    }
    if (ok && (ok = section(&file, "MODL", &s)))
        ok = read_model(&s, out);
    if (ok && (ok = section(&file, "RSNS", &s))) {
        bb_reasons *r = &out->reasons;
        size_t n = out->n_items;
        r->n_items = out->n_items;
        r->assoc_n = malloc(n * sizeof *r->assoc_n);
        r->assoc = malloc(n * BB_REASON_ASSOC * sizeof *r->assoc);
        ok = r->assoc_n && r->assoc;
        if (ok) {
            r_words(&s, r->assoc_n, n);
            r_words(&s, r->assoc, n * BB_REASON_ASSOC);
            r_words(&s, r->global_top, BB_REASON_TOP);
            r->n_segments = r_u32(&s);
            ok = !s.bad && r->n_segments <= s.left / (8 * BB_REASON_TOP);
        }
        if (ok) {
            size_t cells = (size_t)(r->n_segments ? r->n_segments : 1) * BB_REASON_TOP;
            r->seg_top = malloc(cells * sizeof *r->seg_top);
            r->seg_share = malloc(cells * sizeof *r->seg_share);
            ok = r->seg_top && r->seg_share;
            if (ok) {
                r_words(&s, r->seg_top, (size_t)r->n_segments * BB_REASON_TOP);
                r_words(&s, r->seg_share, (size_t)r->n_segments * BB_REASON_TOP);
            }
        }
        /* Every item index must be inside the catalogue. */
        for (size_t j = 0; ok && j < n; j++) {
            ok = r->assoc_n[j] <= BB_REASON_ASSOC;
            for (uint32_t a = 0; ok && a < r->assoc_n[j]; a++)
                ok = r->assoc[j * BB_REASON_ASSOC + a] < n;
        }
        for (size_t i = 0; ok && i < BB_REASON_TOP; i++)
            ok = r->global_top[i] == BB_UNKNOWN || r->global_top[i] < n;
        for (size_t i = 0; ok && i < (size_t)r->n_segments * BB_REASON_TOP; i++)
            ok = r->seg_top[i] == BB_UNKNOWN || r->seg_top[i] < n;
        ok = ok && !s.bad;
    }
    if (ok && (ok = section(&file, "SEGS", &s))) {
        out->n_segments = r_u32(&s);
        ok = !s.bad && out->n_segments == out->reasons.n_segments;
        if (ok && out->n_segments) {
            out->segment_names = calloc(out->n_segments, sizeof *out->segment_names);
            ok = out->segment_names != NULL;
            for (uint32_t g = 0; ok && g < out->n_segments; g++)
                ok = r_str(&s, out->segment_names[g], sizeof out->segment_names[g]) != NULL;
        }
        if (ok) {
            out->n_customers = r_u32(&s);
            ok = !s.bad && out->n_customers <= s.left / 8;
        }
        if (ok && out->n_customers) {
            out->customer_ids = calloc(out->n_customers, sizeof *out->customer_ids);
            out->customer_segment = malloc(out->n_customers * sizeof *out->customer_segment);
            ok = out->customer_ids && out->customer_segment;
            for (uint32_t c = 0; ok && c < out->n_customers; c++) {
                ok = (out->customer_ids[c] = r_str(&s, NULL, 0)) != NULL;
                if (ok)
                    r_words(&s, &out->customer_segment[c], 1);
                ok = ok && !s.bad && out->customer_segment[c] >= -1 &&
                     out->customer_segment[c] < (int32_t)out->n_segments;
                ok = ok && (c == 0 || strcmp(out->customer_ids[c - 1], out->customer_ids[c]) < 0);
            }
        }
    }
    ok = ok && !file.bad && file.left == 0;
    free(data);
    if (!ok) {
        snprintf(err, errsize, "%s is malformed: it passed its checksum but its content does not fit the format",
                 path);
        bb_model_file_free(out);
        return BB_ERR_DATA;
    }
    return BB_OK;
}

/* ---- from a run --------------------------------------------------------- */

typedef struct id_seg {
    const char *id;
    int32_t seg;
} id_seg;

static int cmp_id_seg(const void *a, const void *b)
{
    return strcmp(((const id_seg *)a)->id, ((const id_seg *)b)->id);
}

bb_err bb_recs_save_model(const bb_recs *r, const bb_dataset *ds, const char *path)
{
    const struct bb_rec_serving *sv = r->serving;
    if (!sv || ds->items.n != r->n_items || ds->customers.n != r->n_customers)
        return BB_ERR_INTERNAL;
    bb_model_file m;
    memset(&m, 0, sizeof m);
    m.model = sv->model;
    m.reasons = sv->reasons;
    m.repeatable = sv->repeatable;
    m.n_items = r->n_items;
    m.top_n = (uint32_t)r->top_n;
    m.k = (uint32_t)r->k;
    m.seed = r->seed;
    snprintf(m.loss, sizeof m.loss, "%s", r->loss);
    snprintf(m.hidden, sizeof m.hidden, "%s", r->hidden);
    snprintf(m.repeatable_text, sizeof m.repeatable_text, "%s", sv->repeatable_text);
    bb_date_format(r->as_of, m.as_of);
    m.epochs = (uint32_t)r->serve_epochs;
    m.n_segments = r->segment_of ? (uint32_t)r->n_segments : 0;
    m.segment_names = r->segment_names;

    /* The IDs are lent by the dataset; only the arrays are made here. */
    m.item_ids = malloc((r->n_items ? r->n_items : 1) * sizeof *m.item_ids);
    id_seg *cs = malloc((r->n_customers ? r->n_customers : 1) * sizeof *cs);
    char **cids = malloc((r->n_customers ? r->n_customers : 1) * sizeof *cids);
    int32_t *csegs = malloc((r->n_customers ? r->n_customers : 1) * sizeof *csegs);
    bb_err e = m.item_ids && cs && cids && csegs ? BB_OK : BB_ERR_NOMEM;
    if (e == BB_OK) {
        for (uint32_t j = 0; j < r->n_items; j++)
            m.item_ids[j] = (char *)bb_intern_str(ds->items.ids, j);
        /* Only customers in a segment are listed: the others read as -1 anyway. */
        uint32_t n = 0;
        for (uint32_t c = 0; c < r->n_customers && m.n_segments; c++)
            if (r->segment_of[c] >= 0)
                cs[n++] = (id_seg){bb_intern_str(ds->customers.ids, c), r->segment_of[c]};
        qsort(cs, n, sizeof *cs, cmp_id_seg);
        for (uint32_t c = 0; c < n; c++) {
            cids[c] = (char *)cs[c].id;
            csegs[c] = cs[c].seg;
        }
        m.n_customers = n;
        m.customer_ids = cids;
        m.customer_segment = csegs;
        e = bb_model_file_save(path, &m);
    }
    free(m.item_ids);
    free(cs);
    free(cids);
    free(csegs);
    return e;
}
