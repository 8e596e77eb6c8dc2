//! Operating-system interfaces outside mGBA: read-only memory maps of
//! files (the vector memory's index segments). Like `emu::ffi`, the only
//! place besides it with `unsafe`.

pub(crate) mod mmap;
