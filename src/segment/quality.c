#include "segment/quality.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "segment/kmeans.h"
#include "segment/parallel.h"
#include "util/rng.h"

#define SIL_BLOCK 64

bb_err bb_quality_sample(size_t n, size_t m, uint64_t seed, uint64_t stream, uint32_t **idx)
{
    *idx = NULL;
    if (m > n)
        m = n;
    if (n > UINT32_MAX)
        return BB_ERR_NOMEM;
    uint32_t *out = malloc((m ? m : 1) * sizeof *out);
    if (!out)
        return BB_ERR_NOMEM;
    bb_rng rng;
    bb_rng_seed(&rng, seed, stream);
    size_t got = 0;
    for (size_t i = 0; i < n && got < m; i++) {
        /* Take i with probability (still needed) / (still left). */
        if ((double)(n - i) * bb_rng_uniform(&rng) < (double)(m - got))
            out[got++] = (uint32_t)i;
    }
    *idx = out;
    return BB_OK;
}

bb_err bb_quality_scores(const double *x, size_t n, size_t f, const int32_t *labels, int k,
                         double *davies_bouldin, double *calinski_harabasz)
{
    *davies_bouldin = NAN;
    *calinski_harabasz = NAN;
    if (k < 1 || n == 0 || f == 0)
        return BB_OK;
    double *cent = calloc((size_t)k * f, sizeof *cent);
    double *intra = calloc((size_t)k, sizeof *intra);
    double *mean = calloc(f, sizeof *mean);
    int64_t *count = calloc((size_t)k, sizeof *count);
    if (!cent || !intra || !mean || !count) {
        free(cent);
        free(intra);
        free(mean);
        free(count);
        return BB_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const double *xi = x + i * f;
        double *c = cent + (size_t)labels[i] * f;
        for (size_t d = 0; d < f; d++) {
            c[d] += xi[d];
            mean[d] += xi[d];
        }
        count[labels[i]]++;
    }
    int used = 0;
    for (int j = 0; j < k; j++) {
        if (count[j] == 0)
            continue;
        used++;
        for (size_t d = 0; d < f; d++)
            cent[(size_t)j * f + d] /= (double)count[j];
    }
    for (size_t d = 0; d < f; d++)
        mean[d] /= (double)n;
    double within = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d2 = bb_kmeans_dist_sq(x + i * f, cent + (size_t)labels[i] * f, f);
        within += d2;
        intra[labels[i]] += sqrt(d2);
    }
    if (used >= 2 && (size_t)used < n) {
        double between = 0.0;
        for (int j = 0; j < k; j++)
            if (count[j] > 0)
                between += (double)count[j] * bb_kmeans_dist_sq(cent + (size_t)j * f, mean, f);
        *calinski_harabasz =
            within == 0.0 ? 1.0 : between * (double)(n - (size_t)used) / (within * (double)(used - 1));

        bool intra_zero = true, cent_zero = true;
        for (int j = 0; j < k; j++) {
            if (count[j] == 0)
                continue;
            intra[j] /= (double)count[j];
            /* numpy.allclose(v, 0): |v| <= 1e-8 */
            if (fabs(intra[j]) > 1e-8)
                intra_zero = false;
        }
        double sum = 0.0;
        for (int i = 0; i < k; i++) {
            if (count[i] == 0)
                continue;
            double worst = 0.0;
            for (int j = 0; j < k; j++) {
                if (j == i || count[j] == 0)
                    continue;
                double d = sqrt(bb_kmeans_dist_sq(cent + (size_t)i * f, cent + (size_t)j * f, f));
                if (d > 1e-8)
                    cent_zero = false;
                if (d == 0.0)
                    continue;
                double r = (intra[i] + intra[j]) / d;
                if (r > worst)
                    worst = r;
            }
            sum += worst;
        }
        *davies_bouldin = intra_zero || cent_zero ? 0.0 : sum / (double)used;
    }
    free(cent);
    free(intra);
    free(mean);
    free(count);
    return BB_OK;
}

/* ---- silhouette -------------------------------------------------------- */

/* Per block of SIL_BLOCK rows: D = distances to all m points (dgemm on
 * -2 x.y, plus norms, clamped, square-rooted), then S = D H with H the
 * m x K one-hot matrix of every labelling side by side (K = sum of the k):
 * S[r][off_l + q] is the sum of distances from row r to cluster q of
 * labelling l, the a and b of the silhouette before dividing by sizes. */
typedef struct sil_ctx {
    const double *x;
    size_t m, f;
    const int32_t *const *labels;
    const int *ks;
    size_t nl;
    size_t ktot;              /* columns of H */
    const size_t *off;        /* first column of labelling l */
    const double *onehot;     /* m x ktot */
    const double *norms;      /* |x_i|^2 */
    const int64_t *counts;    /* ktot: cluster sizes */
    double *s;                /* nl x m: per-point silhouette */
    double **dist;            /* per worker: SIL_BLOCK x m */
    double **sums;            /* per worker: SIL_BLOCK x ktot */
} sil_ctx;

