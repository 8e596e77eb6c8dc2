/* The cartridge's state block in EWRAM: fixed addresses the host reads.
 *
 * This layout is a contract with the Rust side (src/cartridge.rs): change
 * both together. All fields are little-endian. */
#ifndef PMD_CART_STATE_H
#define PMD_CART_STATE_H

#include <stdint.h>

#define CART_MAGIC 0x54444D50u /* "PMDT" read as a little-endian u32 */

struct CartState {
    uint32_t magic;        /* 0x02000000: CART_MAGIC once booted */
    uint32_t frame;        /* 0x02000004: main-loop iterations (one per VBlank) */
    uint16_t keys;         /* 0x02000008: keys held this frame (mGBA bit order) */
    uint16_t pressed;      /* 0x0200000A: keys newly pressed this frame */
    uint32_t input_hash;   /* 0x0200000C: LCG over every frame's keys */
    int16_t cursor_x;      /* 0x02000010: cursor cell, moved by the d-pad */
    int16_t cursor_y;      /* 0x02000012 */
};

#define CART ((volatile struct CartState *)0x02000000)

#endif
