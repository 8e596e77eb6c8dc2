/* The PMD-Red (US, B24E) RAM layout the cartridge keeps its dungeon in, so
 * the host's decoder reads the cartridge and the real game alike.
 *
 * Offsets and addresses come from the public pret/pmd-red decompilation as
 * summarised in shared/reference/pmd-red-ram.md; src/game/ram_map.rs is the
 * Rust side. Only the fields the cartridge uses are named; the rest is
 * padding, and _Static_assert pins every named offset. */
#ifndef PMD_CART_LAYOUT_H
#define PMD_CART_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define MAP_W 56
#define MAP_H 32
#define MAX_TEAM 4
#define MAX_WILD 16
#define MAX_FLOOR_ITEMS 64
#define MAX_TRAPS 64
#define TEAM_ITEMS 20

/* Fixed addresses (the decomp's symbol file). */
#define ADDR_DUNGEON_FRAMES 0x0202EDCCu /* gDungeonFramesCounter */
#define ADDR_LEADER_POS     0x0202EE0Cu /* gLeaderPosition: s16 x, s16 y */
#define ADDR_TEAM_INVENTORY 0x020389A8u /* gTeamInventory */
#define ADDR_GDUNGEON       0x0203B418u /* gDungeon: Dungeon* */
#define ADDR_LEADER_POINTER 0x0203B450u /* gLeaderPointer: Entity* */
#define ADDR_DUNGEON_RNG    0x0203B454u /* gDungeonRngState */

/* Where the cartridge places its Dungeon struct: the base public RAM maps
 * observe in the real game (the game heap-allocates it; hosts must follow
 * the gDungeon pointer, never assume this address). */
#define DUNGEON_ADDR 0x02003AF4u
#define DUNGEON_SIZE 0x1CEDCu

/* Tile terrain flags (+0x00). */
#define TERRAIN_MASK   0x0003
#define TERRAIN_WALL   0x0000
#define TERRAIN_FLOOR  0x0001
#define TERRAIN_WATER  0x0002
#define TERRAIN_STAIRS 0x0200
/* Tile visibility flags (+0x04). */
#define VIS_REVEALED 0x01
#define VIS_VISITED  0x02
#define ROOM_CORRIDOR 0xFF

#define ENTITY_NONE    0
#define ENTITY_MONSTER 1
#define ENTITY_TRAP    2
#define ENTITY_ITEM    3

struct Item { /* 4 bytes */
    uint8_t flags; /* bit 0: slot in use */
    uint8_t quantity;
    uint8_t id;
    uint8_t pad;
};

struct EntityInfo { /* 0x208 bytes */
    uint8_t pad00[0x02];
    int16_t species;            /* +0x02 */
    uint8_t pad04[0x03];
    uint8_t is_leader;          /* +0x07 */
    uint8_t pad08;
    uint8_t level;              /* +0x09 */
    uint8_t pad0a[0x04];
    int16_t hp;                 /* +0x0E */
    int16_t max_hp;             /* +0x10 */
    uint8_t pad12[0x13C - 0x12];
    int16_t belly;              /* +0x13C whole part */
    int16_t belly_thousandths;  /* +0x13E */
    int16_t max_belly;          /* +0x140 */
    int16_t max_belly_thousandths;
    uint8_t pad144[0x208 - 0x144];
};

struct Entity { /* 0x74 bytes */
    uint32_t type;              /* +0x00 */
    int16_t x, y;               /* +0x04 */
    uint8_t pad08[0x20 - 0x08];
    uint8_t is_visible;         /* +0x20 */
    uint8_t pad21[0x04];
    uint8_t room;               /* +0x25 */
    uint8_t pad26[0x6C - 0x26];
    uint8_t facing;             /* +0x6C */
    uint8_t pad6d[0x03];
    void *info;                 /* +0x70: EntityInfo*, Item* or trap id */
};

struct Tile { /* 0x18 bytes */
    uint16_t terrain;           /* +0x00 */
    uint16_t pad02;
    uint8_t visibility;         /* +0x04 */
    uint8_t pad05[0x04];
    uint8_t room;               /* +0x09 */
    uint8_t pad0a[0x06];
    struct Entity *monster;     /* +0x10 */
    struct Entity *object;      /* +0x14 */
};

