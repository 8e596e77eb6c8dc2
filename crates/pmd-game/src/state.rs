//! [`DungeonState`]: a fully decoded dungeon in fixed-capacity storage,
//! refilled in place (no allocation per decode).

use serde::Serialize;

use super::ram_map::{
    tile, MAP_HEIGHT, MAP_WIDTH, MAX_FLOOR_ITEMS, MAX_TEAM, MAX_TRAPS, MAX_WILD, TEAM_ITEMS,
};
use super::{DecodeError, DungeonView};

/// A team member or wild monster.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Monster {
    /// Slot in its pointer table.
    pub slot: u8,
    /// Species id.
    pub species: i16,
    /// Level.
    pub level: u8,
    /// HP (0..=max_hp).
    pub hp: i16,
    /// Max HP.
    pub max_hp: i16,
    /// Belly, whole part.
    pub belly: i16,
    /// Max belly, whole part.
    pub max_belly: i16,
    /// Tile x (0..56).
    pub x: u8,
    /// Tile y (0..32).
    pub y: u8,
    /// Facing, PMD order: 0 down, 1 down-right, 2 right, 3 up-right, 4 up,
    /// 5 up-left, 6 left, 7 down-left.
    pub facing: u8,
    /// Team leader flag.
    pub is_leader: bool,
    /// Shown to the player.
    pub visible: bool,
}

/// What lies on a floor tile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    /// A pick-up item.
    #[default]
    Item,
    /// A trap.
    Trap,
}

/// A floor item or trap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FloorObject {
    /// Item or trap.
    pub kind: ObjectKind,
    /// Item id (0 for traps: trap records are not decoded).
    pub id: u8,
    /// Item quantity.
    pub quantity: u8,
    /// Tile x.
    pub x: u8,
    /// Tile y.
    pub y: u8,
    /// Shown to the player.
    pub visible: bool,
}

/// One map tile: terrain flags, visibility flags and room, packed in one
/// word (terrain in bits 0-15, visibility 16-23, room 24-31) so a full
/// decode writes one word per tile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tile(u32);

impl Tile {
    #[inline]
    pub(crate) fn from_raw(terrain: u16, visibility: u8, room: u8) -> Tile {
        Tile(u32::from(terrain) | u32::from(visibility) << 16 | u32::from(room) << 24)
    }

    fn terrain(self) -> u16 {
        self.0 as u16
    }

    fn visibility(self) -> u8 {
        (self.0 >> 16) as u8
    }

    /// Wall (impassable).
    pub fn is_wall(self) -> bool {
        self.terrain() & tile::TERRAIN_MASK == tile::TERRAIN_WALL
    }

    /// Plain walkable floor.
    pub fn is_floor(self) -> bool {
        self.terrain() & tile::TERRAIN_MASK == tile::TERRAIN_FLOOR
    }

    /// Water or lava.
    pub fn is_water(self) -> bool {
        self.terrain() & tile::TERRAIN_MASK == tile::TERRAIN_WATER
    }

    /// Stairs to the next floor.
    pub fn is_stairs(self) -> bool {
        self.terrain() & tile::FLAG_STAIRS != 0
    }

    /// Revealed on the player's map.
    pub fn revealed(self) -> bool {
        self.visibility() & tile::VIS_REVEALED != 0
    }

    /// The leader has stood here.
    pub fn visited(self) -> bool {
        self.visibility() & tile::VIS_VISITED != 0
    }

    /// Room index; `None` in corridors.
    pub fn room(self) -> Option<u8> {
        let room = (self.0 >> 24) as u8;
        (room != tile::ROOM_CORRIDOR).then_some(room)
    }

    /// Revealed stairs: one mask test on the packed word.
    #[inline]
    pub(crate) fn is_revealed_stairs(self) -> bool {
        let mask = u32::from(tile::FLAG_STAIRS) | u32::from(tile::VIS_REVEALED) << 16;
        self.0 & mask == mask
    }

