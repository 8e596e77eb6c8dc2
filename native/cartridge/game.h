/* The mini-dungeon game: floor generation, turns, monsters. */
#ifndef PMD_CART_GAME_H
#define PMD_CART_GAME_H

#include <stdint.h>

#include "pmd_layout.h"

#define TURN_ANIM_FRAMES 8
#define ITEM_ORAN_BERRY 0x46
#define TRAP_DAMAGE 5
/* Taking the stairs on this floor clears the dungeon. */
#define FINAL_FLOOR 10

/* PMD's direction order: down, down-right, right, up-right, up, up-left,
 * left, down-left. */
extern const int8_t DIR_DX[8];
extern const int8_t DIR_DY[8];

/* Set when the map's terrain or visibility changed; the drawer clears it. */
extern uint8_t g_map_dirty;

void game_start_run(void);
void game_generate_floor(void);
/* Handles one frame of held keys while the game waits for input. */
void game_input(uint16_t keys);
/* Advances the running turn's animation; ends the turn when it runs out. */
void game_tick(void);

#endif
