//! Why decoding the dungeon state failed.

/// A dungeon state that cannot be decoded: not in a dungeon, or RAM that
/// breaks an invariant of the layout (garbage behind a pointer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// `gDungeon` is NULL: title screen, menus or overworld.
    #[error("not in a dungeon (gDungeon is NULL)")]
    NotInDungeon,
    /// A pointer does not point into EWRAM.
    #[error("{what} pointer {ptr:#010x} is outside EWRAM")]
    PointerOutOfRange {
        /// What the pointer was for.
        what: &'static str,
        /// The pointer value.
        ptr: u32,
    },
    /// A pointed-to struct would run past the end of EWRAM.
    #[error("{what} at {ptr:#010x} ({size:#x} bytes) runs past the end of EWRAM")]
    PastEnd {
        /// What the struct is.
        what: &'static str,
        /// Its address.
        ptr: u32,
        /// Its size.
        size: usize,
    },
    /// HP above max HP, or negative.
    #[error("{what} {index} has HP {hp} of max {max_hp}")]
    BadHp {
        /// Team member or wild monster.
        what: &'static str,
        /// Slot index.
        index: u8,
        /// HP read.
        hp: i16,
        /// Max HP read.
        max_hp: i16,
    },
    /// A position outside the 56x32 map.
    #[error("{what} {index} is at ({x}, {y}), outside the 56x32 map")]
    OutOfMap {
        /// What was positioned.
        what: &'static str,
        /// Slot index.
        index: u8,
        /// x read.
        x: i16,
        /// y read.
        y: i16,
    },
    /// An entity slot holds a type that does not belong there.
    #[error("{what} {index} has entity type {found}")]
    BadEntityType {
        /// Which list.
        what: &'static str,
        /// Slot index.
        index: u8,
        /// Type read.
        found: u32,
    },
}
