/* Drawing the dungeon: the map on BG0, a status line on BG1, the leader,
 * monsters, items and traps as sprites. */
#ifndef PMD_CART_DRAW_H
#define PMD_CART_DRAW_H

void draw_init(void);
/* Redraws the screen from the game state; call during VBlank. */
void draw_frame(void);

#endif
