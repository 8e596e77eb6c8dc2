/* Tile-mode drawing. BG0 (64x32 map, screen blocks 28-29) holds the
 * dungeon's 56x32 tiles and scrolls to keep the leader in view; BG1 (screen
 * block 31) holds the status line; sprites mark the leader, visible
 * monsters, items and traps. Unrevealed tiles are black, so the picture
 * carries exactly what the player is shown. */
#include "draw.h"

#include "cart.h"
#include "game.h"
#include "gba.h"
#include "pmd_layout.h"

#define REG_BG1CNT REG16(0x0400000A)
#define REG_BG0HOFS REG16(0x04000010)
#define REG_BG0VOFS REG16(0x04000012)
#define BG_MAP_BASE ((volatile uint16_t *)0x0600E000) /* screen block 28 */
#define HUD_MAP ((volatile uint16_t *)0x0600F800)     /* screen block 31 */
#define DISPCNT_BG1 0x0200

/* 3x5 glyphs, one octal digit per row (top row first, bit 2 = left). */
static const uint16_t GLYPHS[] = {
    075557, 026227, 071747, 071717, 055711, 074717, 074757, 071111, 075757, 075717, /* 0-9 */
    025755, 065656, 034443, 065556, 074647, 074644, 034553, 055755, 072227, 011152, /* A-J */
    055655, 044447, 057755, 065555, 025552, 065644, 025563, 065655, 034216, 072222, /* K-T */
    055557, 055552, 055775, 055255, 055222, 071247,                                 /* U-Z */
    000700, 000002, 001240, 042124,                                                 /* - . / > */
};

enum {
    T_NONE = 0, /* transparent: unrevealed map, empty HUD */
    T_WALL,
    T_FLOOR,
    T_VISITED,
    T_STAIRS,
    T_WATER,
    T_HUD_BLANK,
    T_DIGIT0, /* 10 digits, 26 letters, '-', '.', '/' */
    T_LETTER_A = T_DIGIT0 + 10,
    T_DASH = T_LETTER_A + 26,
    T_DOT,
    T_SLASH,
    T_GT,
};

enum { OBJ_LEADER = 0, OBJ_MONSTER, OBJ_ITEM, OBJ_TRAP };
enum { OAM_LEADER = 0, OAM_WILD = 1, OAM_ITEMS = 1 + MAX_WILD, OAM_TRAPS = OAM_ITEMS + 48, OAM_COUNT = 128 };

static uint32_t solid_row(unsigned colour) {
    return colour * 0x11111111u;
}

static void put_glyph_tile(unsigned tile, uint16_t glyph) {
    volatile uint32_t *dst = BG0_TILES + tile * 8;
    for (unsigned row = 0; row < 8; row++) {
        uint32_t line = solid_row(6);
        if (row >= 1 && row <= 5) {
            unsigned bits = (glyph >> (3 * (5 - row))) & 7;
            for (unsigned col = 0; col < 3; col++) {
                if (bits & (4 >> col)) {
                    line = (line & ~(0xFu << (4 * (col + 2)))) | (1u << (4 * (col + 2)));
                }
            }
        }
        dst[row] = line;
    }
}

static void put_obj_tile(unsigned tile, const uint8_t rows[8], unsigned colour) {
    volatile uint32_t *dst = OBJ_TILES + tile * 8;
    for (unsigned row = 0; row < 8; row++) {
        uint32_t line = 0;
        for (unsigned col = 0; col < 8; col++) {
            if (rows[row] & (0x80 >> col)) {
                line |= colour << (4 * col);
            }
        }
        dst[row] = line;
    }
}

