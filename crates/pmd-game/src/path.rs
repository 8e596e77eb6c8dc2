//! Shortest paths on the dungeon map (breadth-first, 8 directions, no
//! cutting wall corners, as PMD moves). Fixed-size buffers on the stack:
//! no allocation.

use super::ram_map::{MAP_HEIGHT, MAP_WIDTH};
use super::Direction;

/// Tiles on the map (56 x 32).
pub const CELLS: usize = MAP_WIDTH * MAP_HEIGHT;
const UNSEEN: u16 = u16::MAX;

fn index(x: i32, y: i32) -> Option<usize> {
    ((0..MAP_WIDTH as i32).contains(&x) && (0..MAP_HEIGHT as i32).contains(&y))
        .then(|| y as usize * MAP_WIDTH + x as usize)
}

/// Whether one step from (x, y) by (dx, dy) is allowed, where `passable`
/// says which tiles may be entered.
pub fn can_step(
    passable: &impl Fn(usize, usize) -> bool,
    x: i32,
    y: i32,
    dx: i32,
    dy: i32,
) -> bool {
    let ok = |x: i32, y: i32| index(x, y).is_some() && passable(x as usize, y as usize);
    ok(x + dx, y + dy) && (dx == 0 || dy == 0 || (ok(x + dx, y) && ok(x, y + dy)))
}

/// What [`distances`] writes where no path leads.
pub const UNREACHABLE: u16 = UNSEEN;

/// Writes into `out` the steps from the nearest of `sources` to every cell
/// (row-major; [`UNREACHABLE`] where no path leads), moving as
/// [`first_step`] does through the tiles `passable` allows. Sources off
/// the map are ignored.
pub fn distances(
    sources: impl IntoIterator<Item = (u8, u8)>,
    passable: impl Fn(usize, usize) -> bool,
    out: &mut [u16; CELLS],
) {
    out.fill(UNSEEN);
    // Each cell enters the queue once.
    let mut queue = [0u16; CELLS];
    let (mut head, mut tail) = (0usize, 0usize);
    for (x, y) in sources {
        if let Some(cell) = index(i32::from(x), i32::from(y)) {
            if out[cell] == UNSEEN {
                out[cell] = 0;
                queue[tail] = cell as u16;
                tail += 1;
            }
        }
    }
    while head < tail {
        let cell = usize::from(queue[head]);
        head += 1;
        let (x, y) = ((cell % MAP_WIDTH) as i32, (cell / MAP_WIDTH) as i32);
        for dir in Direction::ALL {
            let (dx, dy) = dir.delta();
            let (dx, dy) = (i32::from(dx), i32::from(dy));
            if !can_step(&passable, x, y, dx, dy) {
                continue;
            }
            if let Some(next) = index(x + dx, y + dy) {
                if out[next] == UNSEEN {
                    out[next] = out[cell] + 1;
                    queue[tail] = next as u16;
                    tail += 1;
                }
            }
        }
    }
}

/// The first step (PMD direction index 0..8) of a shortest path from
/// `from` to any tile where `goal(x, y)` holds, moving only through tiles
/// where `passable(x, y)` holds; with the path length. `None` when no goal
/// is reachable or `from` is already one.
pub fn first_step(
    from: (u8, u8),
    passable: impl Fn(usize, usize) -> bool,
    goal: impl Fn(usize, usize) -> bool,
) -> Option<(u8, u32)> {
    let start = index(i32::from(from.0), i32::from(from.1))?;
    if goal(usize::from(from.0), usize::from(from.1)) {
        return None;
    }
    // first[i]: direction of the first step on the path to cell i.
    let mut first = [u8::MAX; CELLS];
    let mut dist = [UNSEEN; CELLS];
    let mut queue = [0u16; CELLS];
    let (mut head, mut tail) = (0usize, 0usize);
    dist[start] = 0;
    queue[tail] = start as u16;
    tail += 1;
    while head < tail {
        let cell = usize::from(queue[head]);
        head += 1;
        let (x, y) = ((cell % MAP_WIDTH) as i32, (cell / MAP_WIDTH) as i32);
        for dir in Direction::ALL {
            let (dx, dy) = dir.delta();
            let (dx, dy) = (i32::from(dx), i32::from(dy));
            if !can_step(&passable, x, y, dx, dy) {
                continue;
            }
            let Some(next) = index(x + dx, y + dy) else {
                continue;
            };
            if dist[next] != UNSEEN {
                continue;
            }
            dist[next] = dist[cell] + 1;
            first[next] = if cell == start {
                dir as u8
            } else {
                first[cell]
            };
            if goal((x + dx) as usize, (y + dy) as usize) {
                return Some((first[next], u32::from(dist[next])));
            }
            queue[tail] = next as u16;
            tail += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_do_not_cut_corners_and_start_from_the_nearest_source() {
        // Open: (1,1), (2,1), (2,2), (5,5). The diagonal (1,1) -> (2,2)
        // cuts the wall at (1,2): two steps, not one.
        let open = |x: usize, y: usize| matches!((x, y), (1, 1) | (2, 1) | (2, 2) | (5, 5));
        let at = |x: usize, y: usize| y * MAP_WIDTH + x;
        let mut d = [0u16; CELLS];
        distances([(1, 1)], open, &mut d);
        assert_eq!((d[at(1, 1)], d[at(2, 1)], d[at(2, 2)]), (0, 1, 2));
        assert_eq!(d[at(5, 5)], UNREACHABLE);
        distances([(1, 1), (2, 2)], open, &mut d);
        assert_eq!(d[at(2, 1)], 1);
        assert_eq!(d[at(2, 2)], 0);
        // an off-map source is ignored
        distances([(200, 200)], open, &mut d);
        assert!(d.iter().all(|&x| x == UNREACHABLE));
    }
}
