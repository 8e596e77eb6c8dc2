/* The mini-dungeon: rooms and corridors from the dungeon RNG, a leader with
 * HP and belly, wild monsters that chase and attack, healing items, traps
 * and stairs. All state lives in the PMD-layout Dungeon struct (and the
 * team inventory), so the host decodes it exactly as it decodes the game. */
#include "game.h"

#include "cart.h"
#include "gba.h"
#include "rng.h"

const int8_t DIR_DX[8] = {0, 1, 1, 1, 0, -1, -1, -1};
const int8_t DIR_DY[8] = {1, 1, 0, -1, -1, -1, 0, 1};

static const int16_t WILD_SPECIES[] = {19, 16, 21, 10, 13, 41};
#define LEADER_SPECIES 4
#define GRID_COLS 4
#define GRID_ROWS 2
#define CELL_W 14
#define CELL_H 16

struct Room {
    uint8_t x0, y0, x1, y1; /* inclusive */
};

uint8_t g_map_dirty;

static struct Room rooms[GRID_COLS * GRID_ROWS];
/* Whether monsters take their turn when the running animation ends. */
static uint8_t monsters_pending;

void *memset(void *dst, int value, unsigned long n);

static struct Tile *tile_at(int x, int y) {
    return &DUNGEON->tiles[y][x];
}

static int in_map(int x, int y) {
    return x >= 0 && y >= 0 && x < MAP_W && y < MAP_H;
}

static int walkable(int x, int y) {
    return in_map(x, y) && (tile_at(x, y)->terrain & TERRAIN_MASK) == TERRAIN_FLOOR;
}

static int iabs(int v) {
    return v < 0 ? -v : v;
}

static int sign(int v) {
    return (v > 0) - (v < 0);
}

static int chebyshev(int dx, int dy) {
    int ax = iabs(dx), ay = iabs(dy);
    return ax > ay ? ax : ay;
}

/* A step from (x, y) by (dx, dy) is possible: the target is floor and a
 * diagonal step does not cut a wall corner (as in PMD). */
static int can_step(int x, int y, int dx, int dy) {
    if (!walkable(x + dx, y + dy)) {
        return 0;
    }
    if (dx != 0 && dy != 0) {
        return walkable(x + dx, y) && walkable(x, y + dy);
    }
    return 1;
}

static int dir_of(int dx, int dy) {
    for (int d = 0; d < 8; d++) {
        if (DIR_DX[d] == dx && DIR_DY[d] == dy) {
            return d;
        }
    }
    return 0;
}

static struct Entity *leader(void) {
    return &DUNGEON->team_storage[0];
}

static struct EntityInfo *leader_info(void) {
    return &DUNGEON->team[0];
}

static void place_entity(struct Entity *e, int x, int y) {
    e->x = (int16_t)x;
    e->y = (int16_t)y;
    e->room = tile_at(x, y)->room;
}

static int tile_free(int x, int y) {
    struct Tile *t = tile_at(x, y);
    return (t->terrain & TERRAIN_MASK) == TERRAIN_FLOOR && !(t->terrain & TERRAIN_STAIRS) &&
           !t->monster && !t->object;
}

static int random_free_tile(int room, int *x, int *y) {
    const struct Room *r = &rooms[room];
    for (int tries = 0; tries < 32; tries++) {
        int cx = r->x0 + rng_range(r->x1 - r->x0 + 1);
        int cy = r->y0 + rng_range(r->y1 - r->y0 + 1);
        if (tile_free(cx, cy)) {
            *x = cx;
            *y = cy;
            return 1;
        }
    }
    return 0;
}

static void carve(int x, int y, uint8_t room) {
    struct Tile *t = tile_at(x, y);
    if ((t->terrain & TERRAIN_MASK) == TERRAIN_WALL) {
        t->terrain = TERRAIN_FLOOR;
        t->room = room;
    }
}

static void connect_rooms(int a, int b) {
    int ax = (rooms[a].x0 + rooms[a].x1) >> 1, ay = (rooms[a].y0 + rooms[a].y1) >> 1;
    int bx = (rooms[b].x0 + rooms[b].x1) >> 1, by = (rooms[b].y0 + rooms[b].y1) >> 1;
    for (int x = ax; x != bx; x += sign(bx - ax)) {
        carve(x, ay, ROOM_CORRIDOR);
    }
    for (int y = ay; y != by; y += sign(by - ay)) {
        carve(bx, y, ROOM_CORRIDOR);
    }
    carve(bx, by, ROOM_CORRIDOR);
}