void draw_init(void) {
    PALETTE_BG[0] = rgb15(0, 0, 0);
    PALETTE_BG[1] = rgb15(31, 31, 31);
    PALETTE_BG[2] = rgb15(12, 8, 4);   /* wall */
    PALETTE_BG[3] = rgb15(8, 12, 20);  /* floor */
    PALETTE_BG[4] = rgb15(12, 17, 26); /* visited floor */
    PALETTE_BG[5] = rgb15(4, 8, 28);   /* water */
    PALETTE_BG[6] = rgb15(3, 3, 8);    /* status line */
    PALETTE_OBJ[1] = rgb15(31, 28, 4); /* leader */
    PALETTE_OBJ[2] = rgb15(31, 6, 6);  /* monster */
    PALETTE_OBJ[3] = rgb15(6, 28, 8);  /* item */
    PALETTE_OBJ[4] = rgb15(26, 6, 28); /* trap */

    for (unsigned row = 0; row < 8; row++) {
        BG0_TILES[T_NONE * 8 + row] = 0;
        BG0_TILES[T_WALL * 8 + row] = solid_row(2);
        BG0_TILES[T_FLOOR * 8 + row] = row == 0 ? solid_row(0) : (solid_row(3) & ~0xFu);
        BG0_TILES[T_VISITED * 8 + row] = row == 0 ? solid_row(0) : (solid_row(4) & ~0xFu);
        /* stairs: white steps on floor */
        BG0_TILES[T_STAIRS * 8 + row] = (row & 1) ? solid_row(3) : solid_row(1);
        BG0_TILES[T_WATER * 8 + row] = solid_row(5);
        BG0_TILES[T_HUD_BLANK * 8 + row] = solid_row(6);
    }
    for (unsigned i = 0; i < sizeof(GLYPHS) / sizeof(GLYPHS[0]); i++) {
        put_glyph_tile(T_DIGIT0 + i, GLYPHS[i]);
    }

    static const uint8_t leader_rows[8] = {0x3C, 0x7E, 0xDB, 0xFF, 0xFF, 0x7E, 0x66, 0x00};
    static const uint8_t monster_rows[8] = {0x81, 0x5A, 0x7E, 0xDB, 0xFF, 0x7E, 0x42, 0x00};
    static const uint8_t item_rows[8] = {0x00, 0x18, 0x3C, 0x7E, 0x7E, 0x3C, 0x18, 0x00};
    static const uint8_t trap_rows[8] = {0x00, 0x42, 0x24, 0x18, 0x18, 0x24, 0x42, 0x00};
    put_obj_tile(OBJ_LEADER, leader_rows, 1);
    put_obj_tile(OBJ_MONSTER, monster_rows, 2);
    put_obj_tile(OBJ_ITEM, item_rows, 3);
    put_obj_tile(OBJ_TRAP, trap_rows, 4);
    for (unsigned i = 0; i < OAM_COUNT; i++) {
        OAM[i * 4] = 0x0200; /* hidden */
    }
    for (unsigned i = 0; i < 64 * 32; i++) {
        BG_MAP_BASE[i] = T_NONE;
    }
    for (unsigned i = 0; i < 32 * 32; i++) {
        HUD_MAP[i] = T_NONE;
    }
    REG_BG0CNT = (1 << 14) | (28 << 8) | 1; /* 64x32, screen block 28, priority 1 */
    REG_BG1CNT = (31 << 8) | 0;             /* 32x32, screen block 31, priority 0 */
    REG_DISPCNT = DISPCNT_MODE0 | DISPCNT_BG0 | DISPCNT_BG1 | DISPCNT_OBJ | DISPCNT_OBJ_1D;
}

static unsigned tile_for_char(char c) {
    if (c >= '0' && c <= '9') return T_DIGIT0 + (unsigned)(c - '0');
    if (c >= 'A' && c <= 'Z') return T_LETTER_A + (unsigned)(c - 'A');
    if (c == '-') return T_DASH;
    if (c == '.') return T_DOT;
    if (c == '/') return T_SLASH;
    if (c == '>') return T_GT;
    return T_HUD_BLANK;
}

/* Appends `value` in decimal (0..99999) to buf. */
static char *put_decimal(char *buf, int value) {
    static const int powers[] = {10000, 1000, 100, 10, 1};
    int started = 0;
    if (value < 0) {
        value = 0;
    }
    for (unsigned i = 0; i < 5; i++) {
        int digit = 0;
        while (value >= powers[i]) {
            value -= powers[i];
            digit++;
        }
        if (digit || started || i == 4) {
            *buf++ = (char)('0' + digit);
            started = 1;
        }
    }
    return buf;
}