static void sil_block(void *vctx, size_t job, int worker)
{
    sil_ctx *c = vctx;
    size_t r0 = job * SIL_BLOCK;
    size_t rows = c->m - r0 < SIL_BLOCK ? c->m - r0 : SIL_BLOCK;
    double *D = c->dist[worker], *S = c->sums[worker];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)rows, (blasint)c->m, (blasint)c->f, -2.0,
                c->x + r0 * c->f, (blasint)c->f, c->x, (blasint)c->f, 0.0, D, (blasint)c->m);
    for (size_t r = 0; r < rows; r++) {
        double *row = D + r * c->m;
        double ni = c->norms[r0 + r];
        for (size_t j = 0; j < c->m; j++) {
            double d2 = row[j] + ni + c->norms[j];
            row[j] = d2 > 0.0 ? sqrt(d2) : 0.0;
        }
        row[r0 + r] = 0.0;
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)rows, (blasint)c->ktot, (blasint)c->m, 1.0, D,
                (blasint)c->m, c->onehot, (blasint)c->ktot, 0.0, S, (blasint)c->ktot);
    for (size_t l = 0; l < c->nl; l++) {
        const int64_t *cnt = c->counts + c->off[l];
        int k = c->ks[l];
        for (size_t r = 0; r < rows; r++) {
            const double *sums = S + r * c->ktot + c->off[l];
            size_t i = r0 + r;
            int own = c->labels[l][i];
            double s = 0.0;
            if (cnt[own] > 1) {
                double a = sums[own] / (double)(cnt[own] - 1);
                double b = INFINITY;
                for (int q = 0; q < k; q++)
                    if (q != own && cnt[q] > 0 && sums[q] / (double)cnt[q] < b)
                        b = sums[q] / (double)cnt[q];
                double mx = a > b ? a : b;
                s = isfinite(b) && mx > 0.0 ? (b - a) / mx : 0.0;
            }
            c->s[l * c->m + i] = s;
        }
    }
}

bb_err bb_quality_silhouette(const double *x, size_t m, size_t f, const int32_t *const *labels,
                             const int *ks, size_t nl, int threads, double *out)
{
    for (size_t l = 0; l < nl; l++)
        out[l] = NAN;
    if (nl == 0 || m < 2 || f == 0)
        return BB_OK;
    sil_ctx c = {.x = x, .m = m, .f = f, .labels = labels, .ks = ks, .nl = nl};
    size_t *off = malloc(nl * sizeof *off);
    if (!off)
        return BB_ERR_NOMEM;
    for (size_t l = 0; l < nl; l++) {
        off[l] = c.ktot;
        c.ktot += ks[l] > 0 ? (size_t)ks[l] : 0;
    }
    c.off = off;
    size_t jobs = (m + SIL_BLOCK - 1) / SIL_BLOCK;
    int nt = bb_par_threads(threads, jobs);
    double *norms = malloc(m * sizeof *norms);
    double *onehot = calloc(m * (c.ktot ? c.ktot : 1), sizeof *onehot);
    int64_t *counts = calloc(c.ktot ? c.ktot : 1, sizeof *counts);
    c.s = malloc(nl * m * sizeof *c.s);
    c.dist = calloc((size_t)nt, sizeof *c.dist);
    c.sums = calloc((size_t)nt, sizeof *c.sums);
    bb_err e = norms && onehot && counts && c.s && c.dist && c.sums ? BB_OK : BB_ERR_NOMEM;
    for (int t = 0; t < nt && e == BB_OK; t++) {
        /* 64-byte aligned rows for the BLAS kernels. */
        c.dist[t] = aligned_alloc(64, (SIL_BLOCK * m * sizeof(double) + 63) / 64 * 64);
        c.sums[t] = aligned_alloc(64, (SIL_BLOCK * (c.ktot ? c.ktot : 1) * sizeof(double) + 63) / 64 * 64);
        if (!c.dist[t] || !c.sums[t])
            e = BB_ERR_NOMEM;
    }
    if (e != BB_OK)
        goto done;
    for (size_t i = 0; i < m; i++) {
        double s = 0.0;
        for (size_t d = 0; d < f; d++)
            s += x[i * f + d] * x[i * f + d];
        norms[i] = s;
    }
    c.norms = norms;
    for (size_t l = 0; l < nl; l++)
        for (size_t i = 0; i < m; i++) {
            onehot[i * c.ktot + off[l] + (size_t)labels[l][i]] = 1.0;
            counts[off[l] + (size_t)labels[l][i]]++;
        }
    c.onehot = onehot;
    c.counts = counts;

    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    e = bb_par_for(nt, jobs, sil_block, &c);
    openblas_set_num_threads(blas_threads);
    if (e != BB_OK)
        goto done;
    for (size_t l = 0; l < nl; l++) {
        int used = 0;
        for (int q = 0; q < ks[l]; q++)
            used += counts[off[l] + (size_t)q] > 0;
        if (used < 2 || (size_t)used >= m)
            continue;
        double sum = 0.0;
        for (size_t i = 0; i < m; i++)
            sum += c.s[l * m + i];
        out[l] = sum / (double)m;
    }
done:
    for (int t = 0; c.dist && t < nt; t++)
        free(c.dist[t]);
    for (int t = 0; c.sums && t < nt; t++)
        free(c.sums[t]);
    free(c.dist);
    free(c.sums);
    free(norms);
    free(onehot);
    free(counts);
    free(c.s);
    free(off);
    return e;
}
