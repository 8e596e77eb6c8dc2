/* pmd-agent test cartridge: a small turn-based dungeon crawler for the GBA
 * whose state lives in the PMD-Red RAM layout (pmd_layout.h), so the host's
 * decoder reads it exactly as it reads the real game.
 *
 * Boot: the state block (cart.h) is initialised and gDungeonRngState gets a
 * default seed; a title screen fades in (TITLE_WAIT_FRAMES, input ignored),
 * then A or Start opens the main menu, whose default entry CONTINUE (A or
 * Start) enters the dungeon: phase becomes SEEDING, and SEED_WAIT_FRAMES
 * VBlanks later floor 1 is generated from whatever gDungeonRngState then
 * holds, so a host seeds a run by writing that word while phase == SEEDING.
 * Menus react to newly pressed keys only, as real games do, so a host must
 * release a key between two taps. Each frame waits in VBlankIntrWait (as
 * real games do), redraws, reads the keypad and either advances the menus,
 * starts a turn or advances the running one. */
#include "cart.h"
#include "draw.h"
#include "game.h"
#include "gba.h"
#include "pmd_layout.h"

#define DEFAULT_SEED 0x5EED0001u

void *memset(void *dst, int value, unsigned long n) {
    unsigned char *d = dst;
    uint32_t word = (uint8_t)value * 0x01010101u;
    while (n && ((uintptr_t)d & 3)) {
        *d++ = (unsigned char)value;
        n--;
    }
    for (; n >= 4; n -= 4, d += 4) {
        *(uint32_t *)(void *)d = word;
    }
    while (n--) {
        *d++ = (unsigned char)value;
    }
    return dst;
}

void *memcpy(void *dst, const void *src, unsigned long n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--) {
        *d++ = *s++;
    }
    return dst;
}

int main(void) {
    struct CartState *s = CART;
    s->phase = PHASE_BOOT;
    G_DUNGEON = 0;
    G_LEADER_POINTER = 0;
    draw_init();

    s->frame = 0;
    s->keys = 0;
    s->pressed = 0;
    s->input_hash = 0x12345678u;
    s->last_event = EVENT_NONE;
    s->anim = 0;
    s->menu_cursor = MENU_CONTINUE;
    G_RNG = DEFAULT_SEED;
    s->seed_wait = TITLE_WAIT_FRAMES;
    s->magic = CART_MAGIC;
    s->phase = PHASE_TITLE;

    REG_IME = 0;
    REG_DISPSTAT = DISPSTAT_VBLANK_IRQ;
    REG_IE = IRQ_VBLANK;
    REG_IME = 1;

    uint16_t previous = 0;
    for (;;) {
        VBlankIntrWait();
        draw_frame();

        uint16_t keys = (uint16_t)(~REG_KEYINPUT & KEY_MASK);
        uint16_t pressed = (uint16_t)(keys & ~previous);
        previous = keys;
        s->frame = s->frame + 1;
        s->keys = keys;
        s->pressed = pressed;
        s->input_hash = s->input_hash * 1664525u + keys + 1013904223u;

        switch (s->phase) {
        case PHASE_TITLE:
            if (s->seed_wait) {
                s->seed_wait--;
            } else if (pressed & (KEY_A | KEY_START)) {
                s->menu_cursor = MENU_CONTINUE;
                s->phase = PHASE_MENU;
            }
            break;
        case PHASE_MENU:
            if (pressed & (KEY_UP | KEY_DOWN)) {
                s->menu_cursor = (uint8_t)((s->menu_cursor + 1) % MENU_ITEMS);
            } else if (pressed & KEY_B) {
                s->phase = PHASE_TITLE;
            } else if ((pressed & (KEY_A | KEY_START)) && s->menu_cursor == MENU_CONTINUE) {
                s->seed_wait = SEED_WAIT_FRAMES;
                s->phase = PHASE_SEEDING;
            }
            break;
        case PHASE_SEEDING:
            if (s->seed_wait == 0) {
                game_start_run();
                s->phase = PHASE_PLAYING;
            } else {
                s->seed_wait--;
            }
            break;
        case PHASE_PLAYING:
            G_DUNGEON_FRAMES = G_DUNGEON_FRAMES + 1;
            if (s->anim) {
                game_tick();
            } else {
                game_input(keys);
            }
            break;
        default:
            break;
        }
    }
}