    /// Raw terrain flags.
    pub fn terrain_flags(self) -> u16 {
        self.terrain()
    }
}

/// Everything decoded from one dungeon state. `clone_from` reuses the
/// destination's storage (no allocation).
#[derive(Debug)]
pub struct DungeonState {
    /// Dungeon id.
    pub dungeon_id: u8,
    /// Floor (1-based).
    pub floor: u8,
    /// Whether the game accepts the next input.
    pub turn_ready: bool,
    team: [Monster; MAX_TEAM],
    team_len: usize,
    leader: Option<usize>,
    wild: [Monster; MAX_WILD],
    wild_len: usize,
    items: [FloorObject; MAX_FLOOR_ITEMS],
    items_len: usize,
    traps: [FloorObject; MAX_TRAPS],
    traps_len: usize,
    tiles: Box<[Tile]>,
    stairs: Option<(u8, u8)>,
    bag: [(u8, u8); TEAM_ITEMS],
    bag_len: usize,
}

impl Clone for DungeonState {
    fn clone(&self) -> Self {
        let mut copy = DungeonState::new();
        copy.clone_from(self);
        copy
    }

    fn clone_from(&mut self, source: &Self) {
        let DungeonState {
            dungeon_id,
            floor,
            turn_ready,
            team,
            team_len,
            leader,
            wild,
            wild_len,
            items,
            items_len,
            traps,
            traps_len,
            tiles,
            stairs,
            bag,
            bag_len,
        } = source;
        self.dungeon_id = *dungeon_id;
        self.floor = *floor;
        self.turn_ready = *turn_ready;
        self.team = *team;
        self.team_len = *team_len;
        self.leader = *leader;
        self.wild = *wild;
        self.wild_len = *wild_len;
        self.items = *items;
        self.items_len = *items_len;
        self.traps = *traps;
        self.traps_len = *traps_len;
        if self.tiles.len() == tiles.len() {
            self.tiles.copy_from_slice(tiles);
        } else {
            self.tiles = tiles.clone();
        }
        self.stairs = *stairs;
        self.bag = *bag;
        self.bag_len = *bag_len;
    }
}

impl Default for DungeonState {
    fn default() -> Self {
        DungeonState::new()
    }
}

impl DungeonState {
    /// Empty storage; allocate once, then [`decode`](Self::decode) into it.
    pub fn new() -> DungeonState {
        DungeonState {
            dungeon_id: 0,
            floor: 0,
            turn_ready: false,
            team: [Monster::default(); MAX_TEAM],
            team_len: 0,
            leader: None,
            wild: [Monster::default(); MAX_WILD],
            wild_len: 0,
            items: [FloorObject::default(); MAX_FLOOR_ITEMS],
            items_len: 0,
            traps: [FloorObject::default(); MAX_TRAPS],
            traps_len: 0,
            tiles: vec![Tile::default(); MAP_WIDTH * MAP_HEIGHT].into_boxed_slice(),
            stairs: None,
            bag: [(0, 0); TEAM_ITEMS],
            bag_len: 0,
        }
    }

    /// A state built by hand, for unit tests: floor 1, every tile floor
    /// (`revealed` or not), the leader first in `team`, and `wild`.
    #[cfg(any(test, feature = "test-support"))]
    #[doc(hidden)]
    pub fn for_test(revealed: bool, team: &[Monster], wild: &[Monster]) -> DungeonState {
        use super::ram_map::tile::{TERRAIN_FLOOR, VIS_REVEALED};
        let mut s = DungeonState::new();
        s.floor = 1;
        s.turn_ready = true;
        let vis = if revealed { VIS_REVEALED } else { 0 };
        s.tiles.fill(Tile::from_raw(TERRAIN_FLOOR, vis, 0));
        s.team[..team.len()].copy_from_slice(team);
        s.team_len = team.len();
        s.leader = (!team.is_empty()).then_some(0);
        s.wild[..wild.len()].copy_from_slice(wild);
        s.wild_len = wild.len();
        s
    }

