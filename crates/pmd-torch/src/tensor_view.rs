//! A CPU tensor over a borrowed Rust slice, without a copy (the `torch`
//! feature).
//!
//! tch has no safe zero-copy constructor (`Tensor::from_slice` copies), so
//! this file holds one `unsafe` block, around `Tensor::f_from_blob`. The
//! view is crate-private and used only where every operation applied to it
//! is known (the native network's forward pass in `infer`).

#![allow(unsafe_code)]

use std::marker::PhantomData;

use tch::{Device, Kind, Tensor};

/// Element types whose Rust layout is libtorch's layout for [`Self::KIND`].
pub(crate) trait ViewElement: Copy {
    /// The libtorch element type with the same size and bit patterns.
    const KIND: Kind;
}

impl ViewElement for f32 {
    const KIND: Kind = Kind::Float;
}

impl ViewElement for u8 {
    const KIND: Kind = Kind::Uint8;
}

impl ViewElement for i64 {
    const KIND: Kind = Kind::Int64;
}

// Rust guarantees `bool` is one byte holding 0 or 1, which is exactly
// at::kBool's representation.
impl ViewElement for bool {
    const KIND: Kind = Kind::Bool;
}

/// A tensor that borrows `'a` memory. It must be dropped, with everything
/// derived from it that shares its storage, before the memory is written
/// again; the lifetime enforces the first half, callers the second.
pub(crate) struct TensorView<'a> {
    tensor: Tensor,
    _borrow: PhantomData<&'a [u8]>,
}

impl<'a> TensorView<'a> {
    /// Views `data` as a contiguous CPU tensor of `shape`. `None` when the
    /// shape does not cover exactly `data.len()` elements.
    pub(crate) fn new<T: ViewElement>(data: &'a [T], shape: &[i64]) -> Option<Self> {
        let mut numel: usize = 1;
        for &dim in shape {
            numel = numel.checked_mul(usize::try_from(dim).ok()?)?;
        }
        if numel != data.len() {
            return None;
        }
        // SAFETY: `data` is valid for reads of `numel` elements of `T`, laid
        // out contiguously as libtorch's `T::KIND` (see `ViewElement`), for
        // all of `'a`, and `TensorView` cannot outlive `'a`. libtorch gets no
        // deleter, so it never frees this memory. The invariant callers keep
        // (crate-private type): nothing writes through the tensor (only
        // out-of-place ops are applied to it, never `_`-suffixed ones or
        // arbitrary TorchScript, which could), and no tensor sharing its
        // storage (`shallow_clone`, `view`, `narrow`, ...) is kept past the
        // `TensorView`: results are fresh outputs of computing ops or are
        // copied into Rust memory before the view is dropped.
        let tensor = unsafe {
            Tensor::f_from_blob(data.as_ptr().cast::<u8>(), shape, &[], T::KIND, Device::Cpu)
        }
        .ok()?;
        Some(Self {
            tensor,
            _borrow: PhantomData,
        })
    }

    /// The tensor, for out-of-place operations only.
    pub(crate) fn tensor(&self) -> &Tensor {
        &self.tensor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_share_memory_with_the_slice() {
        let data = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let view = TensorView::new(&data, &[2, 3]).expect("shape matches");
        assert_eq!(view.tensor().size(), [2, 3]);
        assert_eq!(view.tensor().kind(), Kind::Float);
        assert_eq!(view.tensor().data_ptr() as usize, data.as_ptr() as usize);
        let sum = view.tensor().sum(Kind::Float).double_value(&[]);
        assert_eq!(sum, 21.0);
    }

    #[test]
    fn bool_and_u8_views_read_the_same_values() {
        let mask = [true, false, false, true];
        let view = TensorView::new(&mask, &[2, 2]).expect("shape matches");
        let back: Vec<bool> = Vec::try_from(view.tensor().flatten(0, -1)).expect("bools");
        assert_eq!(back, mask);
        let bytes = [0u8, 7, 255];
        let view = TensorView::new(&bytes, &[3]).expect("shape matches");
        let back: Vec<u8> = Vec::try_from(view.tensor()).expect("bytes");
        assert_eq!(back, bytes);
    }

    #[test]
    fn rejects_shapes_that_do_not_cover_the_slice() {
        let data = [0.0f32; 6];
        assert!(TensorView::new(&data, &[4, 2]).is_none());
        assert!(TensorView::new(&data, &[-1, 6]).is_none());
        assert!(TensorView::new(&data, &[i64::MAX, i64::MAX]).is_none());
    }
}
