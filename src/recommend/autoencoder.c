/*
 * autoencoder.c - forward, backward and Adam for the denoising autoencoder.
 *
 * Parallel layout. A batch of B rows is cut into BB_AE_SHARDS fixed row
 * shards, and each step runs in four phases; threads take whole shards or
 * column blocks, and OpenBLAS is called single-threaded inside them (the
 * caller keeps openblas_set_num_threads(1) while training). Every sgemm call
 * and every reduction is the same whatever the thread count, so results
 * are bit-for-bit independent of it.
 *
 *   A  per shard: gather the input (input dropout), forward through every
 *      layer (ReLU, dropout), loss and dL/dz of the shard's rows;
 *   B  per column block of the output layer: dW_L = A_{L-1}^T dZ and db_L
 *      over the whole batch (one sgemm per block);
 *   C  per shard: backward from dZ through the hidden layers: the input
 *      gradient of each layer and the weight gradients of the middle layers
 *      (layers 1..L-2, small) into the shard's own buffer;
 *   D  per parameter range: middle-layer gradients summed over shards in
 *      shard order, L2 added to every weight, then Adam. Before D, one
 *      thread adds the first layer's sparse gradient, shard by shard, entry
 *      by entry (nnz x h0 multiply-adds).
 *
 * Workspace (capacity `cap` rows, shared by the shards as row slices):
 *   act[l]   cap x dim[l+1]: layer l's output after ReLU and dropout
 *            (act[L-1] = logits z, then overwritten by dL/dz);
 *   d0, d1   cap x widest hidden: the gradient flowing back, ping-pong;
 *            shards may be at different layers at once, so a shard's slice
 *            starts at r0 x widest whatever the layer's width;
 *   per shard: the kept input entries (row, item, value), its middle-layer
 *   gradients, its rows' losses.
 * A unit's dropout mask is not stored: after ReLU and inverted dropout, an
 * output above zero had mask 1 and passes 1/keep, an output of zero passes
 * no gradient (dropped, or ReLU inactive).
 */
#include "recommend/autoencoder.h"

#include <cblas.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "recommend/parallel.h"
#include "util/rng.h"

#define MAX_LAYERS (BB_AE_MAX_HIDDEN + 1)
#define ADAM_BETA1 0.9
#define ADAM_BETA2 0.999
#define ADAM_EPS 1e-8
/* Stream numbers of the random draws, apart from each other. */
#define STREAM_INIT 0x494e4954ULL
#define STREAM_SHUFFLE 0x53485546ULL
#define STREAM_MASKS 0x4d41534bULL
/* Parameter ranges of phase D and Adam: enough pieces for any thread count. */
#define PARAM_PIECES 64

typedef struct shard {
    size_t r0, r1;           /* rows of the current batch */
    size_t ent_cap, n_ent;
    uint32_t *ent_row, *ent_item;
    float *ent_val;
    float *mid_grads;        /* layers 1..L-2: [w_off[1], mid_end) */
    const float *d_first;    /* layer 0's gradient for the shard's rows (stride h0), after phase C */
    bb_rng masks;
    bool use_masks;
    bb_err e;
} shard;

struct bb_ae {
    bb_ae_opts o;
    int n_layers;
    int dim[MAX_LAYERS + 1];
    size_t w_off[MAX_LAYERS], b_off[MAX_LAYERS];
    size_t n_params, mid_begin, mid_end;
    float *params, *grads, *adam_m, *adam_v;
    long long adam_t;

    size_t cap;
    float *act[MAX_LAYERS];
    float *d0, *d1;
    int widest;              /* widest hidden layer: a shard's slice of d0/d1 starts at r0 * widest */
    double *row_loss;
    shard sh[BB_AE_SHARDS];

    uint32_t *order;         /* shuffled rows of the current epoch */
    size_t order_cap;
};

void bb_ae_defaults(bb_ae_opts *o, uint32_t n_items)
{
    memset(o, 0, sizeof *o);
    o->n_items = n_items;
    static const int hidden[] = {128, 64, 32, 64, 128};
    o->n_hidden = 5;
    memcpy(o->hidden, hidden, sizeof hidden);
    o->loss = BB_AE_MULTINOMIAL;
    o->dropout = 0.2f;
    o->input_dropout = 0.5f;
    o->l2 = 1e-3f;
    o->lr = 1e-3f;
    o->batch = 256;
    o->threads = 1;
    o->seed = 42;
}

