//! Graph traversal shared by the mapped base, the in-memory delta and the
//! builder: greedy descent through the upper layers, best-first search on a
//! layer, and the per-thread scratch space they reuse.

use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use crate::error::{IndexError, Result};
use crate::format::NONE;

/// A graph whose neighbour lists can be read by layer.
pub(crate) trait Graph {
    /// Number of nodes (ids are `0..len`).
    fn len(&self) -> usize;
    /// Entry point and top layer, `None` when empty.
    fn entry(&self) -> Option<(u32, usize)>;
    /// Neighbours of `node` on `level`, either borrowed from the graph or
    /// copied into `buf`. May contain `NONE` padding, which callers skip;
    /// other ids are not yet checked against `len`.
    fn neighbors<'a>(&'a self, node: u32, level: usize, buf: &'a mut Vec<u32>)
        -> Result<&'a [u32]>;
}

/// Distances from a fixed query to nodes.
pub(crate) trait Distances {
    /// `out[i] = distance(query, ids[i])`; ids are `< len` of the graph.
    fn distances(&self, ids: &[u32], out: &mut [f32]) -> Result<()>;
}

/// A (distance, id) pair ordered by distance (`f32::total_cmp`), ties by
/// id. Equality agrees with that order, so a NaN distance (garbage vectors
/// or a garbage quantisation step in a damaged file) still equals itself:
/// a derived `PartialEq` would make `c == c` false and the greedy descent
/// below would never see that it had stopped moving.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cand {
    pub dist: f32,
    pub id: u32,
}

impl PartialEq for Cand {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Cand {}

impl Ord for Cand {
    fn cmp(&self, other: &Self) -> Ordering {
        self.dist
            .total_cmp(&other.dist)
            .then(self.id.cmp(&other.id))
    }
}

impl PartialOrd for Cand {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Visited marks stamped with a generation, so starting a new search costs
/// nothing (a full clear only every 255 searches).
#[derive(Debug, Default)]
pub(crate) struct Visited {
    marks: Vec<u8>,
    generation: u8,
}

impl Visited {
    pub(crate) fn reset(&mut self, len: usize) {
        if self.marks.len() < len {
            self.marks.resize(len, 0);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.marks.fill(0);
            self.generation = 1;
        }
    }

    /// Marks `id`; true if it was not marked in this search. `id` must be
    /// below the `len` given to `reset` (callers check).
    #[inline]
    pub(crate) fn insert(&mut self, id: u32) -> bool {
        match self.marks.get_mut(id as usize) {
            Some(m) if *m != self.generation => {
                *m = self.generation;
                true
            }
            _ => false,
        }
    }
}

/// Reused buffers of one search.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    pub visited: Visited,
    pub candidates: BinaryHeap<Reverse<Cand>>,
    pub results: BinaryHeap<Cand>,
    pub nbuf: Vec<u32>,
    pub ids: Vec<u32>,
    pub dists: Vec<f32>,
    pub qbuf: Vec<i8>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch space (a fresh one if it is already
/// in use further up the stack).
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => f(&mut s),
        Err(_) => f(&mut Scratch::default()),
    })
}

fn bad_id(id: u32, node: u32, level: usize) -> IndexError {
    IndexError::corrupt(format!(
        "neighbour id {id} of node {node} on layer {level} is out of range"
    ))
}

/// Greedy descent on `level` from `start`: moves to the nearest neighbour
/// until none is nearer. Returns the local minimum. Each move is strictly
/// down a total order, so the walk makes fewer than `len` moves; the cap
/// turns any breach of that (a bug) into an error instead of a hang.
pub(crate) fn greedy<G: Graph, D: Distances>(
    g: &G,
    d: &D,
    start: Cand,
    level: usize,
    s: &mut Scratch,
) -> Result<Cand> {
    let n = g.len();
    let mut cur = start;
    for _ in 0..=n {
        let nbrs = g.neighbors(cur.id, level, &mut s.nbuf)?;
        s.ids.clear();
        for &id in nbrs {
            if id == NONE {
                continue;
            }
            if id as usize >= n {
                return Err(bad_id(id, cur.id, level));
            }
            s.ids.push(id);
        }
        s.dists.resize(s.ids.len(), 0.0);
        d.distances(&s.ids, &mut s.dists)?;
        let mut next = cur;
        for (&id, &dist) in s.ids.iter().zip(&s.dists) {
            let c = Cand { dist, id };
            if c < next {
                next = c;
            }
        }
        if next == cur {
            return Ok(cur);
        }
        cur = next;
    }
    Err(IndexError::corrupt(format!(
        "greedy descent on layer {level} did not settle within {n} moves"
    )))
}