/* Marks what the leader can see: its whole room (walls included) or, in a
 * corridor, the eight tiles around it; then which entities are visible. */
static void update_visibility(void) {
    struct Entity *l = leader();
    struct Tile *here = tile_at(l->x, l->y);
    here->visibility |= VIS_REVEALED | VIS_VISITED;
    int x0 = l->x - 1, y0 = l->y - 1, x1 = l->x + 1, y1 = l->y + 1;
    if (here->room != ROOM_CORRIDOR) {
        const struct Room *r = &rooms[here->room];
        x0 = r->x0 - 1;
        y0 = r->y0 - 1;
        x1 = r->x1 + 1;
        y1 = r->y1 + 1;
    }
    for (int y = y0; y <= y1; y++) {
        for (int x = x0; x <= x1; x++) {
            if (in_map(x, y)) {
                tile_at(x, y)->visibility |= VIS_REVEALED;
            }
        }
    }
    for (int i = 0; i < MAX_WILD; i++) {
        struct Entity *m = DUNGEON->wild_ptrs[i];
        if (!m) {
            continue;
        }
        int same_room = m->room == here->room && here->room != ROOM_CORRIDOR;
        int near = chebyshev(m->x - l->x, m->y - l->y) <= 2;
        m->is_visible = (uint8_t)((same_room || near) ? 1 : 0);
    }
    for (int i = 0; i < MAX_FLOOR_ITEMS; i++) {
        struct Entity *e = DUNGEON->item_ptrs[i];
        if (e) {
            e->is_visible = (tile_at(e->x, e->y)->visibility & VIS_REVEALED) ? 1 : 0;
        }
    }
    for (int i = 0; i < MAX_TRAPS; i++) {
        struct Entity *e = DUNGEON->trap_ptrs[i];
        if (e) {
            e->is_visible = (tile_at(e->x, e->y)->visibility & VIS_REVEALED) ? 1 : 0;
        }
    }
    g_map_dirty = 1;
    G_LEADER_X = l->x;
    G_LEADER_Y = l->y;
    CART->cursor_x = l->x;
    CART->cursor_y = l->y;
}

void game_start_run(void) {
    struct Dungeon *d = DUNGEON;
    /* header, team and wild records; game_generate_floor clears the rest */
    memset(d, 0, offsetof(struct Dungeon, items));
    memset(G_TEAM_ITEMS, 0, sizeof(struct Item) * TEAM_ITEMS);
    d->dungeon_id = 1;
    d->start_floor = 1;
    d->floor = 0;

    struct EntityInfo *info = leader_info();
    info->species = LEADER_SPECIES;
    info->is_leader = 1;
    info->level = 5;
    info->hp = info->max_hp = 40;
    info->belly = info->max_belly = 100;

    CART->total_turns = 0;
    CART->kills = 0;
    G_DUNGEON_FRAMES = 0;
    game_generate_floor();
    G_DUNGEON = d;
    G_LEADER_POINTER = leader();
}

