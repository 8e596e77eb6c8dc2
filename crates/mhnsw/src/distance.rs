//! Distance kernels: f32 dot / squared L2 and their int8 counterparts.
//!
//! SIMD without `unsafe` in this crate: `pulp` detects AVX2+FMA (x86-64-v3)
//! at run time and runs the closure compiled for it; the f32 kernels use
//! its explicit fused multiply-add vectors (four accumulators, so the
//! additions are not one long dependency chain), the int8 kernels are plain
//! integer loops that LLVM vectorises (integer sums are associative, so it
//! may reorder them) into `vpmaddwd` once AVX2 is enabled. Batch variants
//! dispatch once for a whole neighbour list, which is what graph search
//! calls.

use pulp::{Arch, Simd, WithSimd};

/// `a · b` over the common length.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    Arch::new().dispatch(DotF32 {
        a: &a[..n],
        b: &b[..n],
    })
}

/// `|a - b|²` over the common length.
pub fn l2sq(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    Arch::new().dispatch(L2F32 {
        a: &a[..n],
        b: &b[..n],
    })
}

struct DotF32<'a> {
    a: &'a [f32],
    b: &'a [f32],
}

impl WithSimd for DotF32<'_> {
    type Output = f32;
    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> f32 {
        dot_simd(simd, self.a, self.b)
    }
}

struct L2F32<'a> {
    a: &'a [f32],
    b: &'a [f32],
}

impl WithSimd for L2F32<'_> {
    type Output = f32;
    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> f32 {
        l2_simd(simd, self.a, self.b)
    }
}

#[inline(always)]
fn dot_simd<S: Simd>(simd: S, a: &[f32], b: &[f32]) -> f32 {
    let (ah, at) = S::as_simd_f32s(a);
    let (bh, bt) = S::as_simd_f32s(b);
    let mut acc = [simd.splat_f32s(0.0); 4];
    let mut ac = ah.chunks_exact(4);
    let mut bc = bh.chunks_exact(4);
    for (x, y) in (&mut ac).zip(&mut bc) {
        for j in 0..4 {
            acc[j] = simd.mul_add_e_f32s(x[j], y[j], acc[j]);
        }
    }
    for (x, y) in ac.remainder().iter().zip(bc.remainder()) {
        acc[0] = simd.mul_add_e_f32s(*x, *y, acc[0]);
    }
    let s = simd.add_f32s(simd.add_f32s(acc[0], acc[1]), simd.add_f32s(acc[2], acc[3]));
    let mut total = simd.reduce_sum_f32s(s);
    for (x, y) in at.iter().zip(bt) {
        total += x * y;
    }
    total
}

#[inline(always)]
fn l2_simd<S: Simd>(simd: S, a: &[f32], b: &[f32]) -> f32 {
    let (ah, at) = S::as_simd_f32s(a);
    let (bh, bt) = S::as_simd_f32s(b);
    let mut acc = [simd.splat_f32s(0.0); 4];
    let mut ac = ah.chunks_exact(4);
    let mut bc = bh.chunks_exact(4);
    for (x, y) in (&mut ac).zip(&mut bc) {
        for j in 0..4 {
            let d = simd.sub_f32s(x[j], y[j]);
            acc[j] = simd.mul_add_e_f32s(d, d, acc[j]);
        }
    }
    for (x, y) in ac.remainder().iter().zip(bc.remainder()) {
        let d = simd.sub_f32s(*x, *y);
        acc[0] = simd.mul_add_e_f32s(d, d, acc[0]);
    }
    let s = simd.add_f32s(simd.add_f32s(acc[0], acc[1]), simd.add_f32s(acc[2], acc[3]));
    let mut total = simd.reduce_sum_f32s(s);
    for (x, y) in at.iter().zip(bt) {
        total += (x - y) * (x - y);
    }
    total
}

#[inline(always)]
fn dot_i8_plain(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum()
}

#[inline(always)]
fn l2_i8_plain(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = i32::from(x) - i32::from(y);
            d * d
        })
        .sum()
}

/// Row storage for batch kernels: `rows` holds `dim`-long rows back to back.
#[derive(Clone, Copy)]
pub(crate) enum Rows<'a> {
    /// Full-precision rows.
    F32(&'a [f32]),
    /// Int8 rows; a distance is computed in integers and scaled by `scale²`.
    I8 {
        /// The rows.
        rows: &'a [i8],
        /// The quantisation step of the rows (and of the quantised query).
        scale: f32,
    },
}

