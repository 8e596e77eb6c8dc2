//! What a hosted player answers when it has no copy of the match's dungeon
//! (another ROM or start point than the league's, or a copy that diverged):
//! a decision from the state it was sent alone. The stairs when on them;
//! else the first step of a shortest path over the revealed map to the
//! stairs, or, while they are unknown, to the nearest revealed floor next
//! to unrevealed tiles; else waiting; else the first legal action.

use std::collections::VecDeque;

use serde::Deserialize;
use serde_json::Value;

use crate::game::dungeon::MOVES;

/// The parts of an `inspect --json` state read here.
#[derive(Debug, Deserialize)]
struct View {
    leader: Position,
    stairs: Option<Position>,
    map: MapRows,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
struct Position {
    x: i64,
    y: i64,
}

#[derive(Debug, Deserialize)]
struct MapRows {
    rows: Vec<String>,
}

/// Largest map considered (the game's is 56x32); anything bigger is not a
/// state of ours and is not searched.
const MAX_CELLS: usize = 64 * 64;

impl View {
    fn at(&self, x: i64, y: i64) -> u8 {
        if x < 0 || y < 0 {
            return b' ';
        }
        self.map
            .rows
            .get(y as usize)
            .and_then(|r| r.as_bytes().get(x as usize).copied())
            .unwrap_or(b' ')
    }

    /// Tiles the leader may stand on: revealed floor, stairs, items, traps
    /// (monsters, partners, walls, water and the unknown block).
    fn open(&self, x: i64, y: i64) -> bool {
        matches!(self.at(x, y), b'.' | b'>' | b'*' | b'^' | b'@')
    }

    fn frontier(&self, x: i64, y: i64) -> bool {
        MOVES
            .iter()
            .any(|&(_, (dx, dy))| self.at(x + i64::from(dx), y + i64::from(dy)) == b' ')
    }

    /// The first move (its wire name) of a shortest path (8 directions, no
    /// cutting wall corners) to the nearest tile `goal` accepts.
    fn first_step(&self, goal: impl Fn(i64, i64) -> bool) -> Option<&'static str> {
        let h = self.map.rows.len();
        let w = self.map.rows.iter().map(String::len).max().unwrap_or(0);
        if w * h == 0 || w * h > MAX_CELLS {
            return None;
        }
        let (sx, sy) = (self.leader.x, self.leader.y);
        if sx < 0 || sy < 0 || sx as usize >= w || sy as usize >= h {
            return None;
        }
        let idx = |x: i64, y: i64| y as usize * w + x as usize;
        let mut first: Vec<Option<&'static str>> = vec![None; w * h];
        let mut seen = vec![false; w * h];
        let mut queue = VecDeque::from([(sx, sy)]);
        seen[idx(sx, sy)] = true;
        while let Some((x, y)) = queue.pop_front() {
            if (x, y) != (sx, sy) && goal(x, y) {
                return first[idx(x, y)];
            }
            for (name, (dx, dy)) in MOVES {
                let (nx, ny) = (x + i64::from(dx), y + i64::from(dy));
                if nx < 0 || ny < 0 || nx as usize >= w || ny as usize >= h {
                    continue;
                }
                let corner_ok = dx == 0 || dy == 0 || (self.open(nx, y) && self.open(x, ny));
                if seen[idx(nx, ny)] || !self.open(nx, ny) || !corner_ok {
                    continue;
                }
                seen[idx(nx, ny)] = true;
                first[idx(nx, ny)] = Some(first[idx(x, y)].unwrap_or(name));
                queue.push_back((nx, ny));
            }
        }
        None
    }
}

/// The action for `state` among `legal` (which must not be empty).
pub(super) fn decide(state: &Value, legal: &[String]) -> String {
    let has = |a: &str| legal.iter().any(|l| l == a);
    if has("take_stairs") {
        return "take_stairs".into();
    }
    if let Ok(view) = View::deserialize(state) {
        let step = match view.stairs {
            Some(s) => view.first_step(|x, y| (x, y) == (s.x, s.y)),
            None => view.first_step(|x, y| view.frontier(x, y)),
        };
        if let Some(a) = step {
            if has(a) {
                return a.to_owned();
            }
        }
    }
    if has("wait") {
        "wait".into()
    } else {
        legal.first().cloned().unwrap_or_else(|| "wait".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state(rows: &[&str], leader: (i64, i64), stairs: Option<(i64, i64)>) -> Value {
        json!({
            "leader": {"x": leader.0, "y": leader.1},
            "stairs": stairs.map(|(x, y)| json!({"x": x, "y": y})),
            "map": {"rows": rows},
        })
    }

    fn all_moves() -> Vec<String> {
        MOVES
            .iter()
            .map(|(name, _)| (*name).to_owned())
            .chain(["wait".to_owned()])
            .collect()
    }

    #[test]
    fn walks_to_the_stairs_around_walls() {
        let rows = ["#####", "#@#>#", "#...#", "#####"];
        let s = state(&rows, (1, 1), Some((3, 1)));
        // Straight right is a wall, and diagonals may not cut the corner.
        assert_eq!(decide(&s, &all_moves()), "move_down");
        assert_eq!(
            decide(&s, &["take_stairs".into(), "wait".into()]),
            "take_stairs"
        );
    }

    #[test]
    fn explores_while_the_stairs_are_unknown() {
        let rows = ["#####", "#@.. ", "#####"];
        let s = state(&rows, (1, 1), None);
        assert_eq!(decide(&s, &all_moves()), "move_right");
    }

    #[test]
    fn garbage_states_fall_back_to_legal_actions() {
        assert_eq!(decide(&json!({"x": 1}), &all_moves()), "wait");
        assert_eq!(decide(&json!(null), &["move_up".into()]), "move_up");
        let huge = vec!["."; 10_000];
        let s = state(&huge, (0, 0), Some((0, 9_999)));
        assert_eq!(decide(&s, &all_moves()), "wait");
        let outside = state(&["..."], (-5, 40), Some((1, 0)));
        assert_eq!(decide(&outside, &all_moves()), "wait");
    }
}
