/*
 * quality.h - how well a labelling separates the points: silhouette,
 * Davies-Bouldin, Calinski-Harabasz, with scikit-learn's definitions.
 *
 * Layout: x is n rows of f doubles; labels[i] in [0, k). Clusters with no
 * point are ignored (k counts the non-empty ones).
 *
 *   silhouette (Rousseeuw 1987): per point s = (b - a) / max(a, b), a the
 *     mean distance to the other points of its cluster, b the lowest mean
 *     distance to the points of another cluster; s = 0 for a point alone in
 *     its cluster; the score is the mean of s. Higher is better, in [-1, 1].
 *   Davies-Bouldin (1979): the mean over clusters of the largest
 *     (S_i + S_j) / d(c_i, c_j), S the mean distance of a cluster's points to
 *     its centroid. Lower is better, >= 0.
 *   Calinski-Harabasz (1974): between-cluster dispersion / (k - 1) over
 *     within-cluster dispersion / (n - k). Higher is better.
 * Centroids are the means of the labelled points. Undefined scores (fewer
 * than 2 clusters, or as many clusters as points) are NaN.
 *
 * The silhouette needs all pairwise distances: O(m^2 f) for m points. Rows
 * are taken in blocks of 64; each block's distances to all m points come
 * from one OpenBLAS dgemm (|x|^2 - 2 x.y + |y|^2, clamped at 0), and a
 * second dgemm against the one-hot matrix of every labelling side by side
 * sums them per cluster, so a scan over k shares the distances. Blocks are
 * the jobs of segment/parallel.h, each writing its own rows; means are taken
 * afterwards in row order, so the result does not depend on the threads.
 * OpenBLAS itself is set to one thread meanwhile (and restored after).
 * Memory: m x (sum of the k) doubles for the one-hot matrix (4.3 MB for
 * 10,000 points and k = 2..10), 64 x m per thread.
 *
 *     double db, ch, sil;
 *     bb_quality_scores(x, n, f, labels, k, &db, &ch);
 *     const int32_t *ls[] = {labels};
 *     bb_quality_silhouette(x, n, f, ls, &k, 1, 0, &sil);
 */
#ifndef BB_QUALITY_H
#define BB_QUALITY_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Davies-Bouldin and Calinski-Harabasz of one labelling. */
bb_err bb_quality_scores(const double *x, size_t n, size_t f, const int32_t *labels, int k,
                         double *davies_bouldin, double *calinski_harabasz);

/* Mean silhouette of nl labellings of the same m points: labels[l][i] in
 * [0, ks[l]); out[l] the score. threads 0: all cores. */
bb_err bb_quality_silhouette(const double *x, size_t m, size_t f, const int32_t *const *labels,
                             const int *ks, size_t nl, int threads, double *out);

/* m distinct indices out of [0, n), ascending, drawn with Knuth's selection
 * sampling (Algorithm S) from the seed's bb_rng stream: every m-subset is
 * equally likely. m > n is clamped to n. *idx is malloc'd. */
bb_err bb_quality_sample(size_t n, size_t m, uint64_t seed, uint64_t stream, uint32_t **idx);

#endif