int bb_ae_parse_hidden(const char *text, bb_ae_opts *o)
{
    int n = 0;
    const char *p = text;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > BB_AE_MAX_WIDTH || n == BB_AE_MAX_HIDDEN)
            return 0;
        o->hidden[n++] = (int)v;
        p = end;
        while (*p == ' ')
            p++;
        if (*p == ',') {
            p++;
            if (!*p)
                return 0;
        } else if (*p) {
            return 0;
        }
    }
    if (n == 0)
        return 0;
    o->n_hidden = n;
    return 1;
}

int bb_ae_parse_loss(const char *text)
{
    if (!text || !*text || strcmp(text, "multinomial") == 0)
        return BB_AE_MULTINOMIAL;
    if (strcmp(text, "bce") == 0)
        return BB_AE_BCE;
    if (strcmp(text, "mse") == 0)
        return BB_AE_MSE;
    return -1;
}

const char *bb_ae_loss_name(bb_ae_loss loss)
{
    switch (loss) {
    case BB_AE_BCE:
        return "bce";
    case BB_AE_MSE:
        return "mse";
    default:
        return "multinomial";
    }
}

static float *alloc_floats(size_t n)
{
    void *p = NULL;
    size_t bytes = (n ? n : 1) * sizeof(float);
    bytes = (bytes + 63) / 64 * 64;
    if (posix_memalign(&p, 64, bytes) != 0)
        return NULL;
    return p;
}

void bb_ae_free(bb_ae *ae)
{
    if (!ae)
        return;
    free(ae->params);
    free(ae->grads);
    free(ae->adam_m);
    free(ae->adam_v);
    for (int l = 0; l < ae->n_layers; l++)
        free(ae->act[l]);
    free(ae->d0);
    free(ae->d1);
    free(ae->row_loss);
    for (int s = 0; s < BB_AE_SHARDS; s++) {
        free(ae->sh[s].ent_row);
        free(ae->sh[s].ent_item);
        free(ae->sh[s].ent_val);
        free(ae->sh[s].mid_grads);
    }
    free(ae->order);
    free(ae);
}

const bb_ae_opts *bb_ae_options(const bb_ae *ae)
{
    return &ae->o;
}

int bb_ae_layers(const bb_ae *ae)
{
    return ae->n_layers;
}

const int *bb_ae_dims(const bb_ae *ae)
{
    return ae->dim;
}

float *bb_ae_params(bb_ae *ae, size_t *count)
{
    if (count)
        *count = ae->n_params;
    return ae->params;
}

const float *bb_ae_grads(const bb_ae *ae)
{
    return ae->grads;
}

size_t bb_ae_weight_offset(const bb_ae *ae, int l)
{
    return ae->w_off[l];
}

size_t bb_ae_bias_offset(const bb_ae *ae, int l)
{
    return ae->b_off[l];
}

double bb_ae_train_flops(const bb_ae *ae, double nnz)
{
    /* Dense layers: forward 2mn, backward 2mn for the weights and 2mn for
     * the input gradient. The sparse first layer: 2 nnz h0 forward and the
     * same again for its weight gradient (it needs no input gradient). */
    double dense = 0;
    for (int l = 1; l < ae->n_layers; l++)
        dense += 2.0 * ae->dim[l] * ae->dim[l + 1];
    return 3.0 * dense + 4.0 * nnz * ae->dim[1];
}

static bb_err ensure_workspace(bb_ae *ae, size_t rows)
{
    if (rows <= ae->cap)
        return BB_OK;
    int widest = 0;
    for (int l = 1; l < ae->n_layers; l++)
        if (ae->dim[l] > widest)
            widest = ae->dim[l];
    for (int l = 0; l < ae->n_layers; l++) {
        free(ae->act[l]);
        ae->act[l] = alloc_floats(rows * (size_t)ae->dim[l + 1]);
    }
    free(ae->d0);
    free(ae->d1);
    free(ae->row_loss);
    ae->d0 = alloc_floats(rows * (size_t)widest);
    ae->d1 = alloc_floats(rows * (size_t)widest);
    ae->widest = widest;
    ae->row_loss = malloc(rows * sizeof *ae->row_loss);
    bool ok = ae->d0 && ae->d1 && ae->row_loss;
    for (int l = 0; l < ae->n_layers; l++)
        ok = ok && ae->act[l];
    ae->cap = ok ? rows : 0;
    return ok ? BB_OK : BB_ERR_NOMEM;
}