void game_generate_floor(void) {
    struct Dungeon *d = DUNGEON;
    CART->floor_seed = G_RNG;
    d->floor++;
    d->turn_ready = 0;
    memset(d->wild, 0, sizeof(d->wild));
    memset(d->items, 0, sizeof(d->items));
    d->item_count = 0;
    memset(d->tiles, 0, sizeof(d->tiles));
    memset(d->team_ptrs, 0, 0x1381C - 0x1357C); /* every pointer table */
    memset(d->wild_storage, 0, sizeof(d->wild_storage) + sizeof(d->item_storage) +
                                   sizeof(d->trap_storage));

    for (int y = 0; y < MAP_H; y++) {
        for (int x = 0; x < MAP_W; x++) {
            tile_at(x, y)->room = ROOM_CORRIDOR;
        }
    }
    for (int i = 0; i < GRID_COLS * GRID_ROWS; i++) {
        int cx = i % GRID_COLS, cy = i / GRID_COLS;
        int w = 4 + rng_range(6), h = 3 + rng_range(6);
        int x0 = cx * CELL_W + 1 + rng_range(CELL_W - 2 - w + 1);
        int y0 = cy * CELL_H + 1 + rng_range(CELL_H - 2 - h + 1);
        rooms[i] = (struct Room){(uint8_t)x0, (uint8_t)y0, (uint8_t)(x0 + w - 1),
                                 (uint8_t)(y0 + h - 1)};
        for (int y = y0; y < y0 + h; y++) {
            for (int x = x0; x < x0 + w; x++) {
                tile_at(x, y)->terrain = TERRAIN_FLOOR;
                tile_at(x, y)->room = (uint8_t)i;
            }
        }
    }
    for (int cy = 0; cy < GRID_ROWS; cy++) {
        for (int cx = 0; cx + 1 < GRID_COLS; cx++) {
            connect_rooms(cy * GRID_COLS + cx, cy * GRID_COLS + cx + 1);
        }
    }
    int always = rng_range(GRID_COLS);
    for (int cx = 0; cx < GRID_COLS; cx++) {
        if (cx == always || rng_range(2)) {
            connect_rooms(cx, GRID_COLS + cx);
        }
    }

    /* the leader */
    int leader_room = rng_range(GRID_COLS * GRID_ROWS);
    int x = rooms[leader_room].x0, y = rooms[leader_room].y0;
    random_free_tile(leader_room, &x, &y);
    struct Entity *l = leader();
    l->type = ENTITY_MONSTER;
    l->info = leader_info();
    l->is_visible = 1;
    place_entity(l, x, y);
    tile_at(x, y)->monster = l;
    d->team_ptrs[0] = l;
    d->active_ptrs[0] = l;

    /* the stairs, in another room */
    int stairs_room = (leader_room + 1 + rng_range(GRID_COLS * GRID_ROWS - 1)) % (GRID_COLS * GRID_ROWS);
    if (random_free_tile(stairs_room, &x, &y)) {
        tile_at(x, y)->terrain |= TERRAIN_STAIRS;
    }

    /* healing items */
    int items = 2 + rng_range(3);
    for (int i = 0; i < items; i++) {
        if (!random_free_tile(rng_range(GRID_COLS * GRID_ROWS), &x, &y)) {
            continue;
        }
        int slot = d->item_count++;
        d->items[slot] = (struct Item){1, 1, ITEM_ORAN_BERRY, 0};
        struct Entity *e = &d->item_storage[slot];
        e->type = ENTITY_ITEM;
        e->info = &d->items[slot];
        place_entity(e, x, y);
        tile_at(x, y)->object = e;
        d->item_ptrs[slot] = e;
    }

    /* traps */
    int traps = 1 + rng_range(2);
    for (int i = 0; i < traps; i++) {
        if (!random_free_tile(rng_range(GRID_COLS * GRID_ROWS), &x, &y)) {
            continue;
        }
        struct Entity *e = &d->trap_storage[i];
        e->type = ENTITY_TRAP;
        e->info = 0;
        place_entity(e, x, y);
        tile_at(x, y)->object = e;
        d->trap_ptrs[i] = e;
    }

    /* wild monsters, never in the leader's room */
    int wild = 3 + rng_range(3) + (d->floor >> 1);
    if (wild > 8) {
        wild = 8;
    }
    for (int i = 0; i < wild; i++) {
        int room = rng_range(GRID_COLS * GRID_ROWS);
        if (room == leader_room || !random_free_tile(room, &x, &y)) {
            continue;
        }
        struct EntityInfo *info = &d->wild[i];
        info->species = WILD_SPECIES[rng_range(sizeof(WILD_SPECIES) / sizeof(WILD_SPECIES[0]))];
        info->level = (uint8_t)(1 + d->floor);
        info->hp = info->max_hp = (int16_t)(8 + 2 * d->floor + rng_range(4));
        info->belly = info->max_belly = 100;
        struct Entity *e = &d->wild_storage[i];
        e->type = ENTITY_MONSTER;
        e->info = info;
        e->facing = (uint8_t)rng_range(8);
        place_entity(e, x, y);
        tile_at(x, y)->monster = e;
        d->wild_ptrs[i] = e;
        d->active_ptrs[1 + i] = e;
    }

    CART->floor_turns = 0;
    update_visibility();
    d->turn_ready = 1;
}