    /// Puts `(item id, count)` entries in the bag (unit tests).
    #[cfg(any(test, feature = "test-support"))]
    #[doc(hidden)]
    pub fn set_bag_for_test(&mut self, bag: &[(u8, u8)]) {
        self.bag[..bag.len()].copy_from_slice(bag);
        self.bag_len = bag.len();
    }

    /// Reveals or hides the tile at (x, y) (unit tests).
    #[cfg(any(test, feature = "test-support"))]
    #[doc(hidden)]
    pub fn set_revealed_for_test(&mut self, x: usize, y: usize, revealed: bool) {
        use super::ram_map::tile::{TERRAIN_FLOOR, VIS_REVEALED};
        let vis = if revealed { VIS_REVEALED } else { 0 };
        self.tiles[y * MAP_WIDTH + x] = Tile::from_raw(TERRAIN_FLOOR, vis, 0);
    }

    /// Sets the tile at (x, y): terrain flags, revealed or not, and room
    /// (`None`: corridor) (unit tests).
    #[cfg(any(test, feature = "test-support"))]
    #[doc(hidden)]
    pub fn set_tile_for_test(&mut self, x: usize, y: usize, terrain: u16, room: Option<u8>) {
        use super::ram_map::tile::{ROOM_CORRIDOR, VIS_REVEALED};
        let vis = self.tiles[y * MAP_WIDTH + x].visibility() & VIS_REVEALED;
        let room = room.unwrap_or(ROOM_CORRIDOR);
        self.tiles[y * MAP_WIDTH + x] = Tile::from_raw(terrain, vis, room);
    }

    /// Decodes the whole dungeon from `view`, reusing this storage. On error
    /// the contents are unspecified (but valid).
    pub fn decode(&mut self, view: &DungeonView<'_>) -> Result<(), DecodeError> {
        self.dungeon_id = view.dungeon_id();
        self.floor = view.floor();
        self.turn_ready = view.turn_ready();

        self.team_len = 0;
        self.leader = None;
        for slot in 0..MAX_TEAM {
            if let Some(m) = view.team_member(slot)? {
                if m.is_leader && self.leader.is_none() {
                    self.leader = Some(self.team_len);
                }
                self.team[self.team_len] = m;
                self.team_len += 1;
            }
        }
        if self.leader.is_none() && self.team_len > 0 {
            self.leader = Some(0);
        }

        self.wild_len = 0;
        for slot in 0..MAX_WILD {
            if let Some(m) = view.wild_monster(slot)? {
                self.wild[self.wild_len] = m;
                self.wild_len += 1;
            }
        }

        self.items_len = 0;
        self.traps_len = 0;
        for slot in 0..MAX_FLOOR_ITEMS {
            if let Some(o) = view.object(super::ObjectKind::Item, slot)? {
                self.items[self.items_len] = o;
                self.items_len += 1;
            }
        }
        for slot in 0..MAX_TRAPS {
            if let Some(o) = view.object(super::ObjectKind::Trap, slot)? {
                self.traps[self.traps_len] = o;
                self.traps_len += 1;
            }
        }

        self.bag_len = 0;
        for slot in 0..TEAM_ITEMS {
            if let Some(entry) = view.bag_item(slot) {
                self.bag[self.bag_len] = entry;
                self.bag_len += 1;
            }
        }
        self.stairs = view
            .tiles_into(&mut self.tiles)
            .map(|i| ((i % MAP_WIDTH) as u8, (i / MAP_WIDTH) as u8));
        Ok(())
    }

    /// Decodes into fresh storage.
    pub fn from_view(view: &DungeonView<'_>) -> Result<DungeonState, DecodeError> {
        let mut state = DungeonState::new();
        state.decode(view)?;
        Ok(state)
    }

    /// The team, in slot order.
    pub fn team(&self) -> &[Monster] {
        &self.team[..self.team_len]
    }