/// A query in the representation the rows need.
#[derive(Clone, Copy)]
pub(crate) enum QueryRef<'a> {
    F32(&'a [f32]),
    I8(&'a [i8]),
}

/// Computes `out[i] = distance(query, row ids[i])` for each id, returning
/// `false` (and leaving the rest of `out` unspecified) if an id addresses a
/// row outside `rows`: the caller turns that into a corruption error.
pub(crate) fn distances(
    metric: crate::Metric,
    rows: Rows<'_>,
    dim: usize,
    query: QueryRef<'_>,
    ids: &[u32],
    out: &mut [f32],
) -> bool {
    Arch::new().dispatch(Batch {
        metric,
        rows,
        dim,
        query,
        ids,
        out,
    })
}

struct Batch<'a> {
    metric: crate::Metric,
    rows: Rows<'a>,
    dim: usize,
    query: QueryRef<'a>,
    ids: &'a [u32],
    out: &'a mut [f32],
}

impl WithSimd for Batch<'_> {
    type Output = bool;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> bool {
        let Batch {
            metric,
            rows,
            dim,
            query,
            ids,
            out,
        } = self;
        let ip = metric == crate::Metric::InnerProduct;
        match (rows, query) {
            (Rows::F32(rows), QueryRef::F32(q)) => {
                for (&id, o) in ids.iter().zip(out.iter_mut()) {
                    let start = id as usize * dim;
                    let Some(row) = rows.get(start..start + dim) else {
                        return false;
                    };
                    *o = if ip {
                        1.0 - dot_simd(simd, q, row)
                    } else {
                        l2_simd(simd, q, row)
                    };
                }
                true
            }
            (Rows::I8 { rows, scale }, QueryRef::I8(q)) => {
                let s2 = scale * scale;
                for (&id, o) in ids.iter().zip(out.iter_mut()) {
                    let start = id as usize * dim;
                    let Some(row) = rows.get(start..start + dim) else {
                        return false;
                    };
                    *o = if ip {
                        1.0 - s2 * dot_i8_plain(q, row) as f32
                    } else {
                        s2 * l2_i8_plain(q, row) as f32
                    };
                }
                true
            }
            _ => false,
        }
    }
}

/// The int8 quantisation step for a set of rows: the largest magnitude maps
/// to 127. A zero or non-finite maximum gives step 1 (all-zero rows).
pub(crate) fn quant_scale(max_abs: f32) -> f32 {
    if max_abs.is_finite() && max_abs > 0.0 {
        max_abs / 127.0
    } else {
        1.0
    }
}

/// Quantises `x` with step `scale`, saturating at ±127.
pub(crate) fn quantize(x: &[f32], scale: f32, out: &mut [i8]) {
    let inv = 1.0 / scale;
    for (o, &v) in out.iter_mut().zip(x) {
        *o = (v * inv).round().clamp(-127.0, 127.0) as i8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Metric;

    fn naive_dot(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn kernels_match_naive_sums_for_every_length() {
        for n in [0usize, 1, 7, 8, 9, 31, 32, 33, 127, 128, 130] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            assert!((dot(&a, &b) - naive_dot(&a, &b)).abs() < 1e-4, "dot n={n}");
            let l2: f32 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
            assert!((l2sq(&a, &b) - l2).abs() < 1e-4, "l2 n={n}");
        }
    }

    #[test]
    fn batch_reports_out_of_range_ids() {
        let rows = vec![0.5f32; 4 * 3];
        let q = [1.0f32, 0.0, 0.0];
        let mut out = [0.0f32; 2];
        assert!(distances(
            Metric::InnerProduct,
            Rows::F32(&rows),
            3,
            QueryRef::F32(&q),
            &[0, 3],
            &mut out
        ));
        assert!((out[0] - 0.5).abs() < 1e-6);
        assert!(!distances(
            Metric::L2,
            Rows::F32(&rows),
            3,
            QueryRef::F32(&q),
            &[4],
            &mut out
        ));
    }

    #[test]
    fn int8_distances_approximate_f32() {
        let a: Vec<f32> = (0..128)
            .map(|i| ((i * 7 % 13) as f32 - 6.0) / 30.0)
            .collect();
        let b: Vec<f32> = (0..128)
            .map(|i| ((i * 5 % 11) as f32 - 5.0) / 30.0)
            .collect();
        let scale = quant_scale(0.2);
        let (mut qa, mut qb) = (vec![0i8; 128], vec![0i8; 128]);
        quantize(&a, scale, &mut qa);
        quantize(&b, scale, &mut qb);
        for metric in [Metric::InnerProduct, Metric::L2] {
            let mut out = [0.0f32];
            assert!(distances(
                metric,
                Rows::I8 { rows: &qb, scale },
                128,
                QueryRef::I8(&qa),
                &[0],
                &mut out
            ));
            let exact = metric.distance(&a, &b);
            let tol = 0.01 * exact.abs().max(1.0);
            assert!(
                (out[0] - exact).abs() < tol,
                "{metric}: {} vs {exact}",
                out[0]
            );
        }
    }
}