bb_err bb_ae_new(const bb_ae_opts *o, bb_ae **out)
{
    *out = NULL;
    if (o->n_items < 1 || o->n_hidden < 1 || o->n_hidden > BB_AE_MAX_HIDDEN || o->batch < 1 ||
        o->dropout < 0 || o->dropout >= 1 || o->input_dropout < 0 || o->input_dropout >= 1 ||
        !(o->lr > 0) || o->l2 < 0 || (int)o->loss < 0 || o->loss > BB_AE_MSE)
        return BB_ERR_CONFIG;
    for (int i = 0; i < o->n_hidden; i++)
        if (o->hidden[i] < 1 || o->hidden[i] > BB_AE_MAX_WIDTH)
            return BB_ERR_CONFIG;
    bb_ae *ae = calloc(1, sizeof *ae);
    if (!ae)
        return BB_ERR_NOMEM;
    ae->o = *o;
    ae->n_layers = o->n_hidden + 1;
    ae->dim[0] = (int)o->n_items;
    for (int i = 0; i < o->n_hidden; i++)
        ae->dim[i + 1] = o->hidden[i];
    ae->dim[ae->n_layers] = (int)o->n_items;
    size_t off = 0;
    for (int l = 0; l < ae->n_layers; l++) {
        ae->w_off[l] = off;
        off += (size_t)ae->dim[l] * (size_t)ae->dim[l + 1];
        ae->b_off[l] = off;
        off += (size_t)ae->dim[l + 1];
    }
    ae->n_params = off;
    ae->mid_begin = ae->w_off[1];
    ae->mid_end = ae->w_off[ae->n_layers - 1];
    ae->params = alloc_floats(off);
    ae->grads = alloc_floats(off);
    ae->adam_m = alloc_floats(off);
    ae->adam_v = alloc_floats(off);
    bool ok = ae->params && ae->grads && ae->adam_m && ae->adam_v;
    for (int s = 0; s < BB_AE_SHARDS && ok; s++) {
        ae->sh[s].mid_grads = alloc_floats(ae->mid_end - ae->mid_begin);
        ok = ae->sh[s].mid_grads != NULL;
    }
    if (!ok || ensure_workspace(ae, (size_t)o->batch) != BB_OK) {
        bb_ae_free(ae);
        return BB_ERR_NOMEM;
    }
    memset(ae->grads, 0, off * sizeof(float));
    memset(ae->adam_m, 0, off * sizeof(float));
    memset(ae->adam_v, 0, off * sizeof(float));

    /* Glorot & Bengio (2010) uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)). */
    bb_rng r;
    bb_rng_seed(&r, o->seed, STREAM_INIT);
    for (int l = 0; l < ae->n_layers; l++) {
        double a = sqrt(6.0 / (ae->dim[l] + ae->dim[l + 1]));
        size_t n = (size_t)ae->dim[l] * (size_t)ae->dim[l + 1];
        float *w = ae->params + ae->w_off[l];
        for (size_t i = 0; i < n; i++)
            w[i] = (float)((2.0 * bb_rng_uniform(&r) - 1.0) * a);
        memset(ae->params + ae->b_off[l], 0, (size_t)ae->dim[l + 1] * sizeof(float));
    }
    *out = ae;
    return BB_OK;
}

/* exp(x) for x <= 0 (a softmax after subtracting the row maximum), written so
 * the compiler vectorises the loops that call it: 2^n * p(r) with
 * n = ceil(x / ln2 - 1/2), r = x - n ln2 in two parts (Cody & Waite), p the
 * degree-7 polynomial of Cephes' expf (relative error below 2e-7 for
 * |r| <= ln2 / 2). x is clamped at -87, where exp is 1.6e-38 and 2^n stays
 * a normal float. */
