//! The HNSW builder: parallel insertion (rayon) into an in-memory graph
//! with one lock per neighbour list, then frozen into the flat file layout.
//! The same graph serves as the in-memory delta segment.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use parking_lot::{Mutex, RwLock};
use rayon::prelude::*;

use crate::distance::{self, QueryRef, Rows};
use crate::error::{IndexError, Result};
use crate::format::{MAX_LEVEL, NONE};
use crate::search::{self, Cand, Distances, Graph, Scratch};
use crate::Metric;

/// Graph construction parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BuildParams {
    /// Neighbours per node on layers above 0 (layer 0 keeps `2 * m`).
    pub m: usize,
    /// Candidate list size while inserting.
    pub ef_construction: usize,
    /// Seed of the layer draw (the graph also depends on thread timing
    /// when built on more than one thread).
    pub seed: u64,
}

impl Default for BuildParams {
    fn default() -> Self {
        Self {
            m: 16,
            ef_construction: 200,
            seed: 0x5eed_1dea,
        }
    }
}

impl BuildParams {
    pub(crate) fn check(&self) -> Result<()> {
        if !(2..=256).contains(&self.m) || self.ef_construction == 0 || self.ef_construction > 4096
        {
            return Err(IndexError::InvalidParameter(format!(
                "m must be 2..=256 and ef_construction 1..=4096, got {self:?}"
            )));
        }
        Ok(())
    }
}

/// Distances from a query to full-precision rows.
pub(crate) struct F32Rows<'a> {
    pub metric: Metric,
    pub rows: &'a [f32],
    pub dim: usize,
    pub query: &'a [f32],
}

impl Distances for F32Rows<'_> {
    fn distances(&self, ids: &[u32], out: &mut [f32]) -> Result<()> {
        if distance::distances(
            self.metric,
            Rows::F32(self.rows),
            self.dim,
            QueryRef::F32(self.query),
            ids,
            out,
        ) {
            Ok(())
        } else {
            Err(IndexError::corrupt("vector id out of range"))
        }
    }
}

/// An HNSW graph under construction (or the delta segment).
pub(crate) struct MemGraph {
    pub dim: usize,
    pub metric: Metric,
    pub params: BuildParams,
    pub vectors: Vec<f32>,
    levels: Vec<u8>,
    /// Layer 0, flat: per node a count then `m0` slots. Written only under
    /// the node's lock in `locks0`; read without it (a reader racing a
    /// rewrite may see a mix of old and new ids, all valid, which only
    /// perturbs that one traversal, as in other concurrent HNSW builders).
    layer0: Vec<AtomicU32>,
    locks0: Vec<Mutex<()>>,
    /// Layers 1.. of each node (empty for level-0 nodes).
    upper: Vec<Box<[Mutex<Vec<u32>>]>>,
    entry: RwLock<Option<(u32, usize)>>,
    top_lock: Mutex<()>,
}

/// The flat form of a graph, as written to a base file.
pub(crate) struct Frozen {
    pub levels: Vec<u8>,
    pub upper_offsets: Vec<u32>,
    pub layer0: Vec<u32>,
    pub upper: Vec<u32>,
    pub upper_blocks: u64,
    pub entry: Option<(u32, usize)>,
}

