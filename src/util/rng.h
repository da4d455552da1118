/*
 * rng.h - the seeded random number generator every random choice draws from.
 *
 * xoshiro256** (Blackman & Vigna, 2018) seeded through splitmix64. Streams:
 * bb_rng_seed(r, seed, stream) gives an independent sequence per (seed,
 * stream) pair, so work split across threads or restarts draws from streams
 * named by their index, and results do not depend on the thread count.
 */
#ifndef BB_RNG_H
#define BB_RNG_H

#include <stdint.h>

typedef struct bb_rng {
    uint64_t s[4];
} bb_rng;

void bb_rng_seed(bb_rng *r, uint64_t seed, uint64_t stream);
uint64_t bb_rng_next(bb_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double bb_rng_uniform(bb_rng *r);
/* Uniform integer in [0, n), unbiased (Lemire's method); n > 0. */
uint64_t bb_rng_below(bb_rng *r, uint64_t n);
/* Standard normal (Marsaglia polar method). */
double bb_rng_normal(bb_rng *r);

#endif
