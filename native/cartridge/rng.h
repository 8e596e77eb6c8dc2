/* The dungeon RNG: a 32-bit LCG whose whole state lives in gDungeonRngState,
 * so a host sets the seed by writing that word. */
#ifndef PMD_CART_RNG_H
#define PMD_CART_RNG_H

#include <stdint.h>

#include "pmd_layout.h"

/* Next 16 random bits. */
static inline uint32_t rng_next(void) {
    G_RNG = G_RNG * 1566083941u + 1u;
    return G_RNG >> 16;
}

/* Uniform in [0, n) for n <= 65536, without division. */
static inline int rng_range(int n) {
    return (int)((rng_next() * (uint32_t)n) >> 16);
}

#endif