static void remove_wild(int i) {
    struct Entity *m = DUNGEON->wild_ptrs[i];
    tile_at(m->x, m->y)->monster = 0;
    DUNGEON->wild[i].hp = 0;
    m->type = ENTITY_NONE;
    m->is_visible = 0;
    DUNGEON->wild_ptrs[i] = 0;
    DUNGEON->active_ptrs[1 + i] = 0;
}

static int wild_index(const struct Entity *m) {
    for (int i = 0; i < MAX_WILD; i++) {
        if (DUNGEON->wild_ptrs[i] == m) {
            return i;
        }
    }
    return -1;
}

static void hurt_leader(int damage) {
    struct EntityInfo *info = leader_info();
    info->hp = (int16_t)(info->hp - damage);
    if (info->hp < 0) {
        info->hp = 0;
    }
}

/* Walks onto (x, y): picks up an item, springs a trap. */
static void step_leader(int x, int y) {
    struct Entity *l = leader();
    tile_at(l->x, l->y)->monster = 0;
    place_entity(l, x, y);
    struct Tile *t = tile_at(x, y);
    t->monster = l;
    struct Entity *object = t->object;
    if (object && object->type == ENTITY_ITEM) {
        struct Item *item = object->info;
        for (int s = 0; s < TEAM_ITEMS; s++) {
            if (!(G_TEAM_ITEMS[s].flags & 1)) {
                G_TEAM_ITEMS[s] = *item;
                item->flags = 0;
                object->type = ENTITY_NONE;
                object->is_visible = 0;
                t->object = 0;
                for (int i = 0; i < MAX_FLOOR_ITEMS; i++) {
                    if (DUNGEON->item_ptrs[i] == object) {
                        DUNGEON->item_ptrs[i] = 0;
                    }
                }
                DUNGEON->item_count--;
                break;
            }
        }
    } else if (object && object->type == ENTITY_TRAP) {
        hurt_leader(TRAP_DAMAGE);
    }
    update_visibility();
}

static void begin_turn(uint8_t event, uint8_t monsters_act) {
    CART->last_event = event;
    monsters_pending = monsters_act;
    DUNGEON->turn_ready = 0;
    CART->anim = TURN_ANIM_FRAMES;
}

static int keys_direction(uint16_t keys) {
    int dx = ((keys & KEY_RIGHT) ? 1 : 0) - ((keys & KEY_LEFT) ? 1 : 0);
    int dy = ((keys & KEY_DOWN) ? 1 : 0) - ((keys & KEY_UP) ? 1 : 0);
    if (dx == 0 && dy == 0) {
        return -1;
    }
    return dir_of(dx, dy);
}

static void use_item(void) {
    for (int s = 0; s < TEAM_ITEMS; s++) {
        struct Item *item = &G_TEAM_ITEMS[s];
        if ((item->flags & 1) && item->id == ITEM_ORAN_BERRY) {
            struct EntityInfo *info = leader_info();
            info->hp = (int16_t)(info->hp + 20 > info->max_hp ? info->max_hp : info->hp + 20);
            info->belly = (int16_t)(info->belly + 5 > info->max_belly ? info->max_belly : info->belly + 5);
            /* keep the inventory packed, like the game's item list */
            for (int t = s; t + 1 < TEAM_ITEMS; t++) {
                G_TEAM_ITEMS[t] = G_TEAM_ITEMS[t + 1];
            }
            G_TEAM_ITEMS[TEAM_ITEMS - 1] = (struct Item){0, 0, 0, 0};
            begin_turn(EVENT_ATE, 1);
            return;
        }
    }
    CART->last_event = EVENT_NO_ITEM;
}

