//! The eight directions of the dungeon grid, in PMD's order (the value an
//! Entity's facing byte holds).

use serde::{Deserialize, Serialize};

/// The eight directions, in PMD's order (the value stored in an Entity's
/// facing byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// +y.
    Down = 0,
    /// +x, +y.
    DownRight = 1,
    /// +x.
    Right = 2,
    /// +x, -y.
    UpRight = 3,
    /// -y.
    Up = 4,
    /// -x, -y.
    UpLeft = 5,
    /// -x.
    Left = 6,
    /// -x, +y.
    DownLeft = 7,
}

impl Direction {
    /// All eight, in PMD order.
    pub const ALL: [Direction; 8] = [
        Direction::Down,
        Direction::DownRight,
        Direction::Right,
        Direction::UpRight,
        Direction::Up,
        Direction::UpLeft,
        Direction::Left,
        Direction::DownLeft,
    ];

    /// The direction with PMD index `i` (0..8).
    pub fn from_index(i: u8) -> Option<Direction> {
        Direction::ALL.get(usize::from(i)).copied()
    }

    /// (dx, dy) in tiles.
    pub fn delta(self) -> (i8, i8) {
        const D: [(i8, i8); 8] = [
            (0, 1),
            (1, 1),
            (1, 0),
            (1, -1),
            (0, -1),
            (-1, -1),
            (-1, 0),
            (-1, 1),
        ];
        D[self as usize]
    }

    /// The direction of a unit step (dx, dy), each in -1..=1.
    pub fn from_delta(dx: i32, dy: i32) -> Option<Direction> {
        Direction::ALL
            .into_iter()
            .find(|d| d.delta() == (dx as i8, dy as i8))
    }

    /// The d-pad buttons for this direction (two for diagonals).
    pub fn keys(self) -> pmd_mgba::Keys {
        use pmd_mgba::Keys;
        let (dx, dy) = self.delta();
        let mut keys = Keys::empty();
        keys.set(Keys::RIGHT, dx > 0);
        keys.set(Keys::LEFT, dx < 0);
        keys.set(Keys::DOWN, dy > 0);
        keys.set(Keys::UP, dy < 0);
        keys
    }

    /// Lower-case name (`down_right`).
    pub fn name(self) -> &'static str {
        [
            "down",
            "down_right",
            "right",
            "up_right",
            "up",
            "up_left",
            "left",
            "down_left",
        ][self as usize]
    }
}