static inline float exp_nonpositive(float x)
{
    x = x < -87.0f ? -87.0f : x;
    int n = (int)(x * 1.44269504088896341f - 0.5f);
    float fn = (float)n;
    float r = x - fn * 0.693359375f - fn * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = (n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* Whether a unit is kept: 32 random bits against keep * 2^32. */
static inline bool keep_unit(bb_rng *r, uint64_t *bits, int *left, uint32_t threshold)
{
    if (*left == 0) {
        *bits = bb_rng_next(r);
        *left = 2;
    }
    uint32_t u = (uint32_t)*bits;
    *bits >>= 32;
    (*left)--;
    return u < threshold;
}

static uint32_t keep_threshold(float keep)
{
    double t = (double)keep * 4294967296.0;
    return t >= 4294967295.0 ? UINT32_MAX : (uint32_t)t;
}

/* Maximum and sum of a row over LANES interleaved lanes, written out so the
 * compiler can vectorise them without reordering anything itself: the
 * result is the same on every machine and for every thread count. */
#define LANES 8

static float row_max(const float *z, size_t n)
{
    float m[LANES];
    for (int j = 0; j < LANES; j++)
        m[j] = z[0];
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++)
            m[j] = z[i + j] > m[j] ? z[i + j] : m[j];
    float best = m[0];
    for (int j = 1; j < LANES; j++)
        best = m[j] > best ? m[j] : best;
    for (; i < n; i++)
        best = z[i] > best ? z[i] : best;
    return best;
}

static double row_sum(const float *z, size_t n)
{
    float s[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++)
            s[j] += z[i + j];
    double sum = 0;
    for (int j = 0; j < LANES; j++)
        sum += s[j];
    for (; i < n; i++)
        sum += z[i];
    return sum;
}

/* Collects a shard's input entries: value 1/||x|| (the row L2-normalised),
 * and with masks each item kept with probability keep and scaled by 1/keep. */
static bb_err gather_input(bb_ae *ae, shard *sh, const bb_csr *x, const uint32_t *rows)
{
    size_t total = 0;
    for (size_t r = sh->r0; r < sh->r1; r++)
        total += bb_csr_row_len(x, rows[r]);
    if (total > sh->ent_cap) {
        size_t cap = total + total / 2 + 64;
        uint32_t *er = realloc(sh->ent_row, cap * sizeof *er);
        if (er)
            sh->ent_row = er;
        uint32_t *ei = realloc(sh->ent_item, cap * sizeof *ei);
        if (ei)
            sh->ent_item = ei;
        float *ev = realloc(sh->ent_val, cap * sizeof *ev);
        if (ev)
            sh->ent_val = ev;
        if (!er || !ei || !ev)
            return BB_ERR_NOMEM;
        sh->ent_cap = cap;
    }
    float keep = 1.0f - ae->o.input_dropout;
    size_t k = 0;
    uint64_t bits = 0;
    int left = 0;
    uint32_t threshold = keep_threshold(keep);
    for (size_t r = sh->r0; r < sh->r1; r++) {
        size_t b = x->ptr[rows[r]], e = x->ptr[rows[r] + 1];
        if (e == b)
            continue;
        float v = (float)(1.0 / sqrt((double)(e - b)));
        if (sh->use_masks)
            v /= keep;
        for (size_t i = b; i < e; i++) {
            if (sh->use_masks && !keep_unit(&sh->masks, &bits, &left, threshold))
                continue;
            sh->ent_row[k] = (uint32_t)r;
            sh->ent_item[k] = x->col[i];
            sh->ent_val[k] = v;
            k++;
        }
    }
    sh->n_ent = k;
    return BB_OK;
}

/* ReLU, then (training) inverted dropout with masks drawn in row order. */
static void activate(float *a, size_t n, shard *sh, float keep)
{
    if (!sh->use_masks) {
        for (size_t i = 0; i < n; i++)
            a[i] = a[i] < 0 ? 0 : a[i];
        return;
    }
    float scale = 1.0f / keep;
    uint64_t bits = 0;
    int left = 0;
    uint32_t threshold = keep_threshold(keep);
    for (size_t i = 0; i < n; i++) {
        bool kept = keep_unit(&sh->masks, &bits, &left, threshold);
        a[i] = !kept || a[i] < 0 ? 0 : a[i] * scale;
    }
}

/* Forward pass of the shard's rows; logits into out (batch rows x n_items,
 * the shard writes its own rows). */
static bb_err forward_shard(bb_ae *ae, shard *sh, const bb_csr *x, const uint32_t *rows, float *out)
{
    int L = ae->n_layers;
    float keep = 1.0f - ae->o.dropout;
    bb_err e = gather_input(ae, sh, x, rows);
    if (e != BB_OK)
        return e;
    size_t n = sh->r1 - sh->r0;
    size_t h0 = (size_t)ae->dim[1];
    float *a = ae->act[0] + sh->r0 * h0;
    const float *b0 = ae->params + ae->b_off[0], *w0 = ae->params + ae->w_off[0];
    for (size_t r = 0; r < n; r++)
        memcpy(a + r * h0, b0, h0 * sizeof(float));
    for (size_t k = 0; k < sh->n_ent; k++) {
        float *dst = ae->act[0] + (size_t)sh->ent_row[k] * h0;
        const float *src = w0 + (size_t)sh->ent_item[k] * h0;
        float v = sh->ent_val[k];
        for (size_t j = 0; j < h0; j++)
            dst[j] += v * src[j];
    }
    activate(a, n * h0, sh, keep);
    for (int l = 1; l < L; l++) {
        size_t m = (size_t)ae->dim[l], nn = (size_t)ae->dim[l + 1];
        float *y = (l == L - 1 ? out : ae->act[l]) + sh->r0 * nn;
        const float *bias = ae->params + ae->b_off[l];
        for (size_t r = 0; r < n; r++)
            memcpy(y + r * nn, bias, nn * sizeof(float));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)nn, (int)m, 1.0f,
                    ae->act[l - 1] + sh->r0 * m, (int)m, ae->params + ae->w_off[l], (int)nn, 1.0f, y, (int)nn);
        if (l < L - 1)
            activate(y, n * nn, sh, keep);
    }
    return BB_OK;
}

