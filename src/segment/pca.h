/*
 * pca.h - principal components of a small dense matrix (LAPACKE on OpenBLAS).
 *
 * The axes are the eigenvectors of the sample covariance (divisor n - 1) of
 * the rows of x, taken from LAPACKE_dsyevd on the f x f covariance (f is the
 * number of features, so the decomposition is tiny; the covariance pass is
 * O(n f^2), accumulated in double in row order). Eigenvectors have no sign
 * of their own: each axis is flipped so that its largest-magnitude loading
 * is positive (the first such loading on ties), so the same data always
 * draws the same picture.
 *
 * Layout: x is n rows of f doubles; mean has f entries; axes is nc rows of f
 * (axis c is row c, largest variance first); variance and ratio have nc
 * entries (the eigenvalues, and their share of the total variance).
 *
 *     double mean[4], axes[2 * 4], var[2], ratio[2], xy[2];
 *     bb_pca_fit(x, n, 4, 2, mean, axes, var, ratio);
 *     bb_pca_project(x + i * 4, 1, 4, 2, mean, axes, xy);
 */
#ifndef BB_PCA_H
#define BB_PCA_H

#include <stddef.h>

#include "util/err.h"

/* Fits nc <= f components (n >= 2). BB_ERR_INTERNAL when LAPACK fails. */
bb_err bb_pca_fit(const double *x, size_t n, size_t f, int nc, double *mean, double *axes,
                  double *variance, double *ratio);

/* Coordinates of n rows on the nc axes: out[i * nc + c]. */
void bb_pca_project(const double *x, size_t n, size_t f, int nc, const double *mean, const double *axes,
                    double *out);

#endif
