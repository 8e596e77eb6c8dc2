/* The cartridge's private state block in EWRAM: fixed addresses the host
 * reads, beside the PMD-layout dungeon (pmd_layout.h).
 *
 * This layout is a contract with the Rust side (src/cartridge.rs): change
 * both together. All fields are little-endian. */
#ifndef PMD_CART_STATE_H
#define PMD_CART_STATE_H

#include <stdint.h>

#define CART_MAGIC 0x54444D50u /* "PMDT" read as a little-endian u32 */

/* phase: boot -> title -> menu -> seeding -> playing -> game over | cleared */
#define PHASE_BOOT 0      /* initialising */
#define PHASE_SEEDING 1   /* waiting SEED_WAIT_FRAMES for the host's seed */
#define PHASE_PLAYING 2
#define PHASE_GAME_OVER 3 /* the leader fainted; input is ignored */
#define PHASE_CLEARED 4   /* the stairs of the last floor were taken; gDungeon is NULL */
#define PHASE_TITLE 5     /* title screen: A or Start (after TITLE_WAIT_FRAMES) opens the menu */
#define PHASE_MENU 6      /* main menu: CONTINUE (default) / OPTIONS; A or Start picks */
#define SEED_WAIT_FRAMES 2
#define TITLE_WAIT_FRAMES 30 /* the title ignores input while it fades in, like real games */
#define MENU_ITEMS 2
#define MENU_CONTINUE 0
#define MENU_OPTIONS 1

/* last_event: what the last accepted input did */
#define EVENT_NONE 0
#define EVENT_MOVED 1
#define EVENT_BLOCKED 2   /* walked into a wall or a monster: no turn */
#define EVENT_TURNED 3
#define EVENT_ATTACKED 4
#define EVENT_WAITED 5
#define EVENT_ATE 6       /* used a healing item */
#define EVENT_NO_ITEM 7
#define EVENT_STAIRS 8
#define EVENT_NOT_ON_STAIRS 9
#define EVENT_FAINTED 10
#define EVENT_CLEARED 11

struct CartState {
    uint32_t magic;        /* 0x02000000: CART_MAGIC once booted */
    uint32_t frame;        /* 0x02000004: main-loop iterations (one per VBlank) */
    uint16_t keys;         /* 0x02000008: keys held this frame (mGBA bit order) */
    uint16_t pressed;      /* 0x0200000A: keys newly pressed this frame */
    uint32_t input_hash;   /* 0x0200000C: LCG over every frame's keys */
    int16_t cursor_x;      /* 0x02000010: leader x once playing */
    int16_t cursor_y;      /* 0x02000012: leader y once playing */
    uint8_t phase;         /* 0x02000014: PHASE_* */
    uint8_t last_event;    /* 0x02000015: EVENT_* */
    uint16_t floor_turns;  /* 0x02000016: turns taken on this floor */
    uint32_t total_turns;  /* 0x02000018: turns taken in the run */
    uint32_t floor_seed;   /* 0x0200001C: gDungeonRngState when this floor was generated */
    uint8_t seed_wait;     /* 0x02000020: frames left in PHASE_SEEDING, or of the title's fade-in */
    uint8_t anim;          /* 0x02000021: animation frames left in this turn */
    uint8_t kills;         /* 0x02000022: monsters defeated in the run */
    uint8_t menu_cursor;   /* 0x02000023: MENU_* under the cursor in PHASE_MENU */
};

#define CART ((struct CartState *)0x02000000)

#endif
