#include "segment/naming.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define R (1u << BB_SEG_RECENCY)
#define F (1u << BB_SEG_FREQUENCY)
#define SVC (1u << BB_SEG_SERVICE_SHARE)
#define TEN (1u << BB_SEG_TENURE)
#define AVG (1u << BB_SEG_AVG_VISIT_VALUE)

/* Weights in feature order: recency, frequency, monetary, avg visit value,
 * mean gap, longest streak, service share, tenure, units per visit. A
 * positive recency weight means "not seen for long". */
static const struct {
    const char *name;
    unsigned need;
    double w[BB_SEG_FEATURES];
} rules[] = {
    {"Champions", R | F, {-1.0, 1.0, 1.0, 0, 0, 0.5, 0, 0, 0}},
    {"Loyal", F, {-0.5, 1.0, 0, 0, -0.25, 1.0, 0, 0.5, 0}},
    {"Big spenders", AVG, {0, -0.5, 0.5, 1.0, 0, 0, 0, 0, 0}},
    {"At risk", R | F, {1.0, 0.75, 0.75, 0, 0, 0, 0, 0, 0}},
    {"New", TEN, {-0.5, -0.5, 0, 0, 0, 0, 0, -1.0, 0}},
    {"Promising", R | TEN, {-0.75, 0.5, 0, 0, 0, 0, 0, -0.5, 0}},
    {"Occasional", F, {-0.25, -1.0, 0, 0, 0.5, 0, 0, 0, 0}},
    {"Lapsed", R, {1.0, -0.5, -0.5, 0, 0, 0, 0, 0, 0}},
    {"Service regulars", SVC, {0, 0.5, 0, 0, 0, 0, 1.0, 0, 0}},
    {"Product shoppers", SVC, {0, 0, 0, 0, 0, 0, -1.0, 0, 0.5}},
};
#define N_RULES (sizeof rules / sizeof rules[0])

/* Words for a feature well above / below average, for names made from features. */
static const char *const high_word[BB_SEG_FEATURES] = {
    "not seen lately", "many visits", "high spend", "big visits", "long gaps",
    "long streaks", "service-heavy", "long-standing", "big baskets"};
static const char *const low_word[BB_SEG_FEATURES] = {
    "recent", "few visits", "low spend", "small visits", "short gaps",
    "short streaks", "product-heavy", "newer", "small baskets"};

size_t bb_naming_rule_count(void)
{
    return N_RULES;
}

const char *bb_naming_rule_name(size_t rule)
{
    return rule < N_RULES ? rules[rule].name : NULL;
}

static double zval(const double *c, unsigned used, int f)
{
    return (used >> f) & 1u && isfinite(c[f]) ? c[f] : 0.0;
}

void bb_naming_order(const double *centroids, int k, unsigned used, const uint32_t *first_member, int *order)
{
    double value[256];
    int kk = k > 256 ? 256 : k;
    for (int c = 0; c < kk; c++) {
        const double *z = centroids + (size_t)c * BB_SEG_FEATURES;
        value[c] = zval(z, used, BB_SEG_MONETARY) + zval(z, used, BB_SEG_FREQUENCY) - zval(z, used, BB_SEG_RECENCY);
        order[c] = c;
    }
    for (int i = 1; i < kk; i++)
        for (int j = i; j > 0; j--) {
            int a = order[j - 1], b = order[j];
            bool swap = value[b] > value[a] || (value[b] == value[a] && first_member[b] < first_member[a]);
            if (!swap)
                break;
            order[j - 1] = b;
            order[j] = a;
        }
}

static double rule_fit(size_t r, const double *z, unsigned used)
{
    double dot = 0.0, norm = 0.0;
    for (int f = 0; f < BB_SEG_FEATURES; f++) {
        if (!((used >> f) & 1u) || rules[r].w[f] == 0.0)
            continue;
        dot += rules[r].w[f] * zval(z, used, f);
        norm += rules[r].w[f] * rules[r].w[f];
    }
    return norm > 0.0 ? dot / sqrt(norm) : 0.0;
}

/* "Many visits, recent": the two features farthest from average. */
static void feature_name(const double *z, unsigned used, char out[BB_NAMING_SIZE])
{
    int best = -1, second = -1;
    for (int f = 0; f < BB_SEG_FEATURES; f++) {
        if (!((used >> f) & 1u))
            continue;
        double a = fabs(zval(z, used, f));
        if (best < 0 || a > fabs(zval(z, used, best))) {
            second = best;
            best = f;
        } else if (second < 0 || a > fabs(zval(z, used, second))) {
            second = f;
        }
    }
    if (best < 0) {
        snprintf(out, BB_NAMING_SIZE, "Typical");
        return;
    }
    const char *w1 = zval(z, used, best) >= 0 ? high_word[best] : low_word[best];
    if (second >= 0) {
        const char *w2 = zval(z, used, second) >= 0 ? high_word[second] : low_word[second];
        snprintf(out, BB_NAMING_SIZE, "%s, %s", w1, w2);
    } else {
        snprintf(out, BB_NAMING_SIZE, "%s", w1);
    }
    if (out[0] >= 'a' && out[0] <= 'z')
        out[0] = (char)(out[0] - 'a' + 'A');
}

void bb_naming_assign(const double *centroids, int k, unsigned used, char (*names)[BB_NAMING_SIZE],
                      double *fit, int *rule_of)
{
    if (k == 1) {
        snprintf(names[0], BB_NAMING_SIZE, "%s", BB_NAMING_SINGLE);
        if (fit)
            fit[0] = NAN;
        if (rule_of)
            rule_of[0] = -1;
        return;
    }
    bool taken_rule[N_RULES] = {false};
    bool available[N_RULES];
    for (size_t r = 0; r < N_RULES; r++)
        available[r] = (rules[r].need & used) == rules[r].need;
    bool named[256] = {false};
    int kk = k > 256 ? 256 : k;
    for (int round = 0; round < kk; round++) {
        int bc = -1;
        size_t br = 0;
        double bs = -INFINITY;
        for (size_t r = 0; r < N_RULES; r++) {
            if (!available[r] || taken_rule[r])
                continue;
            for (int c = 0; c < kk; c++) {
                if (named[c])
                    continue;
                double s = rule_fit(r, centroids + (size_t)c * BB_SEG_FEATURES, used);
                if (s > bs) { /* strict: ties keep the earlier rule, then cluster */
                    bs = s;
                    bc = c;
                    br = r;
                }
            }
        }
        if (bc < 0)
            break;
        named[bc] = true;
        taken_rule[br] = true;
        snprintf(names[bc], BB_NAMING_SIZE, "%s", rules[br].name);
        if (fit)
            fit[bc] = bs;
        if (rule_of)
            rule_of[bc] = (int)br;
    }
    for (int c = 0; c < kk; c++) {
        if (named[c])
            continue;
        feature_name(centroids + (size_t)c * BB_SEG_FEATURES, used, names[c]);
        /* Two feature names can coincide: number the later ones. */
        int dup = 1;
        for (int o = 0; o < kk; o++)
            if (o != c && named[o] && strcmp(names[o], names[c]) == 0)
                dup++;
        if (dup > 1) {
            size_t len = strlen(names[c]);
            snprintf(names[c] + len, BB_NAMING_SIZE - len, " (%d)", dup);
        }
        named[c] = true;
        if (fit)
            fit[c] = NAN;
        if (rule_of)
            rule_of[c] = -1;
    }
}