void game_input(uint16_t keys) {
    if (!DUNGEON->turn_ready || CART->anim || keys == 0) {
        return;
    }
    struct Entity *l = leader();
    int dir = keys_direction(keys);
    if (dir >= 0 && (keys & KEY_B)) {
        l->facing = (uint8_t)dir;
        CART->last_event = EVENT_TURNED;
        return;
    }
    if (dir >= 0) {
        int dx = DIR_DX[dir], dy = DIR_DY[dir];
        l->facing = (uint8_t)dir;
        if (!can_step(l->x, l->y, dx, dy) || tile_at(l->x + dx, l->y + dy)->monster) {
            CART->last_event = EVENT_BLOCKED;
            return;
        }
        step_leader(l->x + dx, l->y + dy);
        begin_turn(EVENT_MOVED, 1);
        return;
    }
    if (keys & KEY_A) {
        int tx = l->x + DIR_DX[l->facing], ty = l->y + DIR_DY[l->facing];
        if (in_map(tx, ty)) {
            struct Entity *target = tile_at(tx, ty)->monster;
            int i = target ? wild_index(target) : -1;
            if (i >= 0) {
                struct EntityInfo *info = &DUNGEON->wild[i];
                int damage = 5 + (leader_info()->level >> 1) + rng_range(3);
                info->hp = (int16_t)(info->hp - damage);
                if (info->hp <= 0) {
                    remove_wild(i);
                    CART->kills++;
                }
            }
        }
        begin_turn(EVENT_ATTACKED, 1);
        return;
    }
    if (keys & KEY_L) {
        begin_turn(EVENT_WAITED, 1);
        return;
    }
    if (keys & KEY_START) {
        use_item();
        return;
    }
    if (keys & KEY_SELECT) {
        if (tile_at(l->x, l->y)->terrain & TERRAIN_STAIRS) {
            if (DUNGEON->floor >= FINAL_FLOOR) {
                /* Out of the dungeon, as the real game leaves it: the
                 * dungeon pointer goes NULL. */
                CART->last_event = EVENT_CLEARED;
                CART->phase = PHASE_CLEARED;
                G_DUNGEON = 0;
                G_LEADER_POINTER = 0;
                return;
            }
            game_generate_floor();
            begin_turn(EVENT_STAIRS, 0);
        } else {
            CART->last_event = EVENT_NOT_ON_STAIRS;
        }
    }
}

static void monster_turn(int i) {
    struct Entity *m = DUNGEON->wild_ptrs[i];
    struct Entity *l = leader();
    int dx = l->x - m->x, dy = l->y - m->y;
    int distance = chebyshev(dx, dy);
    int sx = sign(dx), sy = sign(dy);
    if (distance == 1 && can_step(m->x, m->y, sx, sy)) {
        m->facing = (uint8_t)dir_of(sx, sy);
        hurt_leader(2 + (DUNGEON->floor >> 1) + rng_range(3));
        return;
    }
    int same_room = m->room == l->room && l->room != ROOM_CORRIDOR;
    int tries[3][2] = {{sx, sy}, {sx, 0}, {0, sy}};
    int count = 3;
    if (!same_room && distance > 4) {
        if (rng_range(2)) {
            return;
        }
        int d = rng_range(8);
        tries[0][0] = DIR_DX[d];
        tries[0][1] = DIR_DY[d];
        count = 1;
    }
    for (int k = 0; k < count; k++) {
        int tx = tries[k][0], ty = tries[k][1];
        if ((tx || ty) && can_step(m->x, m->y, tx, ty) && !tile_at(m->x + tx, m->y + ty)->monster) {
            tile_at(m->x, m->y)->monster = 0;
            place_entity(m, m->x + tx, m->y + ty);
            tile_at(m->x, m->y)->monster = m;
            m->facing = (uint8_t)dir_of(tx, ty);
            return;
        }
    }
}

static void end_turn(void) {
    struct EntityInfo *info = leader_info();
    if (monsters_pending) {
        for (int i = 0; i < MAX_WILD && info->hp > 0; i++) {
            if (DUNGEON->wild_ptrs[i]) {
                monster_turn(i);
            }
        }
        CART->floor_turns++;
        CART->total_turns++;
        if (CART->total_turns % 10 == 0 && info->belly > 0) {
            info->belly--;
        }
        if (info->belly == 0) {
            hurt_leader(1);
        } else if (CART->total_turns % 4 == 0 && info->hp > 0 && info->hp < info->max_hp) {
            info->hp++;
        }
        update_visibility();
    }
    if (info->hp <= 0) {
        CART->phase = PHASE_GAME_OVER;
        CART->last_event = EVENT_FAINTED;
    }
    DUNGEON->turn_ready = 1;
}

void game_tick(void) {
    if (CART->anim == 0) {
        return;
    }
    CART->anim--;
    if (CART->anim == 0) {
        end_turn();
    }
}
