//! The FFI layer to mGBA's core: one of the crate's four modules with
//! `unsafe` code (with `script_ffi`, `sys::mmap` and `sys::tensor_view`).
//!
//! It binds the flat C shim in `crates/pmd-mgba/shim/pmd_mgba.{h,c}` (compiled by
//! `build.rs` against mGBA's installed headers) and wraps it in [`Core`],
//! whose methods are safe. Soundness rests on three invariants, all local to
//! this file:
//!
//! 1. A `Core` owns its `pmd_core*` exclusively; it is freed once, in `Drop`.
//! 2. The ROM bytes and the framebuffer that mGBA borrows are owned by the
//!    same `Core` and released only after the core is freed (`Drop`), and
//!    neither moves (both are heap allocations). The framebuffer is held as
//!    a raw allocation (`Box::into_raw`), not as a `Box`: mGBA writes it
//!    through its own pointer, so no Rust reference to it may be alive
//!    while it does (Stacked Borrows); Rust reads it only through slices
//!    made from that same pointer, borrowed from `&self`.
//! 3. Emulated memory is exposed as slices borrowed from `&self` (read) or
//!    `&mut self` (write); every call that runs emulation takes `&mut self`,
//!    so no slice is alive while mGBA writes to that memory.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, CStr};
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, Once};

use super::{mgba_log, SCREEN_HEIGHT, SCREEN_WIDTH};

/// Declares the shim's C functions as a table of pointers resolved from the
/// shim library when it is loaded, with one `unsafe fn` per entry that
/// calls through it (so call sites read like `extern "C"` declarations).
/// `load()` must succeed before any of them is called: every caller holds
/// a core or a script, which exist only after both tables loaded
/// (`Core::new`).
macro_rules! shim_functions {
    ($(pub fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?;)*) => {
        /// The shim's functions, resolved from the loaded library.
        struct Api {
            $($name: unsafe extern "C" fn($($ty),*) $(-> $ret)?,)*
        }

        static API: std::sync::OnceLock<Api> = std::sync::OnceLock::new();

        /// Resolves the table from the shim library, once.
        pub(crate) fn load() -> Result<(), String> {
            if API.get().is_some() {
                return Ok(());
            }
            let lib = crate::ffi::shim_library()?;
            // SAFETY: each symbol is the shim function of that name, whose
            // C prototype (shim/*.h) is the signature declared here; the
            // library stays loaded for the life of the process.
            let api = unsafe {
                Api {
                    $($name: *lib
                        .get::<unsafe extern "C" fn($($ty),*) $(-> $ret)?>(
                            concat!(stringify!($name), "\0").as_bytes(),
                        )
                        .map_err(|e| format!("the mGBA shim has no {}: {e}", stringify!($name)))?,)*
                }
            };
            let _ = API.set(api);
            Ok(())
        }

        fn api() -> &'static Api {
            API.get()
                .expect("the mGBA shim is loaded before a core exists, and only cores call it")
        }

        $(
            pub unsafe fn $name($($arg: $ty),*) $(-> $ret)? {
                (api().$name)($($arg),*)
            }
        )*
    };
}
pub(crate) use shim_functions;

