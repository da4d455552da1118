#include "recommend/evaluate.h"

#include <math.h>
#include <stdbool.h>

/* Whether (sa, ia) ranks before (sb, ib). */
static bool better(float sa, uint32_t ra, float sb, uint32_t rb)
{
    return sa > sb || (sa == sb && ra < rb);
}

size_t bb_eval_topk(const float *scores, uint32_t n, const uint32_t *tie_rank, size_t k, uint32_t *items,
                    float *top_scores)
{
    size_t cnt = 0;
    if (k == 0)
        return 0;
    for (uint32_t j = 0; j < n; j++) {
        float s = scores[j];
        if (!(s > -INFINITY)) /* -inf and NaN */
            continue;
        uint32_t rj = tie_rank ? tie_rank[j] : j;
        if (cnt == k) {
            uint32_t last = items[cnt - 1];
            if (!better(s, rj, top_scores[cnt - 1], tie_rank ? tie_rank[last] : last))
                continue;
        }
        size_t pos = cnt < k ? cnt++ : cnt - 1;
        while (pos > 0) {
            uint32_t prev = items[pos - 1];
            if (!better(s, rj, top_scores[pos - 1], tie_rank ? tie_rank[prev] : prev))
                break;
            items[pos] = prev;
            top_scores[pos] = top_scores[pos - 1];
            pos--;
        }
        items[pos] = j;
        top_scores[pos] = s;
    }
    return cnt;
}

static bool in_sorted(const uint32_t *a, size_t n, uint32_t v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && a[lo] == v;
}

double bb_eval_recall(const uint32_t *top, size_t n_top, size_t k, const uint32_t *target, size_t n_target)
{
    if (n_target == 0 || k == 0)
        return 0;
    size_t hits = 0;
    for (size_t r = 0; r < n_top && r < k; r++)
        hits += in_sorted(target, n_target, top[r]);
    return (double)hits / (double)(n_target < k ? n_target : k);
}

double bb_eval_ndcg(const uint32_t *top, size_t n_top, size_t k, const uint32_t *target, size_t n_target)
{
    if (n_target == 0 || k == 0)
        return 0;
    double dcg = 0, idcg = 0;
    for (size_t r = 0; r < n_top && r < k; r++)
        if (in_sorted(target, n_target, top[r]))
            dcg += 1.0 / log2((double)r + 2.0);
    for (size_t r = 0; r < n_target && r < k; r++)
        idcg += 1.0 / log2((double)r + 2.0);
    return dcg / idcg;
}

double bb_eval_hit(const uint32_t *top, size_t n_top, size_t k, const uint32_t *target, size_t n_target)
{
    for (size_t r = 0; r < n_top && r < k; r++)
        if (in_sorted(target, n_target, top[r]))
            return 1;
    return 0;
}

double bb_eval_z(int m)
{
    if (m < 1)
        m = 1;
    /* Solve Phi(z) = 1 - 0.025 / m by bisection, Phi(z) = erfc(-z / sqrt 2) / 2. */
    double target = 1.0 - 0.025 / m, lo = 0, hi = 10;
    for (int i = 0; i < 100; i++) {
        double mid = 0.5 * (lo + hi);
        if (0.5 * erfc(-mid / sqrt(2.0)) < target)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

void bb_eval_paired(const double *a, const double *b, size_t n, double z, double *mean, double *lo, double *hi)
{
    *mean = *lo = *hi = 0;
    if (n == 0)
        return;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += a[i] - b[i];
    double m = sum / (double)n;
    double ss = 0;
    for (size_t i = 0; i < n; i++) {
        double d = a[i] - b[i] - m;
        ss += d * d;
    }
    double se = n > 1 ? sqrt(ss / (double)(n - 1) / (double)n) : 0;
    *mean = m;
    *lo = m - z * se;
    *hi = m + z * se;
}
