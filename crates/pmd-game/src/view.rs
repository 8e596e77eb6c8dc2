//! [`DungeonView`]: the Dungeon struct read in place from EWRAM.

use super::ram_map::{addr, dungeon, entity, info, item, tile, MAP_HEIGHT, MAP_WIDTH};
use super::state::{FloorObject, Monster, ObjectKind, Tile};
use super::DecodeError;
use pmd_mgba::{Emulator, EWRAM_BASE, EWRAM_SIZE};

/// The dungeon state borrowed from EWRAM (no copy), found by following
/// `gDungeon` with checks. Every read is bounds-checked against the slice:
/// arbitrary bytes give a [`DecodeError`], never a panic.
#[derive(Debug, Clone, Copy)]
pub struct DungeonView<'a> {
    ewram: &'a [u8],
    /// The Dungeon struct itself, `dungeon::SIZE` bytes.
    d: &'a [u8],
}

fn le_u16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(s) => u16::from_le_bytes([s[0], s[1]]),
        None => 0,
    }
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(s) => u32::from_le_bytes([s[0], s[1], s[2], s[3]]),
        None => 0,
    }
}

fn byte(b: &[u8], at: usize) -> u8 {
    b.get(at).copied().unwrap_or(0)
}

/// The slice of `ewram` holding `size` bytes at bus address `ptr`.
fn follow<'a>(
    ewram: &'a [u8],
    ptr: u32,
    size: usize,
    what: &'static str,
) -> Result<&'a [u8], DecodeError> {
    let offset = ptr
        .checked_sub(EWRAM_BASE)
        .map(|o| o as usize)
        .filter(|&o| o < ewram.len().min(EWRAM_SIZE))
        .ok_or(DecodeError::PointerOutOfRange { what, ptr })?;
    ewram
        .get(offset..offset.saturating_add(size))
        .ok_or(DecodeError::PastEnd { what, ptr, size })
}

fn position(e: &[u8], what: &'static str, index: usize) -> Result<(u8, u8), DecodeError> {
    let x = le_u16(e, entity::POS) as i16;
    let y = le_u16(e, entity::POS + 2) as i16;
    if (0..MAP_WIDTH as i16).contains(&x) && (0..MAP_HEIGHT as i16).contains(&y) {
        Ok((x as u8, y as u8))
    } else {
        Err(DecodeError::OutOfMap {
            what,
            index: index as u8,
            x,
            y,
        })
    }
}