double bb_ae_row_loss(bb_ae_loss kind, float *z, size_t n_items, const uint32_t *items, size_t s, bool grad,
                      float inv_n)
{
    double loss = 0;
    switch (kind) {
    case BB_AE_MULTINOMIAL: {
        /* -sum_{i in x} log softmax(z)_i = s * logsumexp(z) - sum_{i in x} z_i;
         * z is overwritten by exp(z - max), then (grad) by the gradient. */
        double picked = 0;
        for (size_t k = 0; k < s; k++)
            picked += z[items[k]];
        float zmax = row_max(z, n_items);
        for (size_t i = 0; i < n_items; i++)
            z[i] = exp_nonpositive(z[i] - zmax);
        double sum = row_sum(z, n_items);
        loss = (double)s * ((double)zmax + log(sum)) - picked;
        if (grad) {
            /* d/dz = s * softmax(z) - x */
            float scale = (float)((double)s / sum) * inv_n;
            for (size_t i = 0; i < n_items; i++)
                z[i] *= scale;
            for (size_t k = 0; k < s; k++)
                z[items[k]] -= inv_n;
        }
        break;
    }
    case BB_AE_BCE: {
        /* softplus(z) - x z, computed as max(z,0) - x z + log1p(exp(-|z|)) */
        size_t k = 0;
        for (size_t i = 0; i < n_items; i++) {
            double zi = z[i];
            bool pos = k < s && items[k] == i;
            if (pos)
                k++;
            loss += (zi > 0 ? zi : 0) - (pos ? zi : 0) + log1p(exp(-fabs(zi)));
            if (grad) {
                double sig = zi >= 0 ? 1.0 / (1.0 + exp(-zi)) : exp(zi) / (1.0 + exp(zi));
                z[i] = (float)((sig - (pos ? 1.0 : 0.0)) * inv_n);
            }
        }
        break;
    }
    case BB_AE_MSE: {
        size_t k = 0;
        for (size_t i = 0; i < n_items; i++) {
            bool pos = k < s && items[k] == i;
            if (pos)
                k++;
            double diff = (double)z[i] - (pos ? 1.0 : 0.0);
            loss += diff * diff;
            if (grad)
                z[i] = (float)(2.0 * diff * inv_n);
        }
        break;
    }
    }
    return loss;
}

static double l2_penalty(const bb_ae *ae)
{
    double sum = 0;
    for (int l = 0; l < ae->n_layers; l++) {
        const float *w = ae->params + ae->w_off[l];
        size_t n = (size_t)ae->dim[l] * (size_t)ae->dim[l + 1];
        for (size_t i = 0; i < n; i++)
            sum += (double)w[i] * w[i];
    }
    return 0.5 * ae->o.l2 * sum;
}

/* ---- one step ----------------------------------------------------------- */

typedef struct step_ctx {
    bb_ae *ae;
    const bb_csr *x;
    const uint32_t *rows;
    size_t n;
    bool grad;
    bool adam;
    float *out;            /* logits (inference) or act[L-1] */
    float step, b1, b2, eps;
} step_ctx;