/// Best-first search on `level` from `entries` keeping the `ef` nearest
/// nodes that pass `keep` in `s.results` (a max-heap). Every node reached is
/// expanded regardless of `keep`, so a filter does not cut the graph.
/// `s.visited` must have been reset for this query; entries are marked.
pub(crate) fn search_layer<G: Graph, D: Distances>(
    g: &G,
    d: &D,
    entries: &[Cand],
    ef: usize,
    level: usize,
    keep: &dyn Fn(u32) -> bool,
    s: &mut Scratch,
) -> Result<()> {
    let n = g.len();
    s.candidates.clear();
    s.results.clear();
    for &e in entries {
        if !s.visited.insert(e.id) {
            continue;
        }
        s.candidates.push(Reverse(e));
        if keep(e.id) {
            s.results.push(e);
            if s.results.len() > ef {
                s.results.pop();
            }
        }
    }
    while let Some(Reverse(c)) = s.candidates.pop() {
        if s.results.len() >= ef && s.results.peek().is_some_and(|w| c.dist > w.dist) {
            break;
        }
        let nbrs = g.neighbors(c.id, level, &mut s.nbuf)?;
        s.ids.clear();
        for &id in nbrs {
            if id == NONE {
                continue;
            }
            if id as usize >= n {
                return Err(bad_id(id, c.id, level));
            }
            if s.visited.insert(id) {
                s.ids.push(id);
            }
        }
        if s.ids.is_empty() {
            continue;
        }
        s.dists.resize(s.ids.len(), 0.0);
        d.distances(&s.ids, &mut s.dists)?;
        for (&id, &dist) in s.ids.iter().zip(&s.dists) {
            let full = s.results.len() >= ef;
            if full && s.results.peek().is_some_and(|w| dist >= w.dist) {
                continue;
            }
            let cand = Cand { dist, id };
            s.candidates.push(Reverse(cand));
            if keep(id) {
                s.results.push(cand);
                if s.results.len() > ef {
                    s.results.pop();
                }
            }
        }
    }
    Ok(())
}

/// Full HNSW query: descend from the entry point to layer 0 and search it
/// with `ef`. Leaves the `ef` best (passing `keep`) in `s.results`.
pub(crate) fn search_graph<G: Graph, D: Distances>(
    g: &G,
    d: &D,
    ef: usize,
    keep: &dyn Fn(u32) -> bool,
    s: &mut Scratch,
) -> Result<()> {
    s.results.clear();
    let Some((entry, top)) = g.entry() else {
        return Ok(());
    };
    s.visited.reset(g.len());
    let mut dist = [0.0f32];
    d.distances(&[entry], &mut dist)?;
    let mut cur = Cand {
        dist: dist[0],
        id: entry,
    };
    for level in (1..=top).rev() {
        cur = greedy(g, d, cur, level, s)?;
    }
    search_layer(g, d, &[cur], ef, 0, keep, s)
}

/// Drains `s.results` into `out` sorted nearest first.
pub(crate) fn drain_sorted(s: &mut Scratch, out: &mut Vec<Cand>) {
    out.clear();
    out.extend(s.results.drain());
    out.sort_unstable();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ring of `n` nodes on one layer, each linked to both sides.
    struct Ring(usize);

    impl Graph for Ring {
        fn len(&self) -> usize {
            self.0
        }
        fn entry(&self) -> Option<(u32, usize)> {
            Some((self.0 as u32 - 1, 1))
        }
        fn neighbors<'a>(
            &'a self,
            node: u32,
            _level: usize,
            buf: &'a mut Vec<u32>,
        ) -> Result<&'a [u32]> {
            let n = self.0 as u32;
            buf.clear();
            buf.extend([(node + 1) % n, (node + n - 1) % n]);
            Ok(buf)
        }
    }

    /// Every distance is the same NaN, as a garbage quantisation step gives.
    struct AllNan;

    impl Distances for AllNan {
        fn distances(&self, _ids: &[u32], out: &mut [f32]) -> Result<()> {
            out.fill(f32::INFINITY * 0.0);
            Ok(())
        }
    }

    #[test]
    fn a_nan_candidate_equals_itself() {
        let c = Cand {
            dist: f32::NAN,
            id: 3,
        };
        assert_eq!(c, c);
        assert_ne!(c, Cand { id: 4, ..c });
    }

    #[test]
    fn nan_distances_end_the_descent_and_the_search() {
        let mut s = Scratch::default();
        search_graph(&Ring(50), &AllNan, 5, &|_| true, &mut s).unwrap();
        assert_eq!(s.results.len(), 5);
        // Ties fall to the smallest ids: the walk went all the way down.
        let start = Cand {
            dist: f32::NAN,
            id: 49,
        };
        let end = greedy(&Ring(50), &AllNan, start, 1, &mut s).unwrap();
        assert_eq!(end.id, 0);
    }
}
