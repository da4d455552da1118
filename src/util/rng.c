#include "util/rng.h"

#include <math.h>

__extension__ typedef unsigned __int128 bb_u128;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void bb_rng_seed(bb_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ULL + 0x2545f4914f6cdd1dULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

uint64_t bb_rng_next(bb_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double bb_rng_uniform(bb_rng *r)
{
    return (double)(bb_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t bb_rng_below(bb_rng *r, uint64_t n)
{
    /* Lemire, "Fast random integer generation in an interval" (2019). */
    uint64_t x = bb_rng_next(r);
    bb_u128 m = (bb_u128)x * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = -n % n;
        while (low < threshold) {
            x = bb_rng_next(r);
            m = (bb_u128)x * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double bb_rng_normal(bb_rng *r)
{
    double u, v, s;
    do {
        u = 2.0 * bb_rng_uniform(r) - 1.0;
        v = 2.0 * bb_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return u * sqrt(-2.0 * log(s) / s);
}