fn level_for(seed: u64, id: u64, ml: f64) -> u8 {
    // SplitMix64 of (seed, id): the layer of a point depends on nothing
    // else, whatever the thread count.
    let mut z = seed ^ id.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    let u = ((z >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    let level = (-u.ln() * ml).floor();
    level.clamp(0.0, f64::from(MAX_LEVEL)) as u8
}

/// Checks a batch of rows: length a multiple of `dim`, all finite.
pub(crate) fn check_rows(vectors: &[f32], dim: usize) -> Result<usize> {
    if dim == 0 || !vectors.len().is_multiple_of(dim) {
        return Err(IndexError::WrongDimension {
            expected: dim,
            found: if dim == 0 { 0 } else { vectors.len() % dim },
        });
    }
    if let Some(pos) = vectors.iter().position(|v| !v.is_finite()) {
        return Err(IndexError::NonFinite { row: pos / dim });
    }
    Ok(vectors.len() / dim)
}

impl MemGraph {
    pub(crate) fn new(dim: usize, metric: Metric, params: BuildParams) -> Self {
        Self {
            dim,
            metric,
            params,
            vectors: Vec::new(),
            levels: Vec::new(),
            layer0: Vec::new(),
            locks0: Vec::new(),
            upper: Vec::new(),
            entry: RwLock::new(None),
            top_lock: Mutex::new(()),
        }
    }

    pub(crate) fn m0(&self) -> usize {
        2 * self.params.m
    }

    fn ml(&self) -> f64 {
        1.0 / (self.params.m as f64).ln()
    }

    pub(crate) fn row(&self, id: u32) -> &[f32] {
        let s = id as usize * self.dim;
        &self.vectors[s..s + self.dim]
    }

    fn pair(&self, a: u32, b: u32) -> f32 {
        self.metric.distance(self.row(a), self.row(b))
    }

    /// Appends rows (already checked) and inserts them, in parallel when
    /// `parallel`. Ids continue from the current length.
    pub(crate) fn add(&mut self, vectors: &[f32], parallel: bool) -> Result<()> {
        let n_new = check_rows(vectors, self.dim)?;
        let start = self.levels.len();
        if (start + n_new) as u64 > crate::format::MAX_POINTS {
            return Err(IndexError::Full(crate::format::MAX_POINTS));
        }
        self.vectors.extend_from_slice(vectors);
        let ml = self.ml();
        for id in start..start + n_new {
            let level = level_for(self.params.seed, id as u64, ml);
            self.push_node(level);
        }
        let end = start + n_new;
        // A few serial insertions give the parallel ones a graph to enter.
        let serial_end = if parallel { (start + 32).min(end) } else { end };
        for id in start..serial_end {
            self.insert(id as u32)?;
        }
        let this = &*self;
        (serial_end..end)
            .into_par_iter()
            .try_for_each(|id| this.insert(id as u32))
    }

    fn push_node(&mut self, level: u8) {
        self.levels.push(level);
        let stride = 1 + self.m0();
        self.layer0
            .resize_with(self.layer0.len() + stride, || AtomicU32::new(0));
        self.locks0.push(Mutex::new(()));
        self.upper.push(
            (0..level)
                .map(|_| Mutex::new(Vec::new()))
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
    }

    fn slots0(&self, node: u32) -> &[AtomicU32] {
        let stride = 1 + self.m0();
        let s = node as usize * stride;
        &self.layer0[s..s + stride]
    }

    /// Layer-0 neighbours of `node` (lock-free read).
    fn read0(&self, node: u32, out: &mut Vec<u32>) {
        out.clear();
        let Some(slots) = self.layer0.get(node as usize * (1 + self.m0())..) else {
            return;
        };
        let count = (slots[0].load(Relaxed) as usize).min(self.m0());
        out.extend(slots[1..=count].iter().map(|a| a.load(Relaxed)));
    }

    /// Replaces the layer-0 list of `node`; the caller holds its lock.
    fn write0(&self, node: u32, ids: &[u32]) {
        let slots = self.slots0(node);
        let n = ids.len().min(self.m0());
        for (slot, &id) in slots[1..].iter().zip(&ids[..n]) {
            slot.store(id, Relaxed);
        }
        slots[0].store(n as u32, Relaxed);
    }

    /// Runs `f` on the list of `node` at `level` under its lock, writing
    /// back what `f` leaves in it.
    fn update(&self, node: u32, level: usize, f: impl FnOnce(&mut Vec<u32>)) {
        if level == 0 {
            let Some(lock) = self.locks0.get(node as usize) else {
                return;
            };
            let _g = lock.lock();
            let mut list = Vec::with_capacity(self.m0() + 1);
            self.read0(node, &mut list);
            f(&mut list);
            self.write0(node, &list);
        } else if let Some(slot) = self.upper.get(node as usize).and_then(|u| u.get(level - 1)) {
            f(&mut slot.lock());
        }
    }

    fn insert(&self, id: u32) -> Result<()> {
        let level = self.levels[id as usize] as usize;
        let query = self.row(id);
        let d = F32Rows {
            metric: self.metric,
            rows: &self.vectors,
            dim: self.dim,
            query,
        };
        let mut current = *self.entry.read();
        let _top_guard = match current {
            Some((_, top)) if level > top => {
                let g = self.top_lock.lock();
                current = *self.entry.read();
                Some(g)
            }
            None => {
                let g = self.top_lock.lock();
                current = *self.entry.read();
                Some(g)
            }
            _ => None,
        };
        let Some((ep, top)) = current else {
            *self.entry.write() = Some((id, level));
            return Ok(());
        };
        search::with_scratch(|s| -> Result<()> {
            let mut dist = [0.0f32];
            d.distances(&[ep], &mut dist)?;
            let mut cur = Cand {
                dist: dist[0],
                id: ep,
            };
            for l in (level + 1..=top).rev() {
                cur = search::greedy(self, &d, cur, l, s)?;
            }
            let mut entries = vec![cur];
            let mut found = Vec::with_capacity(self.params.ef_construction + 1);
            for l in (0..=level.min(top)).rev() {
                s.visited.reset(self.levels.len());
                search::search_layer(
                    self,
                    &d,
                    &entries,
                    self.params.ef_construction,
                    l,
                    &|_| true,
                    s,
                )?;
                search::drain_sorted(s, &mut found);
                found.retain(|c| c.id != id);
                let selected = self.select(&found, self.params.m);
                let mmax = if l == 0 { self.m0() } else { self.params.m };
                self.update(id, l, |own| {
                    for c in &selected {
                        if !own.contains(&c.id) {
                            own.push(c.id);
                        }
                    }
                    if own.len() > mmax {
                        self.shrink(id, own, mmax);
                    }
                });
                for c in &selected {
                    self.connect(c.id, id, c.dist, l);
                }
                std::mem::swap(&mut entries, &mut found);
            }
            Ok(())
        })?;
        if level > top {
            *self.entry.write() = Some((id, level));
        }
        Ok(())
    }

    /// The neighbour-selection heuristic: walk candidates nearest first and
    /// keep one only if it is nearer to the base point than to every one
    /// kept so far, which spreads links in different directions.
    fn select(&self, sorted: &[Cand], m: usize) -> Vec<Cand> {
        let mut kept: Vec<Cand> = Vec::with_capacity(m);
        for c in sorted {
            if kept.len() >= m {
                break;
            }
            if kept.iter().all(|k| self.pair(c.id, k.id) >= c.dist) {
                kept.push(*c);
            }
        }
        kept
    }

    fn shrink(&self, base: u32, list: &mut Vec<u32>, mmax: usize) {
        let bv = self.row(base);
        let mut cands: Vec<Cand> = list
            .iter()
            .map(|&x| Cand {
                dist: self.metric.distance(bv, self.row(x)),
                id: x,
            })
            .collect();
        cands.sort_unstable();
        let kept = self.select(&cands, mmax);
        list.clear();
        list.extend(kept.iter().map(|c| c.id));
    }

    fn connect(&self, node: u32, new: u32, _dist: f32, level: usize) {
        let mmax = if level == 0 { self.m0() } else { self.params.m };
        self.update(node, level, |list| {
            if list.contains(&new) {
                return;
            }
            list.push(new);
            if list.len() > mmax {
                self.shrink(node, list, mmax);
            }
        });
    }

    /// The flat layout: layer 0 in fixed `m0` slots, upper layers in
    /// blocks of `m`, all padded with `NONE`.
    pub(crate) fn freeze(&self) -> Frozen {
        let n = self.levels.len();
        let (m, m0) = (self.params.m, self.m0());
        let mut layer0 = vec![NONE; n * m0];
        let mut upper_offsets = vec![NONE; n];
        let mut upper = Vec::new();
        let mut blocks = 0u64;
        let mut l0 = Vec::with_capacity(m0);
        for (id, lists) in self.upper.iter().enumerate() {
            self.read0(id as u32, &mut l0);
            for (slot, &v) in layer0[id * m0..(id + 1) * m0].iter_mut().zip(l0.iter()) {
                *slot = v;
            }
            if !lists.is_empty() {
                upper_offsets[id] = blocks as u32;
                for list in lists.iter() {
                    let list = list.lock();
                    let start = upper.len();
                    upper.resize(start + m, NONE);
                    for (slot, &v) in upper[start..].iter_mut().zip(list.iter()) {
                        *slot = v;
                    }
                    blocks += 1;
                }
            }
        }
        Frozen {
            levels: self.levels.clone(),
            upper_offsets,
            layer0,
            upper,
            upper_blocks: blocks,
            entry: *self.entry.read(),
        }
    }

    /// Rebuilds a graph from a base file's flat layout (for compaction:
    /// the base's points keep their links and new points are inserted).
    pub(crate) fn thaw(
        dim: usize,
        metric: Metric,
        params: BuildParams,
        view: &crate::segment::View<'_>,
    ) -> Result<Self> {
        let n = view.len();
        let mut g = Self::new(dim, metric, params);
        g.vectors = view.vectors().to_vec();
        let mut buf = Vec::new();
        let mut v = Vec::new();
        for id in 0..n as u32 {
            let level = view.level(id)?;
            g.push_node(level as u8);
            for l in 0..=level {
                let nbrs = view.neighbors(id, l, &mut buf)?;
                v.clear();
                for &x in nbrs {
                    if x == NONE {
                        continue;
                    }
                    if x as usize >= n {
                        return Err(IndexError::corrupt(format!("neighbour {x} of {id}")));
                    }
                    v.push(x);
                }
                if v.len() > if l == 0 { g.m0() } else { g.params.m } {
                    return Err(IndexError::corrupt(format!(
                        "node {id} has too many neighbours"
                    )));
                }
                g.update(id, l, |list| list.clone_from(&v));
            }
        }
        *g.entry.write() = view.entry();
        Ok(g)
    }
}

impl Graph for MemGraph {
    fn len(&self) -> usize {
        self.levels.len()
    }

    fn entry(&self) -> Option<(u32, usize)> {
        *self.entry.read()
    }

    fn neighbors<'a>(
        &'a self,
        node: u32,
        level: usize,
        buf: &'a mut Vec<u32>,
    ) -> Result<&'a [u32]> {
        if level == 0 {
            self.read0(node, buf);
        } else {
            buf.clear();
            if let Some(list) = self.upper.get(node as usize).and_then(|u| u.get(level - 1)) {
                buf.extend_from_slice(&list.lock());
            }
        }
        Ok(buf)
    }
}

/// Exact k nearest among `n` rows by a full scan, keeping rows passing
/// `keep`. Used below the HNSW threshold and as the recall reference.
pub(crate) fn exact_scan<D: Distances>(
    d: &D,
    n: usize,
    k: usize,
    keep: &dyn Fn(u32) -> bool,
    s: &mut Scratch,
) -> Result<()> {
    s.results.clear();
    if k == 0 {
        return Ok(());
    }
    const CHUNK: u32 = 256;
    let mut start = 0u32;
    while (start as usize) < n {
        let end = (start as usize + CHUNK as usize).min(n) as u32;
        s.ids.clear();
        s.ids.extend((start..end).filter(|&i| keep(i)));
        s.dists.resize(s.ids.len(), 0.0);
        d.distances(&s.ids, &mut s.dists)?;
        for (&id, &dist) in s.ids.iter().zip(&s.dists) {
            let c = Cand { dist, id };
            if s.results.len() < k {
                s.results.push(c);
            } else if s.results.peek().is_some_and(|w| c < *w) {
                s.results.pop();
                s.results.push(c);
            }
        }
        start = end;
    }
    Ok(())
}