/* Phase A: forward and loss of one shard. */
static void phase_forward(void *arg, size_t begin, size_t end)
{
    step_ctx *c = arg;
    bb_ae *ae = c->ae;
    for (size_t s = begin; s < end; s++) {
        shard *sh = &ae->sh[s];
        if (sh->r1 == sh->r0)
            continue;
        sh->e = forward_shard(ae, sh, c->x, c->rows, c->out);
        if (sh->e != BB_OK || !c->out || c->out != ae->act[ae->n_layers - 1])
            continue;
        float inv_n = 1.0f / (float)c->n;
        for (size_t r = sh->r0; r < sh->r1; r++) {
            const uint32_t *items = c->x->col + c->x->ptr[c->rows[r]];
            size_t cnt = bb_csr_row_len(c->x, c->rows[r]);
            float *z = c->out + r * (size_t)ae->o.n_items;
            ae->row_loss[r] = bb_ae_row_loss(ae->o.loss, z, ae->o.n_items, items, cnt, c->grad, inv_n);
        }
    }
}

/* Phase B: the output layer's weight and bias gradients, one column block
 * per index (BB_AE_SHARDS blocks). */
static void phase_output(void *arg, size_t begin, size_t end)
{
    step_ctx *c = arg;
    bb_ae *ae = c->ae;
    int L = ae->n_layers;
    size_t m = (size_t)ae->dim[L - 1], n_items = ae->o.n_items;
    const float *dz = ae->act[L - 1], *a = ae->act[L - 2];
    float *gw = ae->grads + ae->w_off[L - 1], *gb = ae->grads + ae->b_off[L - 1];
    for (size_t blk = begin; blk < end; blk++) {
        size_t c0 = n_items * blk / BB_AE_SHARDS, c1 = n_items * (blk + 1) / BB_AE_SHARDS;
        if (c1 == c0)
            continue;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)(c1 - c0), (int)c->n, 1.0f, a,
                    (int)m, dz + c0, (int)n_items, 0.0f, gw + c0, (int)n_items);
        for (size_t j = c0; j < c1; j++)
            gb[j] = 0;
        for (size_t r = 0; r < c->n; r++) {
            const float *dr = dz + r * n_items;
            for (size_t j = c0; j < c1; j++)
                gb[j] += dr[j];
        }
    }
}

/* Phase C: backward through the hidden layers for one shard. */
static void phase_backward(void *arg, size_t begin, size_t end)
{
    step_ctx *c = arg;
    bb_ae *ae = c->ae;
    int L = ae->n_layers;
    float inv_keep = 1.0f / (1.0f - ae->o.dropout);
    for (size_t s = begin; s < end; s++) {
        shard *sh = &ae->sh[s];
        size_t n = sh->r1 - sh->r0;
        if (n == 0)
            continue;
        const float *dl = ae->act[L - 1] + sh->r0 * (size_t)ae->dim[L];
        float *next = ae->d0;
        size_t slice = sh->r0 * (size_t)ae->widest;
        for (int l = L - 1; l >= 1; l--) {
            size_t m = (size_t)ae->dim[l], nn = (size_t)ae->dim[l + 1];
            const float *a_in = ae->act[l - 1] + sh->r0 * m;
            if (l < L - 1) {
                float *gw = sh->mid_grads + (ae->w_off[l] - ae->mid_begin);
                float *gb = sh->mid_grads + (ae->b_off[l] - ae->mid_begin);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)nn, (int)n, 1.0f, a_in, (int)m,
                            dl, (int)nn, 0.0f, gw, (int)nn);
                for (size_t j = 0; j < nn; j++)
                    gb[j] = 0;
                for (size_t r = 0; r < n; r++)
                    for (size_t j = 0; j < nn; j++)
                        gb[j] += dl[r * nn + j];
            }
            float *nx = next + slice;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)m, (int)nn, 1.0f, dl, (int)nn,
                        ae->params + ae->w_off[l], (int)nn, 0.0f, nx, (int)m);
            /* Through ReLU and dropout (see the top of the file). */
            float scale = sh->use_masks ? inv_keep : 1.0f;
            for (size_t i = 0; i < n * m; i++)
                nx[i] = a_in[i] > 0 ? nx[i] * scale : 0.0f;
            dl = nx;
            next = next == ae->d0 ? ae->d1 : ae->d0;
        }
        sh->d_first = dl;
    }
}