impl<'a> DungeonView<'a> {
    /// Follows `gDungeon` in `ewram` (the 256 KiB EWRAM image).
    pub fn new(ewram: &'a [u8]) -> Result<DungeonView<'a>, DecodeError> {
        let ptr = le_u32(ewram, (addr::G_DUNGEON - EWRAM_BASE) as usize);
        if ptr == 0 {
            return Err(DecodeError::NotInDungeon);
        }
        let d = follow(ewram, ptr, dungeon::SIZE, "gDungeon")?;
        Ok(DungeonView { ewram, d })
    }

    /// The view of an emulator's EWRAM.
    pub fn of(emu: &'a Emulator) -> Result<DungeonView<'a>, DecodeError> {
        DungeonView::new(emu.ewram())
    }

    /// Dungeon id.
    pub fn dungeon_id(&self) -> u8 {
        byte(self.d, dungeon::DUNGEON_ID)
    }

    /// Floor number (1-based).
    pub fn floor(&self) -> u8 {
        byte(self.d, dungeon::FLOOR)
    }

    /// Whether the game accepts the next input (`noActionInProgress`).
    pub fn turn_ready(&self) -> bool {
        byte(self.d, dungeon::TURN_READY) != 0
    }

    /// The tile at (x, y); `None` outside the map.
    pub fn tile(&self, x: usize, y: usize) -> Option<Tile> {
        if x >= MAP_WIDTH || y >= MAP_HEIGHT {
            return None;
        }
        let at = dungeon::TILES + (y * MAP_WIDTH + x) * tile::SIZE;
        let t = self.d.get(at..at + tile::SIZE)?;
        Some(Tile::from_raw(
            le_u16(t, tile::TERRAIN),
            byte(t, tile::VISIBILITY),
            byte(t, tile::ROOM),
        ))
    }

    /// Decodes every tile in row-major order into `out` (1792 tiles) and
    /// returns the index of the first revealed stairs tile, in one pass.
    pub(crate) fn tiles_into(&self, out: &mut [Tile]) -> Option<usize> {
        let start = dungeon::TILES;
        let end = start + MAP_WIDTH * MAP_HEIGHT * tile::SIZE;
        let bytes = self.d.get(start..end).unwrap_or(&[]);
        let (records, _) = bytes.as_chunks::<{ tile::SIZE }>();
        for (dst, t) in out.iter_mut().zip(records) {
            *dst = Tile::from_raw(
                u16::from_le_bytes([t[tile::TERRAIN], t[tile::TERRAIN + 1]]),
                t[tile::VISIBILITY],
                t[tile::ROOM],
            );
        }
        // Find the stairs 16 tiles at a time: the per-chunk test has no
        // early exit, so it vectorises; only the hit chunk is searched.
        let stairs = out.chunks(16).enumerate().find_map(|(c, chunk)| {
            let any = chunk
                .iter()
                .fold(false, |acc, t| acc | t.is_revealed_stairs());
            any.then(|| chunk.iter().position(|t| t.is_revealed_stairs()))
                .flatten()
                .map(|i| c * 16 + i)
        });
        stairs
    }

    /// The entity pointer in slot `index` of the table at `table`.
    fn entity_ptr(&self, table: usize, index: usize) -> u32 {
        le_u32(self.d, table + 4 * index)
    }

    /// Decodes the monster in slot `index` of a pointer table; `Ok(None)`
    /// for an empty slot.
    pub(crate) fn monster(
        &self,
        table: usize,
        index: usize,
        what: &'static str,
    ) -> Result<Option<Monster>, DecodeError> {
        let ptr = self.entity_ptr(table, index);
        if ptr == 0 {
            return Ok(None);
        }
        let e = follow(self.ewram, ptr, entity::SIZE, what)?;
        match le_u32(e, entity::TYPE) {
            entity::TYPE_NONE => return Ok(None),
            entity::TYPE_MONSTER => {}
            found => {
                return Err(DecodeError::BadEntityType {
                    what,
                    index: index as u8,
                    found,
                })
            }
        }
        let (x, y) = position(e, what, index)?;
        let i = follow(self.ewram, le_u32(e, entity::INFO), info::SIZE, what)?;
        let hp = le_u16(i, info::HP) as i16;
        let max_hp = le_u16(i, info::MAX_HP) as i16;
        if hp < 0 || hp > max_hp {
            return Err(DecodeError::BadHp {
                what,
                index: index as u8,
                hp,
                max_hp,
            });
        }
        Ok(Some(Monster {
            slot: index as u8,
            species: le_u16(i, info::SPECIES) as i16,
            level: byte(i, info::LEVEL),
            hp,
            max_hp,
            belly: le_u16(i, info::BELLY) as i16,
            max_belly: le_u16(i, info::MAX_BELLY) as i16,
            x,
            y,
            facing: byte(e, entity::FACING) & 7,
            is_leader: byte(i, info::IS_LEADER) != 0,
            visible: byte(e, entity::VISIBLE) != 0,
        }))
    }

    /// Team member in slot `index` (0..4).
    pub fn team_member(&self, index: usize) -> Result<Option<Monster>, DecodeError> {
        self.monster(dungeon::TEAM_PTRS, index, "team member")
    }

    /// Wild monster in slot `index` (0..16).
    pub fn wild_monster(&self, index: usize) -> Result<Option<Monster>, DecodeError> {
        self.monster(dungeon::WILD_PTRS, index, "wild monster")
    }

    /// The team leader: the team member flagged as leader, else slot 0.
    pub fn leader(&self) -> Result<Option<Monster>, DecodeError> {
        let mut first = None;
        for index in 0..super::ram_map::MAX_TEAM {
            if let Some(m) = self.team_member(index)? {
                if m.is_leader {
                    return Ok(Some(m));
                }
                first = first.or(Some(m));
            }
        }
        Ok(first)
    }

    /// Team inventory slot `index` (0..20) as (item id, quantity); `None`
    /// for an empty slot. (`gTeamInventory` is at a fixed address, outside
    /// the Dungeon struct.)
    pub fn bag_item(&self, index: usize) -> Option<(u8, u8)> {
        if index >= super::ram_map::TEAM_ITEMS {
            return None;
        }
        let at = (addr::G_TEAM_INVENTORY - EWRAM_BASE) as usize + index * item::SIZE;
        let rec = self.ewram.get(at..at + item::SIZE)?;
        (rec[item::FLAGS] & 1 != 0).then(|| (rec[item::ID], rec[item::QUANTITY]))
    }

    /// Floor item or trap in slot `index` of its table; `Ok(None)` for an
    /// empty slot.
    pub(crate) fn object(
        &self,
        kind: ObjectKind,
        index: usize,
    ) -> Result<Option<FloorObject>, DecodeError> {
        let (table, what, expected) = match kind {
            ObjectKind::Item => (dungeon::ITEM_PTRS, "floor item", entity::TYPE_ITEM),
            ObjectKind::Trap => (dungeon::TRAP_PTRS, "trap", entity::TYPE_TRAP),
        };
        let ptr = self.entity_ptr(table, index);
        if ptr == 0 {
            return Ok(None);
        }
        let e = follow(self.ewram, ptr, entity::SIZE, what)?;
        let found = le_u32(e, entity::TYPE);
        if found == entity::TYPE_NONE {
            return Ok(None);
        }
        if found != expected {
            return Err(DecodeError::BadEntityType {
                what,
                index: index as u8,
                found,
            });
        }
        let (x, y) = position(e, what, index)?;
        let (id, quantity) = match kind {
            ObjectKind::Item => {
                let rec = follow(self.ewram, le_u32(e, entity::INFO), item::SIZE, what)?;
                (byte(rec, item::ID), byte(rec, item::QUANTITY))
            }
            // Trap records are not documented; only the position is read.
            ObjectKind::Trap => (0, 0),
        };
        Ok(Some(FloorObject {
            kind,
            id,
            quantity,
            x,
            y,
            visible: byte(e, entity::VISIBLE) != 0,
        }))
    }
}
