/*
 * evaluate.h - top-K selection and offline ranking metrics.
 *
 * For one customer with a ranked list top[0..n) (best first) and the set T
 * of items they bought in the held-out period (sorted ascending):
 *
 *   Recall@K = |top[0..K) ∩ T| / min(K, |T|)
 *              (the normalised recall of Liang et al., WWW 2018, which
 *              reaches 1 whenever the K slots are all hits)
 *   NDCG@K   = DCG / IDCG, DCG = sum over hits at rank r (0-based) of
 *              1 / log2(r + 2), IDCG the same for min(K, |T|) hits at the
 *              top (Järvelin & Kekäläinen, TOIS 2002)
 *   HitRate@K = 1 when any of the K is in T
 *
 * Model comparisons are paired: the same customers, the difference per
 * customer, its mean and an interval from the normal approximation
 * (mean ± z sd / sqrt(n)). Several models are compared with popularity at
 * once, so z makes the intervals hold together with 95 % confidence
 * (Bonferroni: z = Phi^-1(1 - 0.025 / m) for m comparisons, 2.39 for
 * three); otherwise one model in three would "win" by chance far more often
 * than one time in twenty. A model "beats" another only when the lower end
 * of its interval is above zero.
 */
#ifndef BB_EVALUATE_H
#define BB_EVALUATE_H

#include <stddef.h>
#include <stdint.h>

/* The k best of scores[0..n) (fewer when fewer are finite), best first,
 * ties broken by tie_rank[item] ascending (NULL: by item index). Items with
 * score -inf or NaN are never chosen. Returns the count. */
size_t bb_eval_topk(const float *scores, uint32_t n, const uint32_t *tie_rank, size_t k,
                    uint32_t *items, float *top_scores);

double bb_eval_recall(const uint32_t *top, size_t n_top, size_t k, const uint32_t *target, size_t n_target);
double bb_eval_ndcg(const uint32_t *top, size_t n_top, size_t k, const uint32_t *target, size_t n_target);
double bb_eval_hit(const uint32_t *top, size_t n_top, size_t k, const uint32_t *target, size_t n_target);

/* z of two-sided intervals holding together with 95 % for m comparisons. */
double bb_eval_z(int m);
/* Mean of a[i] - b[i] and its interval mean ± z se. n == 0: all zero. */
void bb_eval_paired(const double *a, const double *b, size_t n, double z, double *mean, double *lo, double *hi);

#endif
