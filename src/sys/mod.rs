//! Operating-system and foreign-library interfaces outside mGBA: read-only
//! memory maps of files (the vector memory's index segments) and, with the
//! `torch` feature, libtorch tensors viewing Rust memory. With the FFI
//! layer (`emu::ffi`, `emu::script_ffi`), the only places with `unsafe`.

pub(crate) mod mmap;
#[cfg(feature = "torch")]
pub(crate) mod tensor_view;
