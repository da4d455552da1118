#include "segment/pca.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lapacke.h>

bb_err bb_pca_fit(const double *x, size_t n, size_t f, int nc, double *mean, double *axes,
                  double *variance, double *ratio)
{
    if (n < 2 || f == 0 || nc < 1 || (size_t)nc > f)
        return BB_ERR_CONFIG;
    double *cov = calloc(f * f, sizeof *cov);
    double *w = malloc(f * sizeof *w);
    double *dev = malloc(f * sizeof *dev);
    if (!cov || !w || !dev) {
        free(cov);
        free(w);
        free(dev);
        return BB_ERR_NOMEM;
    }
    memset(mean, 0, f * sizeof *mean);
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < f; a++)
            mean[a] += x[i * f + a];
    for (size_t a = 0; a < f; a++)
        mean[a] /= (double)n;
    /* Upper triangle of the covariance, which is all dsyevd('U') reads. */
    for (size_t i = 0; i < n; i++) {
        for (size_t a = 0; a < f; a++)
            dev[a] = x[i * f + a] - mean[a];
        for (size_t a = 0; a < f; a++)
            for (size_t b = a; b < f; b++)
                cov[a * f + b] += dev[a] * dev[b];
    }
    for (size_t a = 0; a < f; a++)
        for (size_t b = a; b < f; b++)
            cov[a * f + b] /= (double)(n - 1);

    lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)f, cov, (lapack_int)f, w);
    if (info != 0) {
        free(cov);
        free(w);
        free(dev);
        return BB_ERR_INTERNAL;
    }
    /* Eigenvalues come ascending; eigenvector j is column j. */
    double total = 0.0;
    for (size_t j = 0; j < f; j++)
        total += w[j] > 0.0 ? w[j] : 0.0;
    for (int c = 0; c < nc; c++) {
        size_t j = f - 1 - (size_t)c;
        double *axis = axes + (size_t)c * f;
        size_t big = 0;
        for (size_t a = 0; a < f; a++) {
            axis[a] = cov[a * f + j];
            if (fabs(axis[a]) > fabs(axis[big]))
                big = a;
        }
        if (axis[big] < 0.0)
            for (size_t a = 0; a < f; a++)
                axis[a] = -axis[a];
        variance[c] = w[j] > 0.0 ? w[j] : 0.0;
        ratio[c] = total > 0.0 ? variance[c] / total : 0.0;
    }
    free(cov);
    free(w);
    free(dev);
    return BB_OK;
}

void bb_pca_project(const double *x, size_t n, size_t f, int nc, const double *mean, const double *axes,
                    double *out)
{
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < nc; c++) {
            double s = 0.0;
            for (size_t a = 0; a < f; a++)
                s += (x[i * f + a] - mean[a]) * axes[(size_t)c * f + a];
            out[i * (size_t)nc + (size_t)c] = s;
        }
}