static char *put_string(char *buf, const char *s) {
    while (*s) {
        *buf++ = *s++;
    }
    return buf;
}

/* What the status line shows, to redraw it only when it changes. */
static uint32_t hud_key(void) {
    const struct Dungeon *d = G_DUNGEON;
    if (!d) {
        /* title, menu (blinking prompt, cursor) or the cleared screen */
        return 0xFFFFFF00u | ((uint32_t)CART->phase << 4) | ((uint32_t)CART->menu_cursor << 1) |
               ((CART->frame >> 4) & 1);
    }
    const struct EntityInfo *info = &d->team[0];
    return (uint32_t)d->floor ^ ((uint32_t)(uint16_t)info->hp << 8) ^
           ((uint32_t)(uint16_t)info->max_hp << 16) ^ ((uint32_t)(uint16_t)info->belly << 22) ^
           ((uint32_t)CART->phase << 30);
}

/* Writes `text` at (col, row) of the text layer. */
static void put_text(unsigned col, unsigned row, const char *text) {
    for (; *text && col < 30; text++, col++) {
        HUD_MAP[row * 32 + col] = (uint16_t)tile_for_char(*text);
    }
}

/* The title, the main menu and the cleared screen: text on the BG1 layer
 * (the dungeon map, still black, stays behind it). */
static void draw_screen(void) {
    for (unsigned i = 0; i < 20 * 32; i++) {
        HUD_MAP[i] = T_NONE;
    }
    put_text(3, 5, "PMD-AGENT TEST CARTRIDGE");
    switch (CART->phase) {
    case PHASE_TITLE:
        if (!CART->seed_wait && ((CART->frame >> 4) & 1)) {
            put_text(9, 12, "PRESS START");
        }
        break;
    case PHASE_MENU:
        put_text(9, 10, CART->menu_cursor == MENU_CONTINUE ? "> CONTINUE" : "  CONTINUE");
        put_text(9, 12, CART->menu_cursor == MENU_OPTIONS ? "> OPTIONS" : "  OPTIONS");
        break;
    case PHASE_CLEARED:
        put_text(7, 10, "DUNGEON CLEARED");
        break;
    default:
        break;
    }
}

static void draw_hud(void) {
    static uint32_t shown = 0x12345678u;
    uint32_t key = hud_key();
    if (key == shown) {
        return;
    }
    uint32_t was = shown;
    shown = key;
    const struct Dungeon *d = G_DUNGEON;
    if (!d) {
        draw_screen();
        return;
    }
    if ((was & 0xFFFFFF00u) == 0xFFFFFF00u) {
        /* leaving a text screen: clear it */
        for (unsigned i = 32; i < 20 * 32; i++) {
            HUD_MAP[i] = T_NONE;
        }
    }
    char line[31];
    for (unsigned i = 0; i < 30; i++) {
        line[i] = ' ';
    }
    char *p = line;
    {
        const struct EntityInfo *info = &d->team[0];
        p = put_string(p, "B");
        p = put_decimal(p, d->floor);
        p = put_string(p, "F HP ");
        p = put_decimal(p, info->hp);
        p = put_string(p, "/");
        p = put_decimal(p, info->max_hp);
        p = put_string(p, " BELLY ");
        p = put_decimal(p, info->belly);
        if (CART->phase == PHASE_GAME_OVER) {
            p = put_string(p, " FAINTED");
        }
    }
    for (unsigned i = 0; i < 30; i++) {
        HUD_MAP[i] = (uint16_t)tile_for_char(line[i]);
    }
}

static uint16_t map_tile(const struct Tile *t) {
    if (!(t->visibility & VIS_REVEALED)) return T_NONE;
    if (t->terrain & TERRAIN_STAIRS) return T_STAIRS;
    switch (t->terrain & TERRAIN_MASK) {
    case TERRAIN_FLOOR:
        return (t->visibility & VIS_VISITED) ? T_VISITED : T_FLOOR;
    case TERRAIN_WATER:
        return T_WATER;
    default:
        return T_WALL;
    }
}