/* Phase D: middle-layer sums, L2 on every weight, then (adam) the update. */
static void phase_params(void *arg, size_t begin, size_t end)
{
    step_ctx *c = arg;
    bb_ae *ae = c->ae;
    size_t np = ae->n_params;
    for (size_t piece = begin; piece < end; piece++) {
        size_t i0 = np * piece / PARAM_PIECES, i1 = np * (piece + 1) / PARAM_PIECES;
        float *g = ae->grads;
        /* Middle layers: the shards' sums, in shard order. */
        size_t m0 = i0 > ae->mid_begin ? i0 : ae->mid_begin, m1 = i1 < ae->mid_end ? i1 : ae->mid_end;
        for (size_t i = m0; i < m1; i++)
            g[i] = 0;
        for (int s = 0; s < BB_AE_SHARDS; s++) {
            if (ae->sh[s].r1 == ae->sh[s].r0)
                continue;
            const float *sg = ae->sh[s].mid_grads - ae->mid_begin;
            for (size_t i = m0; i < m1; i++)
                g[i] += sg[i];
        }
        /* L2: d/dW (l2/2)|W|^2 = l2 W, on the weights only. */
        for (int l = 0; l < ae->n_layers; l++) {
            size_t w0 = ae->w_off[l], w1 = ae->b_off[l];
            size_t a = i0 > w0 ? i0 : w0, b = i1 < w1 ? i1 : w1;
            const float *w = ae->params;
            float l2 = ae->o.l2;
            for (size_t i = a; i < b; i++)
                g[i] += l2 * w[i];
        }
        if (!c->adam)
            continue;
        float *p = ae->params, *m = ae->adam_m, *v = ae->adam_v;
        float b1 = c->b1, b2 = c->b2, step = c->step, eps = c->eps;
        for (size_t i = i0; i < i1; i++) {
            m[i] = b1 * m[i] + (1.0f - b1) * g[i];
            v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
            p[i] -= step * m[i] / (sqrtf(v[i]) + eps);
        }
    }
}

/* The first layer's gradient: bias = column sums of d0, weights = the
 * sparse input entries' outer products, shard by shard (phase D adds L2). */
static void first_layer_grads(bb_ae *ae)
{
    size_t h0 = (size_t)ae->dim[1];
    float *gw = ae->grads + ae->w_off[0], *gb = ae->grads + ae->b_off[0];
    memset(gw, 0, (size_t)ae->dim[0] * h0 * sizeof(float));
    for (size_t j = 0; j < h0; j++)
        gb[j] = 0;
    for (int s = 0; s < BB_AE_SHARDS; s++) {
        const shard *sh = &ae->sh[s];
        if (sh->r1 == sh->r0)
            continue;
        const float *d = sh->d_first;
        for (size_t r = 0; r < sh->r1 - sh->r0; r++)
            for (size_t j = 0; j < h0; j++)
                gb[j] += d[r * h0 + j];
        for (size_t k = 0; k < sh->n_ent; k++) {
            float *g = gw + (size_t)sh->ent_item[k] * h0;
            const float *dr = d + (size_t)(sh->ent_row[k] - sh->r0) * h0;
            float v = sh->ent_val[k];
            for (size_t j = 0; j < h0; j++)
                g[j] += v * dr[j];
        }
    }
}

/* Cuts rows[0..n) into the shards and seeds their masks (stream NULL: no
 * dropout). */
static void assign_shards(bb_ae *ae, size_t n, const uint64_t *stream)
{
    for (int s = 0; s < BB_AE_SHARDS; s++) {
        shard *sh = &ae->sh[s];
        sh->r0 = n * (size_t)s / BB_AE_SHARDS;
        sh->r1 = n * (size_t)(s + 1) / BB_AE_SHARDS;
        sh->n_ent = 0;
        sh->e = BB_OK;
        sh->use_masks = stream != NULL;
        if (stream)
            bb_rng_seed(&sh->masks, ae->o.seed, STREAM_MASKS ^ (*stream * BB_AE_SHARDS + (uint64_t)s) << 8);
    }
}

static bb_err shards_error(const bb_ae *ae)
{
    for (int s = 0; s < BB_AE_SHARDS; s++)
        if (ae->sh[s].e != BB_OK)
            return ae->sh[s].e;
    return BB_OK;
}

/* One batch (n <= workspace rows): forward and loss; with grad the full
 * gradient into ae->grads; with adam also the update. */
