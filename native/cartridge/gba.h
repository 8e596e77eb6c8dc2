/* GBA hardware registers and BIOS calls used by the test cartridge. */
#ifndef PMD_CART_GBA_H
#define PMD_CART_GBA_H

#include <stdint.h>

#define REG16(addr) (*(volatile uint16_t *)(addr))
#define REG32(addr) (*(volatile uint32_t *)(addr))

#define REG_DISPCNT   REG16(0x04000000)
#define REG_DISPSTAT  REG16(0x04000004)
#define REG_BG0CNT    REG16(0x04000008)
#define REG_KEYINPUT  REG16(0x04000130)
#define REG_IE        REG16(0x04000200)
#define REG_IF        REG16(0x04000202)
#define REG_IME       REG16(0x04000208)

#define DISPCNT_MODE0     0x0000
#define DISPCNT_OBJ_1D    0x0040
#define DISPCNT_BG0       0x0100
#define DISPCNT_OBJ       0x1000
#define DISPSTAT_VBLANK_IRQ 0x0008
#define IRQ_VBLANK        0x0001

#define PALETTE_BG  ((volatile uint16_t *)0x05000000)
#define PALETTE_OBJ ((volatile uint16_t *)0x05000200)
#define VRAM        ((volatile uint16_t *)0x06000000)
#define OAM         ((volatile uint16_t *)0x07000000)

/* BG0: character base block 0 (tiles at 0x06000000), screen base block 31
 * (32x32 map entries at 0x0600F800). Sprite tiles start at 0x06010000. */
#define BG0_TILES   ((volatile uint32_t *)0x06000000)
#define BG0_MAP     ((volatile uint16_t *)0x0600F800)
#define OBJ_TILES   ((volatile uint32_t *)0x06010000)
#define BG0CNT_VALUE (31 << 8)

#define KEY_MASK 0x03FF
#define KEY_A      0x0001
#define KEY_B      0x0002
#define KEY_SELECT 0x0004
#define KEY_START  0x0008
#define KEY_RIGHT  0x0010
#define KEY_LEFT   0x0020
#define KEY_UP     0x0040
#define KEY_DOWN   0x0080
#define KEY_R      0x0100
#define KEY_L      0x0200

static inline void VBlankIntrWait(void) {
    __asm__ volatile("swi 0x05" ::: "r0", "r1", "r2", "r3", "memory");
}

static inline uint16_t rgb15(unsigned r, unsigned g, unsigned b) {
    return (uint16_t)((r & 31) | ((g & 31) << 5) | ((b & 31) << 10));
}

#endif