static void draw_map(const struct Dungeon *d) {
    for (unsigned y = 0; y < MAP_H; y++) {
        for (unsigned x = 0; x < MAP_W; x++) {
            unsigned index = (x >> 5) * 1024 + y * 32 + (x & 31);
            BG_MAP_BASE[index] = map_tile(&d->tiles[y][x]);
        }
    }
}

static int clampi(int v, int lo, int hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

/* Screen y of the leader sprite before the bob. */
static int leader_screen_y;

static void put_sprite(unsigned slot, const struct Entity *e, unsigned tile, int cam_x, int cam_y) {
    int sx = e->x * 8 - cam_x, sy = e->y * 8 - cam_y;
    if (sx < -8 || sx >= 240 || sy < -8 || sy >= 160) {
        OAM[slot * 4] = 0x0200;
        return;
    }
    OAM[slot * 4] = (uint16_t)(sy & 0xFF);
    OAM[slot * 4 + 1] = (uint16_t)(sx & 0x1FF);
    OAM[slot * 4 + 2] = (uint16_t)tile;
}

/* Per-frame animation, as real games have (PMD animates its sprites and
 * water every frame): the stairs and water colours shimmer and the leader
 * bobs. It also keeps mGBA's renderer honest: a screen that never changes
 * lets it skip redrawing unchanged scanlines. */
static void animate(const struct Dungeon *d) {
    unsigned phase = CART->frame & 31;
    unsigned wave = phase < 16 ? phase : 31 - phase;
    PALETTE_BG[1] = rgb15(16 + wave, 16 + wave, 16 + wave);
    PALETTE_BG[5] = rgb15(4, 8 + (wave >> 1), 20 + (wave >> 2));
    (void)d;
    OAM[OAM_LEADER * 4] = (uint16_t)((OAM[OAM_LEADER * 4] & ~0xFFu) | ((leader_screen_y + ((CART->frame >> 3) & 1)) & 0xFF));
}

void draw_frame(void) {
    draw_hud();
    const struct Dungeon *d = G_DUNGEON;
    if (!d) {
        /* the title and menus shimmer too */
        unsigned phase = CART->frame & 31;
        unsigned wave = phase < 16 ? phase : 31 - phase;
        PALETTE_BG[1] = rgb15(16 + wave, 16 + wave, 16 + wave);
        return;
    }
    animate(d);
    /* Terrain, visibility, positions and the camera change only when a
     * turn ends or a floor starts, which is when the game sets the flag. */
    if (!g_map_dirty) {
        return;
    }
    g_map_dirty = 0;
    draw_map(d);
    const struct Entity *l = &d->team_storage[0];
    int cam_x = clampi(l->x * 8 + 4 - 120, 0, MAP_W * 8 - 240);
    int cam_y = clampi(l->y * 8 + 4 - 88, -8, MAP_H * 8 - 160);
    REG_BG0HOFS = (uint16_t)(cam_x & 0x1FF);
    REG_BG0VOFS = (uint16_t)(cam_y & 0x1FF);

    put_sprite(OAM_LEADER, l, OBJ_LEADER, cam_x, cam_y);
    leader_screen_y = l->y * 8 - cam_y;
    for (unsigned i = 0; i < MAX_WILD; i++) {
        const struct Entity *m = d->wild_ptrs[i];
        if (m && m->is_visible) {
            put_sprite(OAM_WILD + i, m, OBJ_MONSTER, cam_x, cam_y);
        } else {
            OAM[(OAM_WILD + i) * 4] = 0x0200;
        }
    }
    for (unsigned i = 0; i < 48; i++) {
        const struct Entity *e = d->item_ptrs[i];
        if (e && e->is_visible) {
            put_sprite(OAM_ITEMS + i, e, OBJ_ITEM, cam_x, cam_y);
        } else {
            OAM[(OAM_ITEMS + i) * 4] = 0x0200;
        }
    }
    for (unsigned i = 0; i < OAM_COUNT - OAM_TRAPS; i++) {
        const struct Entity *e = d->trap_ptrs[i];
        if (e && e->is_visible) {
            put_sprite(OAM_TRAPS + i, e, OBJ_TRAP, cam_x, cam_y);
        } else {
            OAM[(OAM_TRAPS + i) * 4] = 0x0200;
        }
    }
}
