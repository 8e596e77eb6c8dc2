//! The PMD-Red US (`B24E`) RAM map, as named constants.
//!
//! Source of every value: the public pret/pmd-red decompilation (its symbol
//! file and `include/structs/*.h`) as summarised in
//! `shared/reference/pmd-red-ram.md`. None is verified on a running retail
//! ROM yet: the decoder checks invariants at run time instead of trusting
//! them. The test cartridge keeps its dungeon in this same layout
//! (`native/cartridge/pmd_layout.h`, whose `_Static_assert`s pin the
//! offsets on the C side).

/// Fixed EWRAM addresses (decomp symbol file).
pub mod addr {
    /// `gDungeon`: pointer to the heap-allocated Dungeon struct, NULL
    /// outside a dungeon.
    pub const G_DUNGEON: u32 = 0x0203_B418;
    /// `gLeaderPointer`: the leader's Entity.
    pub const G_LEADER_POINTER: u32 = 0x0203_B450;
    /// `gDungeonRngState`: the dungeon RNG's whole state (u32).
    pub const G_DUNGEON_RNG_STATE: u32 = 0x0203_B454;
    /// `gLeaderPosition`: s16 x, s16 y, updated on every leader move.
    pub const G_LEADER_POSITION: u32 = 0x0202_EE0C;
    /// `gDungeonFramesCounter`.
    pub const G_DUNGEON_FRAMES_COUNTER: u32 = 0x0202_EDCC;
    /// `gTeamInventory`: `teamItems[20]`, 4 bytes each; money at +0x260.
    pub const G_TEAM_INVENTORY: u32 = 0x0203_89A8;
    /// `gCurrentMap`: s16 overworld map id.
    pub const G_CURRENT_MAP: u32 = 0x0203_9A30;
}

/// Dungeon struct: size and field offsets.
pub mod dungeon {
    /// `sizeof(Dungeon)`.
    pub const SIZE: usize = 0x1CEDC;
    /// `noActionInProgress`: non-zero when the game accepts the next input.
    pub const TURN_READY: usize = 0x0F;
    /// `startFloorId`.
    pub const START_FLOOR: usize = 0x14;
    /// Dungeon id (u8).
    pub const DUNGEON_ID: usize = 0x644;
    /// Floor (u8).
    pub const FLOOR: usize = 0x645;
    /// `EntityInfo team[4]`.
    pub const TEAM_INFO: usize = 0x69C;
    /// `EntityInfo wild[16]`.
    pub const WILD_INFO: usize = 0xEBC;
    /// `Item items[64]` (floor items).
    pub const FLOOR_ITEMS: usize = 0x3804;
    /// Number of floor items (u8).
    pub const FLOOR_ITEM_COUNT: usize = 0x3904;
    /// `Tile tiles[32][56]`, row-major (y, x).
    pub const TILES: usize = 0x3A18;
    /// `Entity* teamPokemon[4]`.
    pub const TEAM_PTRS: usize = 0x1357C;
    /// `Entity* wildPokemon[16]`.
    pub const WILD_PTRS: usize = 0x1358C;
    /// `Entity* activePokemon[20]`.
    pub const ACTIVE_PTRS: usize = 0x135CC;
    /// `Entity* items[64]`.
    pub const ITEM_PTRS: usize = 0x1361C;
    /// `Entity* traps[64]`.
    pub const TRAP_PTRS: usize = 0x1371C;
    /// Entity storage (team, then wild, items, traps).
    pub const ENTITY_STORAGE: usize = 0x1381C;
}

/// Map size in tiles.
pub const MAP_WIDTH: usize = 56;
/// Map size in tiles.
pub const MAP_HEIGHT: usize = 32;
/// Team slots.
pub const MAX_TEAM: usize = 4;
/// Wild monster slots.
pub const MAX_WILD: usize = 16;
/// Floor item slots.
pub const MAX_FLOOR_ITEMS: usize = 64;
/// Trap slots.
pub const MAX_TRAPS: usize = 64;
/// Team inventory slots.
pub const TEAM_ITEMS: usize = 20;