/// The C shim (shim/*.c) is a shared library that links libmgba, loaded
/// on first use, so a process that never emulates (`--help`, a league
/// player of a game without an emulator) never maps mGBA and the ~180
/// libraries Debian's build of it needs.
///
/// Where it is looked for: `PMD_MGBA_SHIM` at run time; the file this
/// build made (`build.rs` records its path); `libpmd_mgba.so` beside the
/// executable.
pub(crate) fn shim_library() -> Result<&'static libloading::Library, String> {
    static SHIM: std::sync::OnceLock<Result<libloading::Library, String>> =
        std::sync::OnceLock::new();
    SHIM.get_or_init(|| {
        let mut candidates: Vec<std::path::PathBuf> = Vec::new();
        if let Some(path) = std::env::var_os("PMD_MGBA_SHIM") {
            candidates.push(path.into());
        }
        candidates.push(env!("PMD_MGBA_SHIM").into());
        if let Ok(exe) = std::env::current_exe() {
            candidates.push(exe.with_file_name("libpmd_mgba.so"));
        }
        let Some(path) = candidates.iter().find(|p| p.is_file()) else {
            return Err(format!(
                "the mGBA shim library is missing (looked for {}); rebuild pmd-agent \
                 (cargo build) or set PMD_MGBA_SHIM",
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        // SAFETY: loading runs the initialisers of the shim, libmgba and
        // their dependencies (C libraries with no preconditions on the
        // caller); the library is kept loaded for the life of the process,
        // so no pointer resolved from it dangles.
        unsafe { libloading::Library::new(path) }
            .map_err(|e| format!("cannot load mGBA ({}): {e}", path.display()))
    })
    .as_ref()
    .map_err(Clone::clone)
}

mod sys {
    use std::ffi::{c_char, c_int};

    /// Opaque handle of the C shim.
    #[repr(C)]
    pub struct PmdCore {
        _private: [u8; 0],
    }

    pub type LogSink = extern "C" fn(level: c_int, category: *const c_char, message: *const c_char);

    super::shim_functions! {
        pub fn pmd_log_install(sink: Option<LogSink>);
        pub fn pmd_log_set_mask(level_mask: c_int);
        pub fn pmd_core_new(rom: *const u8, rom_len: usize, framebuffer: *mut u32) -> *mut PmdCore;
        pub fn pmd_core_free(core: *mut PmdCore);
        pub fn pmd_core_reset(core: *mut PmdCore);
        pub fn pmd_core_run_frame(core: *mut PmdCore, render: c_int);
        pub fn pmd_core_set_keys(core: *mut PmdCore, keys: u32);
        pub fn pmd_core_frame_counter(core: *const PmdCore) -> u32;
        pub fn pmd_core_memory(core: *mut PmdCore, region: c_int, size: *mut usize) -> *mut u8;
        pub fn pmd_core_state_size(core: *mut PmdCore) -> usize;
        pub fn pmd_core_save_state(core: *mut PmdCore, out: *mut u8, len: usize) -> c_int;
        pub fn pmd_core_load_state(core: *mut PmdCore, state: *const u8, len: usize) -> c_int;
        pub fn pmd_core_load_state_file(core: *mut PmdCore, bytes: *const u8, len: usize) -> c_int;
        pub fn pmd_core_export_state_file(core: *mut PmdCore, out: *mut *mut u8) -> usize;
        pub fn pmd_core_load_battery(core: *mut PmdCore, bytes: *const u8, len: usize) -> c_int;
        pub fn pmd_core_check_state_file(
            core: *mut PmdCore,
            bytes: *const u8,
            len: usize,
            state_crc32: *mut u32,
        ) -> c_int;
        pub fn pmd_free(ptr: *mut std::ffi::c_void);
    }
}

/// Serialises core creation and destruction: mGBA's set-up paths touch
/// process-wide state (the default logger, configuration tables) that is
/// not documented as thread-safe. Running cores in parallel is fine.
static LIFECYCLE: Mutex<()> = Mutex::new(());
static LOG_INSTALL: Once = Once::new();

extern "C" fn log_sink(level: c_int, category: *const c_char, message: *const c_char) {
    if category.is_null() || message.is_null() {
        return;
    }
    // SAFETY: the shim passes NUL-terminated strings (mLogCategoryId's
    // static names and its own vsnprintf buffer) that live for this call.
    let (category, message) = unsafe { (CStr::from_ptr(category), CStr::from_ptr(message)) };
    mgba_log::emit(
        level,
        &category.to_string_lossy(),
        &message.to_string_lossy(),
    );
}

fn install_logger() {
    LOG_INSTALL.call_once(|| {
        // SAFETY: `log_sink` is a plain function valid for the program's
        // life. `call_once` runs this before any core exists (every core is
        // created after it returns), as the shim requires.
        unsafe { sys::pmd_log_install(Some(log_sink)) };
    });
    // Refresh the mask each time: a tracing subscriber may have been set
    // since the last core was made.
    // SAFETY: the shim stores the mask with an atomic store.
    unsafe { sys::pmd_log_set_mask(mgba_log::level_mask()) };
}

/// Which block `pmd_core_memory` returns.
#[derive(Clone, Copy)]
pub(crate) enum Block {
    Ewram = 0,
    Iwram = 1,
}

/// What the header of a frontend savestate file says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StateFileCheck {
    /// Same format, same game, this very ROM.
    Ok,
    /// mGBA cannot extract a state from it.
    Unreadable,
    /// Another save-state format version.
    OtherFormat,
    /// Another game (title or game code).
    OtherGame,
    /// The same game, another ROM image (another version or a hack).
    OtherRom {
        /// The ROM CRC-32 the state names.
        state_crc32: u32,
    },
}

const FRAMEBUFFER_PIXELS: usize = SCREEN_WIDTH * SCREEN_HEIGHT;

/// The pixels mGBA renders into: a heap allocation owned through a raw
/// pointer (from `Box::leak`), never through a `Box` or a reference, so
/// handing the pointer to C and moving the owner around keeps that
/// pointer valid under Stacked Borrows (a moved `Box` would be retagged
/// and invalidate it). Reclaimed in `Drop`.
struct Framebuffer(NonNull<u32>);

impl Framebuffer {
    fn new() -> Framebuffer {
        let pixels: Box<[u32]> = vec![0u32; FRAMEBUFFER_PIXELS].into_boxed_slice();
        Framebuffer(NonNull::from(Box::leak(pixels)).cast::<u32>())
    }

    /// The pointer C writes through.
    fn as_mut_ptr(&self) -> *mut u32 {
        self.0.as_ptr()
    }

    /// The pixels, writable through the same pointer (to put back a
    /// picture kept with a savestate).
    fn pixels_mut(&mut self) -> &mut [u32] {
        // SAFETY: as for `pixels`; `&mut self` (reached only through
        // `&mut Core`) makes this the only borrow, and mGBA writes only
        // inside calls that also take the `Core` by `&mut`.
        unsafe { std::slice::from_raw_parts_mut(self.0.as_ptr(), FRAMEBUFFER_PIXELS) }
    }

    /// The pixels, read through the same pointer.
    fn pixels(&self) -> &[u32] {
        // SAFETY: the allocation holds FRAMEBUFFER_PIXELS initialised
        // pixels for as long as `self` lives; the only writer (mGBA) writes
        // inside calls that take the owning `Core` by `&mut`, so nothing
        // writes while this shared slice is alive (invariant 3).
        unsafe { std::slice::from_raw_parts(self.0.as_ptr(), FRAMEBUFFER_PIXELS) }
    }
}

// SAFETY: the allocation is owned exclusively by this value (like a
// `Box<[u32]>`); moving it to another thread moves that ownership.
unsafe impl Send for Framebuffer {}

impl Drop for Framebuffer {
    fn drop(&mut self) {
        let slice = std::ptr::slice_from_raw_parts_mut(self.0.as_ptr(), FRAMEBUFFER_PIXELS);
        // SAFETY: the pointer came from `Box::leak` of a slice of this
        // length in `new`; whoever wrote through it (the core) is gone by
        // now (`Core` frees the core first) and nothing uses it again.
        drop(unsafe { Box::from_raw(slice) });
    }
}

/// One mGBA GBA core with its software renderer and the memory it borrows.
pub(crate) struct Core {
    // `Drop` frees the core; then the fields (ROM bytes, framebuffer)
    // drop, after it.
    ptr: NonNull<sys::PmdCore>,
    _rom: Arc<[u8]>,
    framebuffer: Framebuffer,
}

// SAFETY: an mGBA core has no thread affinity (no thread-local state is
// attached to it and it spawns no threads when driven through runFrame);
// `Core` owns it exclusively, so moving it to another thread is sound. It is
// not `Sync`: the raw pointer keeps it so.
unsafe impl Send for Core {}

impl Core {
    /// Creates a core for `rom`: `Ok(None)` when mGBA refuses the ROM, an
    /// error when mGBA itself cannot be loaded.
    pub(crate) fn new(rom: Arc<[u8]>) -> Result<Option<Core>, String> {
        // Both tables: the scripting shim's core functions (memory
        // domains, bus access) serve cores without a script too.
        sys::load()?;
        super::script_ffi::load()?;
        install_logger();
        let framebuffer = Framebuffer::new();
        let _guard = LIFECYCLE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // SAFETY: `rom` is valid for reads of its length and the
        // framebuffer for writes of FRAMEBUFFER_PIXELS pixels (the 240x160
        // the shim's stride assumes); both are owned by the returned
        // `Core`, which frees the core before releasing them (invariant 2).
        let raw = unsafe { sys::pmd_core_new(rom.as_ptr(), rom.len(), framebuffer.as_mut_ptr()) };
        let Some(ptr) = NonNull::new(raw) else {
            return Ok(None);
        };
        Ok(Some(Core {
            ptr,
            _rom: rom,
            framebuffer,
        }))
    }

    /// The shim handle, for the scripting host's FFI (`script_ffi`), which
    /// keeps the `Core` alive for as long as it uses it.
    pub(super) fn raw(&self) -> *mut std::ffi::c_void {
        self.ptr.as_ptr().cast()
    }

    pub(crate) fn reset(&mut self) {
        // SAFETY: `ptr` is a live core (invariant 1); `&mut self` excludes
        // borrowed memory slices (invariant 3).
        unsafe { sys::pmd_core_reset(self.ptr.as_ptr()) }
    }

    pub(crate) fn run_frame(&mut self, render: bool) {
        // SAFETY: as for `reset`.
        unsafe { sys::pmd_core_run_frame(self.ptr.as_ptr(), c_int::from(render)) }
    }

    pub(crate) fn set_keys(&mut self, keys: u16) {
        // SAFETY: live core; setting keys only updates a register copy.
        unsafe { sys::pmd_core_set_keys(self.ptr.as_ptr(), u32::from(keys)) }
    }

    pub(crate) fn frame_counter(&self) -> u32 {
        // SAFETY: live core; the call only reads a counter.
        unsafe { sys::pmd_core_frame_counter(self.ptr.as_ptr()) }
    }

    fn block(&self, block: Block) -> (*mut u8, usize) {
        let mut size = 0usize;
        // SAFETY: live core; `size` is a valid out-pointer. The call only
        // looks up a pointer, mutating nothing.
        let ptr = unsafe { sys::pmd_core_memory(self.ptr.as_ptr(), block as c_int, &mut size) };
        if ptr.is_null() {
            (NonNull::dangling().as_ptr(), 0)
        } else {
            (ptr, size)
        }
    }

    /// Emulated memory, borrowed in place.
    pub(crate) fn memory(&self, block: Block) -> &[u8] {
        let (ptr, len) = self.block(block);
        // SAFETY: mGBA allocates the block at core init and frees it at
        // deinit, and reports its size; it is non-null (or a dangling
        // pointer with length 0). The slice borrows `self`, so no emulation
        // call (`&mut self`) can write the block while it lives.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }

    /// Emulated memory, borrowed mutably in place.
    pub(crate) fn memory_mut(&mut self, block: Block) -> &mut [u8] {
        let (ptr, len) = self.block(block);
        // SAFETY: as for `memory`; `&mut self` makes this the only borrow of
        // the block, and EWRAM and IWRAM are separate allocations in mGBA.
        unsafe { std::slice::from_raw_parts_mut(ptr, len) }
    }

    pub(crate) fn framebuffer(&self) -> &[u32] {
        self.framebuffer.pixels()
    }

    pub(crate) fn framebuffer_mut(&mut self) -> &mut [u32] {
        self.framebuffer.pixels_mut()
    }

    pub(crate) fn state_size(&mut self) -> usize {
        // SAFETY: live core; pure size query.
        unsafe { sys::pmd_core_state_size(self.ptr.as_ptr()) }
    }

    /// Writes the machine state into `out`; false when `out` has the wrong
    /// length.
    pub(crate) fn save_state(&mut self, out: &mut [u8]) -> bool {
        // SAFETY: live core; `out` is valid for writes of its length, which
        // the shim compares with the state size before writing.
        unsafe { sys::pmd_core_save_state(self.ptr.as_ptr(), out.as_mut_ptr(), out.len()) == 1 }
    }

    /// Loads a machine state; false when mGBA rejects it.
    pub(crate) fn load_state(&mut self, state: &[u8]) -> bool {
        // SAFETY: live core; `state` is valid for reads of its length, which
        // the shim compares with the state size before reading.
        unsafe { sys::pmd_core_load_state(self.ptr.as_ptr(), state.as_ptr(), state.len()) == 1 }
    }
}

impl Core {
    /// Loads a savestate file in mGBA's frontend format; false when mGBA
    /// rejects it.
    pub(crate) fn load_state_file(&mut self, bytes: &[u8]) -> bool {
        // SAFETY: live core; `bytes` is valid for reads of its length for
        // the whole call (the shim wraps it in a VFile it closes before
        // returning).
        unsafe {
            sys::pmd_core_load_state_file(self.ptr.as_ptr(), bytes.as_ptr(), bytes.len()) == 1
        }
    }

    /// The machine state as an mGBA frontend savestate file.
    pub(crate) fn export_state_file(&mut self) -> Option<Vec<u8>> {
        let mut out: *mut u8 = std::ptr::null_mut();
        // SAFETY: live core; `out` is a valid out-pointer.
        let len = unsafe { sys::pmd_core_export_state_file(self.ptr.as_ptr(), &mut out) };
        if out.is_null() {
            return None;
        }
        // SAFETY: on success the shim returns a malloc'd buffer of `len`
        // initialised bytes, which we copy and then free exactly once.
        let bytes = unsafe { std::slice::from_raw_parts(out, len) }.to_vec();
        // SAFETY: `out` came from the shim's malloc and is not used again.
        unsafe { sys::pmd_free(out.cast()) };
        (len > 0).then_some(bytes)
    }

    /// Reads the header of a frontend savestate file through mGBA's own
    /// state struct and compares it with the running ROM.
    pub(crate) fn check_state_file(&mut self, bytes: &[u8]) -> StateFileCheck {
        let mut state_crc32 = 0u32;
        // SAFETY: live core; `bytes` is valid for reads of its length for
        // the whole call (the shim wraps it in a VFile it closes before
        // returning); `state_crc32` is a valid out-pointer.
        let code = unsafe {
            sys::pmd_core_check_state_file(
                self.ptr.as_ptr(),
                bytes.as_ptr(),
                bytes.len(),
                &mut state_crc32,
            )
        };
        match code {
            0 => StateFileCheck::Ok,
            2 => StateFileCheck::OtherFormat,
            3 => StateFileCheck::OtherGame,
            4 => StateFileCheck::OtherRom { state_crc32 },
            _ => StateFileCheck::Unreadable,
        }
    }

    /// Installs a battery save (copied by mGBA) and resets.
    pub(crate) fn load_battery(&mut self, bytes: &[u8]) -> bool {
        // SAFETY: live core; `bytes` is valid for reads of its length; the
        // shim copies it into a memory VFile before returning.
        unsafe { sys::pmd_core_load_battery(self.ptr.as_ptr(), bytes.as_ptr(), bytes.len()) == 1 }
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        {
            let _guard = LIFECYCLE
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            // SAFETY: `ptr` came from `pmd_core_new` and is freed exactly
            // once, here; the ROM and framebuffer it borrows are still
            // alive.
            unsafe { sys::pmd_core_free(self.ptr.as_ptr()) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The framebuffer's ownership pattern, with a Rust writer standing in
    /// for mGBA: the pointer is handed out, the owner moves (as a `Core`
    /// moves into a `Vec` or to another thread), then the pointer is
    /// written and the pixels read. Run under Miri (`make miri`), which
    /// would report the writes as undefined behaviour if the owner were a
    /// `Box` retagged by the move.
    #[test]
    fn the_framebuffer_pointer_survives_moves_of_its_owner() {
        let framebuffer = Framebuffer::new();
        let c_side = framebuffer.as_mut_ptr();
        let mut owners = Vec::new();
        owners.push(framebuffer);
        let moved = owners.pop().unwrap();
        let moved = std::thread::spawn(move || moved).join().unwrap();
        for (i, value) in [(0usize, 0x00FF_00FFu32), (FRAMEBUFFER_PIXELS - 1, 7)] {
            // SAFETY: in bounds of the allocation, which `moved` owns and
            // keeps alive; no reference to the pixels is alive.
            unsafe { c_side.add(i).write(value) };
        }
        assert_eq!(moved.pixels()[0], 0x00FF_00FF);
        assert_eq!(moved.pixels()[FRAMEBUFFER_PIXELS - 1], 7);
        assert_eq!(moved.pixels().len(), FRAMEBUFFER_PIXELS);
    }
}
