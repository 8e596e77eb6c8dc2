//! The batch buffers as numpy arrays without a copy: each array's memory
//! is the native buffer its environments write in place, and its numpy
//! `base` is the `VecEnv` object that owns that buffer, so the buffer
//! outlives every array over it.
//!
//! The arrays are read-only to Python (numpy's `WRITEABLE` flag off): the
//! native side is their only writer. A step overwrites them in place;
//! users who keep observations across steps copy them (the gymnasium
//! classes' `copy=True`). Reading an array from another Python thread
//! while a step runs (the GIL released) reads rows mid-write: the numbers
//! may mix two steps, like any buffer shared without a lock.
#![allow(unsafe_code)]

use numpy::ndarray::{ArrayView, ArrayView1, ArrayView2, ArrayView4, Dimension};
use numpy::{Element, PyArray, PyArrayMethods};
use pyo3::prelude::*;

use crate::errors::runtime;
use crate::vec_env::NativeVecEnv;
use pmd_game::env::ACTION_COUNT;
use pmd_rollout::{frames, obs};

/// Which buffer of the batch.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Buffer {
    Features,
    FinalFeatures,
    Masks,
    Rewards,
    Terminated,
    Truncated,
    Frames,
    FinalFrames,
}

/// A read-only numpy view of one of `env`'s batch buffers.
pub(crate) fn view<'py>(
    env: &Bound<'py, NativeVecEnv>,
    which: Buffer,
) -> PyResult<Bound<'py, PyAny>> {
    let owner = env.clone().into_any();
    let guard = env.get().lock()?;
    let batch = guard.env.batch();
    let n = batch.len();
    let frame_shape = (n, 1, frames::HEIGHT, frames::WIDTH);
    let no_frames = || runtime("this VecEnv makes no frames (frames=False)");
    match which {
        Buffer::Features => over(view2((n, obs::FEATURES), batch.features)?, owner),
        Buffer::FinalFeatures => over(view2((n, obs::FEATURES), batch.final_features)?, owner),
        Buffer::Masks => over(view2((n, ACTION_COUNT), batch.masks)?, owner),
        Buffer::Rewards => over(ArrayView1::from(batch.rewards), owner),
        Buffer::Terminated => over(ArrayView1::from(batch.terminated), owner),
        Buffer::Truncated => over(ArrayView1::from(batch.truncated), owner),
        Buffer::Frames => over(
            view4(frame_shape, batch.frames.ok_or_else(no_frames)?)?,
            owner,
        ),
        Buffer::FinalFrames => over(
            view4(frame_shape, batch.final_frames.ok_or_else(no_frames)?)?,
            owner,
        ),
    }
}

fn view2<T>(shape: (usize, usize), data: &[T]) -> PyResult<ArrayView2<'_, T>> {
    ArrayView2::from_shape(shape, data).map_err(runtime)
}

fn view4<T>(shape: (usize, usize, usize, usize), data: &[T]) -> PyResult<ArrayView4<'_, T>> {
    ArrayView4::from_shape(shape, data).map_err(runtime)
}

/// Wraps `data` — a view of a batch buffer of the `VecEnv` inside `owner`
/// (only [`view`] calls this) — as a read-only numpy array whose base is
/// `owner`.
fn over<'py, T: Element, D: Dimension>(
    data: ArrayView<'_, T, D>,
    owner: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: `data` points into one of the batch buffers of the VecEnv
    // held by `owner` (a `NativeVecEnv`). Those buffers are allocated once
    // when the VecEnv is built and never reallocated or freed while it
    // lives (`VecEnv` sizes them by its fixed environment count; no method
    // resizes them), and the VecEnv is never moved out of or replaced in
    // its `NativeVecEnv`, which has no method that drops it. `owner`
    // becomes the array's numpy base, so the buffer lives as long as the
    // array. Element types match numpy's (f32, and bool as one byte 0/1).
    let array = unsafe { PyArray::<T, D>::borrow_from_array(&data, owner) };
    array.try_readwrite().map_err(runtime)?.make_nonwriteable();
    Ok(array.into_any())
}