/// Tile (0x18 bytes).
pub mod tile {
    /// `sizeof(Tile)`.
    pub const SIZE: usize = 0x18;
    /// Terrain flags (u16).
    pub const TERRAIN: usize = 0x00;
    /// Visibility flags (u8).
    pub const VISIBILITY: usize = 0x04;
    /// Room index, 0xFF in corridors.
    pub const ROOM: usize = 0x09;
    /// Terrain type in the low two bits: wall.
    pub const TERRAIN_WALL: u16 = 0;
    /// Terrain type: normal floor.
    pub const TERRAIN_FLOOR: u16 = 1;
    /// Terrain type: water or lava.
    pub const TERRAIN_WATER: u16 = 2;
    /// Mask of the terrain type.
    pub const TERRAIN_MASK: u16 = 3;
    /// Shop tile flag.
    pub const FLAG_SHOP: u16 = 0x20;
    /// Monster house flag.
    pub const FLAG_MONSTER_HOUSE: u16 = 0x40;
    /// Stairs flag.
    pub const FLAG_STAIRS: u16 = 0x200;
    /// Visibility: revealed on the map. (The reference says "bit 1
    /// revealed, bit 2 visited"; read as 1-based bits, matching the
    /// later games' documented bitfields.)
    pub const VIS_REVEALED: u8 = 0x01;
    /// Visibility: the leader has stood here.
    pub const VIS_VISITED: u8 = 0x02;
    /// Room index of corridor tiles.
    pub const ROOM_CORRIDOR: u8 = 0xFF;
}

/// Entity (0x74 bytes).
pub mod entity {
    /// `sizeof(Entity)`.
    pub const SIZE: usize = 0x74;
    /// Type (u32): 0 unused, 1 monster, 2 trap, 3 item.
    pub const TYPE: usize = 0x00;
    /// Position: s16 x, s16 y (tiles).
    pub const POS: usize = 0x04;
    /// Is visible (u8).
    pub const VISIBLE: usize = 0x20;
    /// Room (u8).
    pub const ROOM: usize = 0x25;
    /// Facing direction (u8).
    pub const FACING: usize = 0x6C;
    /// Pointer to the EntityInfo (monsters) or item/trap record.
    pub const INFO: usize = 0x70;
    /// Entity type: unused slot.
    pub const TYPE_NONE: u32 = 0;
    /// Entity type: monster.
    pub const TYPE_MONSTER: u32 = 1;
    /// Entity type: trap.
    pub const TYPE_TRAP: u32 = 2;
    /// Entity type: item.
    pub const TYPE_ITEM: u32 = 3;
}

/// EntityInfo (0x208 bytes).
pub mod info {
    /// `sizeof(EntityInfo)`.
    pub const SIZE: usize = 0x208;
    /// Species id (s16).
    pub const SPECIES: usize = 0x02;
    /// Is team leader (u8).
    pub const IS_LEADER: usize = 0x07;
    /// Level (u8).
    pub const LEVEL: usize = 0x09;
    /// HP (s16).
    pub const HP: usize = 0x0E;
    /// Max HP (s16).
    pub const MAX_HP: usize = 0x10;
    /// Belly, whole part (s16); thousandths follow at +0x13E.
    pub const BELLY: usize = 0x13C;
    /// Max belly, whole part (s16).
    pub const MAX_BELLY: usize = 0x140;
}

/// Item record (4 bytes): flags, quantity, id.
pub mod item {
    /// `sizeof(Item)`.
    pub const SIZE: usize = 4;
    /// Flags (bit 0: slot in use).
    pub const FLAGS: usize = 0;
    /// Quantity.
    pub const QUANTITY: usize = 1;
    /// Item id.
    pub const ID: usize = 2;
}

// The layout is self-consistent: arrays end where the next field starts,
// as the decomp lays them out. Checked at compile time.
const _: () = {
    assert!(dungeon::TEAM_INFO + MAX_TEAM * info::SIZE == dungeon::WILD_INFO);
    assert!(dungeon::FLOOR_ITEMS + MAX_FLOOR_ITEMS * item::SIZE == dungeon::FLOOR_ITEM_COUNT);
    assert!(dungeon::TEAM_PTRS + MAX_TEAM * 4 == dungeon::WILD_PTRS);
    assert!(dungeon::WILD_PTRS + MAX_WILD * 4 == dungeon::ACTIVE_PTRS);
    assert!(dungeon::ACTIVE_PTRS + 20 * 4 == dungeon::ITEM_PTRS);
    assert!(dungeon::ITEM_PTRS + MAX_FLOOR_ITEMS * 4 == dungeon::TRAP_PTRS);
    assert!(dungeon::TRAP_PTRS + MAX_TRAPS * 4 == dungeon::ENTITY_STORAGE);
    assert!(
        dungeon::ENTITY_STORAGE
            + (MAX_TEAM + MAX_WILD + MAX_FLOOR_ITEMS + MAX_TRAPS) * entity::SIZE
            <= dungeon::SIZE
    );
    assert!(dungeon::TILES + MAP_WIDTH * MAP_HEIGHT * tile::SIZE <= dungeon::TEAM_PTRS);
};