static bb_err batch_step(bb_ae *ae, const bb_csr *x, const uint32_t *rows, size_t n, uint64_t stream, bool grad,
                         bool adam, double *data_loss)
{
    bb_err e = ensure_workspace(ae, n);
    if (e != BB_OK)
        return e;
    int L = ae->n_layers;
    int threads = ae->o.threads;
    step_ctx c = {.ae = ae, .x = x, .rows = rows, .n = n, .grad = grad, .adam = adam, .out = ae->act[L - 1]};
    assign_shards(ae, n, &stream);
    bb_rec_par_for(threads, BB_AE_SHARDS, phase_forward, &c);
    if ((e = shards_error(ae)) != BB_OK)
        return e;
    double sum = 0;
    for (size_t r = 0; r < n; r++)
        sum += ae->row_loss[r];
    *data_loss = sum / (double)n;
    if (!grad)
        return BB_OK;
    bb_rec_par_for(threads, BB_AE_SHARDS, phase_output, &c);
    bb_rec_par_for(threads, BB_AE_SHARDS, phase_backward, &c);
    first_layer_grads(ae);
    if (adam) {
        ae->adam_t++;
        double c1 = 1.0 - pow(ADAM_BETA1, (double)ae->adam_t);
        double c2 = 1.0 - pow(ADAM_BETA2, (double)ae->adam_t);
        /* Bias corrections folded into the step size, as at the end of section 2 of
         * Kingma & Ba: lr_t = lr sqrt(1 - b2^t) / (1 - b1^t), eps scaled alike. */
        c.step = (float)(ae->o.lr * sqrt(c2) / c1);
        c.b1 = (float)ADAM_BETA1;
        c.b2 = (float)ADAM_BETA2;
        c.eps = (float)(ADAM_EPS * sqrt(c2));
    }
    bb_rec_par_for(threads, PARAM_PIECES, phase_params, &c);
    return BB_OK;
}

bb_err bb_ae_batch_grad(bb_ae *ae, const bb_csr *x, const uint32_t *rows, size_t n, uint64_t stream,
                        double *loss)
{
    double data = 0;
    bb_err e = batch_step(ae, x, rows, n, stream, true, false, &data);
    *loss = data + l2_penalty(ae);
    return e;
}

bb_err bb_ae_batch_loss(bb_ae *ae, const bb_csr *x, const uint32_t *rows, size_t n, uint64_t stream,
                        double *loss)
{
    double data = 0;
    bb_err e = batch_step(ae, x, rows, n, stream, false, false, &data);
    *loss = data + l2_penalty(ae);
    return e;
}

bb_err bb_ae_train_epoch(bb_ae *ae, const bb_csr *x, const uint32_t *rows, size_t n, size_t max_rows,
                         uint64_t epoch, double *mean_loss)
{
    *mean_loss = 0;
    if (n > ae->order_cap) {
        uint32_t *o = realloc(ae->order, n * sizeof *o);
        if (!o)
            return BB_ERR_NOMEM;
        ae->order = o;
        ae->order_cap = n;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (bb_csr_row_len(x, rows[i]) > 0)
            ae->order[m++] = rows[i];
    /* Fisher-Yates shuffle from the epoch's stream. */
    bb_rng r;
    bb_rng_seed(&r, ae->o.seed, STREAM_SHUFFLE + epoch);
    for (size_t i = m; i > 1; i--) {
        size_t j = (size_t)bb_rng_below(&r, i);
        uint32_t t = ae->order[i - 1];
        ae->order[i - 1] = ae->order[j];
        ae->order[j] = t;
    }
    if (max_rows && m > max_rows)
        m = max_rows;
    double total = 0;
    size_t batch = (size_t)ae->o.batch;
    for (size_t b = 0, k = 0; b < m; b += batch, k++) {
        size_t nb = m - b < batch ? m - b : batch;
        double data;
        /* Mask streams named by (epoch, batch). */
        bb_err e = batch_step(ae, x, ae->order + b, nb, (epoch << 32) | k, true, true, &data);
        if (e != BB_OK)
            return e;
        total += data * (double)nb;
    }
    *mean_loss = m ? total / (double)m : 0;
    return BB_OK;
}

bb_err bb_ae_scores(bb_ae *ae, const bb_csr *x, const uint32_t *rows, size_t n, float *out)
{
    size_t step = ae->cap;
    for (size_t b = 0; b < n; b += step) {
        size_t nb = n - b < step ? n - b : step;
        /* out + b * n_items receives rows b.., the shards write their slices of it. */
        step_ctx c = {.ae = ae, .x = x, .rows = rows + b, .n = nb, .out = out + b * (size_t)ae->o.n_items};
        assign_shards(ae, nb, NULL);
        bb_rec_par_for(ae->o.threads, BB_AE_SHARDS, phase_forward, &c);
        bb_err e = shards_error(ae);
        if (e != BB_OK)
            return e;
    }
    return BB_OK;
}
