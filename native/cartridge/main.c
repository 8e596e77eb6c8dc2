/* pmd-agent test cartridge: a small GBA program for the emulator tests.
 *
 * Every frame it waits for VBlank in the BIOS (VBlankIntrWait, as real
 * games do), reads the keypad, updates the state block in EWRAM (cart.h)
 * and redraws a text screen on BG0 plus a cursor sprite. */
#include "gba.h"
#include "cart.h"

/* 3x5 glyphs, one octal digit per row (top row first, bit 2 = left). */
static const uint16_t GLYPHS[] = {
    075557, 026227, 071747, 071717, 055711, 074717, 074757, 071111, 075757, 075717, /* 0-9 */
    025755, 065656, 034443, 065556, 074647, 074644, 034553, 055755, 072227, 011152, /* A-J */
    055655, 044447, 057755, 065555, 025552, 065644, 025563, 065655, 034216, 072222, /* K-T */
    055557, 055552, 055775, 055255, 055222, 071247,                                 /* U-Z */
    000700,                                                                         /* - */
};

enum {
    TILE_BLANK = 0,
    TILE_DIGIT0 = 1,
    TILE_LETTER_A = 11,
    TILE_DASH = 37,
    TILE_FLOOR = 38,
    TILE_COUNT = 39,
};

enum { PLAYFIELD_TOP = 7, SCREEN_COLS = 30, SCREEN_ROWS = 20 };

void *memset(void *dst, int value, unsigned long n) {
    unsigned char *d = dst;
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

/* Writes a 4bpp 8x8 tile whose pixels come from a 3x5 glyph in colour 1,
 * placed at column 2, row 1 of the tile. */
static void put_glyph_tile(unsigned tile, uint16_t glyph) {
    volatile uint32_t *dst = BG0_TILES + tile * 8;
    for (unsigned row = 0; row < 8; row++) {
        uint32_t line = 0;
        if (row >= 1 && row <= 5) {
            unsigned bits = (glyph >> (3 * (5 - row))) & 7;
            for (unsigned col = 0; col < 3; col++) {
                if (bits & (4 >> col)) {
                    line |= 1u << (4 * (col + 2));
                }
            }
        }
        dst[row] = line;
    }
}

static void load_graphics(void) {
    PALETTE_BG[0] = rgb15(2, 4, 10);
    PALETTE_BG[1] = rgb15(31, 31, 31);
    PALETTE_BG[2] = rgb15(4, 8, 16);
    PALETTE_OBJ[1] = rgb15(31, 26, 0);

    for (unsigned row = 0; row < 8; row++) {
        BG0_TILES[TILE_BLANK * 8 + row] = 0;
        /* floor: colour 2 with a colour-0 grid line on the top and left */
        BG0_TILES[TILE_FLOOR * 8 + row] = row == 0 ? 0 : 0x22222220u;
    }
    for (unsigned i = 0; i < sizeof(GLYPHS) / sizeof(GLYPHS[0]); i++) {
        put_glyph_tile(TILE_DIGIT0 + i, GLYPHS[i]);
    }

    /* cursor sprite: a hollow square in colour 1 */
    for (unsigned row = 0; row < 8; row++) {
        OBJ_TILES[row] = (row == 0 || row == 7) ? 0x11111111u : 0x10000001u;
    }
    for (unsigned i = 0; i < 128; i++) {
        OAM[i * 4] = 0x0200; /* hidden */
    }

    for (unsigned i = 0; i < 32 * 32; i++) {
        unsigned y = i >> 5;
        BG0_MAP[i] = y >= PLAYFIELD_TOP ? TILE_FLOOR : TILE_BLANK;
    }
    REG_BG0CNT = BG0CNT_VALUE;
    REG_DISPCNT = DISPCNT_MODE0 | DISPCNT_BG0 | DISPCNT_OBJ | DISPCNT_OBJ_1D;
}

static unsigned tile_for_char(char c) {
    if (c >= '0' && c <= '9') {
        return TILE_DIGIT0 + (unsigned)(c - '0');
    }
    if (c >= 'A' && c <= 'Z') {
        return TILE_LETTER_A + (unsigned)(c - 'A');
    }
    if (c == '-') {
        return TILE_DASH;
    }
    return TILE_BLANK;
}

static void put_text(unsigned x, unsigned y, const char *text) {
    for (; *text; text++, x++) {
        BG0_MAP[y * 32 + x] = (uint16_t)tile_for_char(*text);
    }
}

static void put_hex(unsigned x, unsigned y, uint32_t value, unsigned digits) {
    for (unsigned i = 0; i < digits; i++) {
        unsigned nibble = (value >> (4 * (digits - 1 - i))) & 0xF;
        unsigned tile = nibble < 10 ? TILE_DIGIT0 + nibble : TILE_LETTER_A + nibble - 10;
        BG0_MAP[y * 32 + x + i] = (uint16_t)tile;
    }
}

static void put_bits(unsigned x, unsigned y, uint32_t value, unsigned bits) {
    for (unsigned i = 0; i < bits; i++) {
        BG0_MAP[y * 32 + x + i] = (uint16_t)(TILE_DIGIT0 + ((value >> i) & 1));
    }
}

static int16_t clamp(int16_t v, int16_t lo, int16_t hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

int main(void) {
    load_graphics();
    put_text(1, 1, "PMD-AGENT TEST CARTRIDGE");
    put_text(1, 3, "FRAME");
    put_text(1, 4, "KEYS");
    put_text(1, 5, "HASH");

    volatile struct CartState *s = CART;
    s->frame = 0;
    s->keys = 0;
    s->pressed = 0;
    s->input_hash = 0x12345678u;
    s->cursor_x = SCREEN_COLS / 2;
    s->cursor_y = (PLAYFIELD_TOP + SCREEN_ROWS) / 2;
    s->magic = CART_MAGIC;

    REG_IME = 0;
    REG_DISPSTAT = DISPSTAT_VBLANK_IRQ;
    REG_IE = IRQ_VBLANK;
    REG_IME = 1;

    uint16_t previous = 0;
    for (;;) {
        VBlankIntrWait();

        uint16_t keys = (uint16_t)(~REG_KEYINPUT & KEY_MASK);
        uint16_t pressed = (uint16_t)(keys & ~previous);
        previous = keys;

        s->frame = s->frame + 1;
        s->keys = keys;
        s->pressed = pressed;
        s->input_hash = s->input_hash * 1664525u + keys + 1013904223u;

        int16_t x = s->cursor_x, y = s->cursor_y;
        if (pressed & KEY_RIGHT) x++;
        if (pressed & KEY_LEFT) x--;
        if (pressed & KEY_DOWN) y++;
        if (pressed & KEY_UP) y--;
        s->cursor_x = clamp(x, 0, SCREEN_COLS - 1);
        s->cursor_y = clamp(y, PLAYFIELD_TOP, SCREEN_ROWS - 1);

        put_hex(7, 3, s->frame, 8);
        put_bits(7, 4, keys, 10);
        put_hex(7, 5, s->input_hash, 8);
        OAM[0] = (uint16_t)((s->cursor_y * 8) & 0xFF);
        OAM[1] = (uint16_t)((s->cursor_x * 8) & 0x1FF);
        OAM[2] = 0;
    }
}