    /// The leader, if the team is not empty.
    pub fn leader(&self) -> Option<&Monster> {
        self.leader.map(|i| &self.team[i])
    }

    /// Every wild monster present (visible or not).
    pub fn wild(&self) -> &[Monster] {
        &self.wild[..self.wild_len]
    }

    /// The wild monsters the player is shown.
    pub fn visible_wild(&self) -> impl Iterator<Item = &Monster> {
        self.wild().iter().filter(|m| m.visible)
    }

    /// Items on the floor.
    pub fn items(&self) -> &[FloorObject] {
        &self.items[..self.items_len]
    }

    /// Traps on the floor.
    pub fn traps(&self) -> &[FloorObject] {
        &self.traps[..self.traps_len]
    }

    /// All 56x32 tiles, row-major.
    pub fn tiles(&self) -> &[Tile] {
        &self.tiles
    }

    /// The tile at (x, y).
    pub fn tile(&self, x: usize, y: usize) -> Option<Tile> {
        (x < MAP_WIDTH && y < MAP_HEIGHT).then(|| self.tiles[y * MAP_WIDTH + x])
    }

    /// Whether (x, y) is revealed ground the leader can walk on: floor
    /// terrain (what the game lets a walker onto; the action masks use the
    /// same test, revealed or not), revealed. The heuristic's and the
    /// search's paths and the observation's ways all walk on this.
    pub fn known_walkable(&self, x: usize, y: usize) -> bool {
        self.tile(x, y)
            .is_some_and(|t| t.revealed() && t.is_floor())
    }

    /// Whether (x, y) is known walkable ground next to (in any of 8
    /// directions) an unrevealed tile of the map: where exploring goes on.
    pub fn is_frontier(&self, x: usize, y: usize) -> bool {
        self.known_walkable(x, y)
            && (-1i32..=1).any(|dy| {
                (-1i32..=1).any(|dx| {
                    let (nx, ny) = (x as i32 + dx, y as i32 + dy);
                    (dx, dy) != (0, 0)
                        && nx >= 0
                        && ny >= 0
                        && self
                            .tile(nx as usize, ny as usize)
                            .is_some_and(|t| !t.revealed())
                })
            })
    }

    /// The team's bag: (item id, quantity) per used slot.
    pub fn bag(&self) -> &[(u8, u8)] {
        &self.bag[..self.bag_len]
    }

    /// The stairs, once revealed.
    pub fn stairs(&self) -> Option<(u8, u8)> {
        self.stairs
    }

    /// The map as the player knows it, one string per row: `' '`
    /// unrevealed, `#` wall, `.` floor, `~` water, `>` stairs, `@` leader,
    /// `P` other team member, `m` visible wild monster, `*` visible item,
    /// `^` visible trap.
    pub fn ascii_rows(&self) -> Vec<String> {
        let mut grid: Vec<Vec<char>> = (0..MAP_HEIGHT)
            .map(|y| {
                (0..MAP_WIDTH)
                    .map(|x| {
                        let t = self.tiles[y * MAP_WIDTH + x];
                        if !t.revealed() {
                            ' '
                        } else if t.is_stairs() {
                            '>'
                        } else if t.is_wall() {
                            '#'
                        } else if t.is_water() {
                            '~'
                        } else {
                            '.'
                        }
                    })
                    .collect()
            })
            .collect();
        let mut put = |x: u8, y: u8, c: char| grid[y as usize][x as usize] = c;
        for o in self.traps().iter().filter(|o| o.visible) {
            put(o.x, o.y, '^');
        }
        for o in self.items().iter().filter(|o| o.visible) {
            put(o.x, o.y, '*');
        }
        for m in self.visible_wild() {
            put(m.x, m.y, 'm');
        }
        for m in self.team() {
            put(m.x, m.y, if m.is_leader { '@' } else { 'P' });
        }
        grid.into_iter()
            .map(|row| row.into_iter().collect())
            .collect()
    }
}