struct Dungeon {
    uint8_t pad0000[0x0F];
    uint8_t turn_ready;                        /* +0x0F noActionInProgress */
    uint8_t pad0010[0x04];
    uint8_t start_floor;                       /* +0x14 */
    uint8_t pad0015[0x644 - 0x15];
    uint8_t dungeon_id;                        /* +0x644 */
    uint8_t floor;                             /* +0x645 */
    uint8_t pad0646[0x69C - 0x646];
    struct EntityInfo team[MAX_TEAM];          /* +0x69C */
    struct EntityInfo wild[MAX_WILD];          /* +0xEBC */
    uint8_t pad2f3c[0x3804 - 0x2F3C];
    struct Item items[MAX_FLOOR_ITEMS];        /* +0x3804 */
    uint8_t item_count;                        /* +0x3904 */
    uint8_t pad3905[0x3A18 - 0x3905];
    struct Tile tiles[MAP_H][MAP_W];           /* +0x3A18 */
    uint8_t padE218[0x1357C - 0xE218];
    struct Entity *team_ptrs[MAX_TEAM];        /* +0x1357C */
    struct Entity *wild_ptrs[MAX_WILD];        /* +0x1358C */
    struct Entity *active_ptrs[20];            /* +0x135CC */
    struct Entity *item_ptrs[MAX_FLOOR_ITEMS]; /* +0x1361C */
    struct Entity *trap_ptrs[MAX_TRAPS];       /* +0x1371C */
    struct Entity team_storage[MAX_TEAM];      /* +0x1381C */
    struct Entity wild_storage[MAX_WILD];
    struct Entity item_storage[MAX_FLOOR_ITEMS];
    struct Entity trap_storage[MAX_TRAPS];
    uint8_t pad_rest[DUNGEON_SIZE - 0x1381C - 0x74 * (MAX_TEAM + MAX_WILD + MAX_FLOOR_ITEMS + MAX_TRAPS)];
};

_Static_assert(sizeof(struct Item) == 4, "Item");
_Static_assert(sizeof(struct EntityInfo) == 0x208, "EntityInfo");
_Static_assert(offsetof(struct EntityInfo, belly) == 0x13C, "belly");
_Static_assert(sizeof(struct Entity) == 0x74, "Entity");
_Static_assert(offsetof(struct Entity, facing) == 0x6C, "facing");
_Static_assert(offsetof(struct Entity, info) == 0x70, "info");
_Static_assert(sizeof(struct Tile) == 0x18, "Tile");
_Static_assert(offsetof(struct Dungeon, turn_ready) == 0x0F, "turn_ready");
_Static_assert(offsetof(struct Dungeon, floor) == 0x645, "floor");
_Static_assert(offsetof(struct Dungeon, team) == 0x69C, "team");
_Static_assert(offsetof(struct Dungeon, wild) == 0xEBC, "wild");
_Static_assert(offsetof(struct Dungeon, items) == 0x3804, "items");
_Static_assert(offsetof(struct Dungeon, item_count) == 0x3904, "item_count");
_Static_assert(offsetof(struct Dungeon, tiles) == 0x3A18, "tiles");
_Static_assert(offsetof(struct Dungeon, team_ptrs) == 0x1357C, "team_ptrs");
_Static_assert(offsetof(struct Dungeon, wild_ptrs) == 0x1358C, "wild_ptrs");
_Static_assert(offsetof(struct Dungeon, item_ptrs) == 0x1361C, "item_ptrs");
_Static_assert(offsetof(struct Dungeon, trap_ptrs) == 0x1371C, "trap_ptrs");
_Static_assert(offsetof(struct Dungeon, team_storage) == 0x1381C, "storage");
_Static_assert(sizeof(struct Dungeon) == DUNGEON_SIZE, "Dungeon");

#define DUNGEON ((struct Dungeon *)DUNGEON_ADDR)
#define G_DUNGEON (*(struct Dungeon **)ADDR_GDUNGEON)
#define G_LEADER_POINTER (*(struct Entity **)ADDR_LEADER_POINTER)
#define G_RNG (*(uint32_t *)ADDR_DUNGEON_RNG)
#define G_DUNGEON_FRAMES (*(uint32_t *)ADDR_DUNGEON_FRAMES)
#define G_LEADER_X (*(int16_t *)ADDR_LEADER_POS)
#define G_LEADER_Y (*(int16_t *)(ADDR_LEADER_POS + 2))
#define G_TEAM_ITEMS ((struct Item *)ADDR_TEAM_INVENTORY)

#endif
