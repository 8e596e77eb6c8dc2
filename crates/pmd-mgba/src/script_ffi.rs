//! The second FFI module (with `crates/pmd-mgba/src/ffi.rs`): mGBA's scripting engine
//! hosted on an [`Emulator`], and the core accessors of
//! `crates/pmd-mgba/shim/pmd_script.{h,c}` (memory domains, header strings).
//!
//! Soundness rests on these invariants, all local to this file:
//!
//! 1. A [`Scripted`] owns its `pmd_script*` exclusively and frees it once,
//!    in `Drop`, *before* the [`Emulator`] whose core it points at (the
//!    emulator is a field of the same struct, and `Drop` frees the script
//!    first). Nothing hands out `&mut Emulator`, so the core cannot be
//!    swapped or dropped under the script.
//! 2. The console sink is a `Box` turned into a raw pointer at creation and
//!    turned back once, in `Drop`, after the script (its only user) is
//!    freed. The shim calls it only from inside `pmd_script_*` calls made
//!    here through `&mut self`, on this thread, so no other reference to it
//!    is alive while it runs.
//! 3. Memory domains are slices borrowed from `&Core` / `&mut Core`, like
//!    EWRAM in `ffi.rs`: mGBA allocates the blocks at core creation and
//!    frees them at destruction, and every call that runs emulation takes
//!    `&mut`, so no slice is alive while mGBA writes to it.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::Path;
use std::ptr::NonNull;

use super::ffi::Core;
use super::Emulator;

mod sys {
    use std::ffi::{c_char, c_int, c_void};

    /// Opaque handle of the scripting shim.
    #[repr(C)]
    pub struct PmdScript {
        _private: [u8; 0],
    }

    pub type Sink = extern "C" fn(user: *mut c_void, level: c_int, message: *const c_char);

    super::super::ffi::shim_functions! {
        pub fn pmd_script_new(
            core: *mut c_void,
            state_dir: *const c_char,
            base_name: *const c_char,
            sink: Option<Sink>,
            user: *mut c_void,
        ) -> *mut PmdScript;
        pub fn pmd_script_free(script: *mut PmdScript);
        pub fn pmd_script_load(script: *mut PmdScript, path: *const c_char) -> c_int;
        pub fn pmd_script_load_source(
            script: *mut PmdScript,
            name: *const c_char,
            source: *const c_char,
            len: usize,
        ) -> c_int;
        pub fn pmd_script_trigger(script: *mut PmdScript, name: *const c_char) -> c_int;
        pub fn pmd_script_take_pending_error(script: *mut PmdScript) -> c_int;
        pub fn pmd_script_error(script: *const PmdScript) -> *const c_char;
        pub fn pmd_script_refused_reentry(script: *const PmdScript) -> u64;
        pub fn pmd_script_install_stop_signals();
        pub fn pmd_script_stop_requested() -> c_int;
        pub fn pmd_core_domain(core: *mut c_void, which: c_int, size: *mut usize) -> *mut u8;
        pub fn pmd_core_game_title(core: *mut c_void, out: *mut c_char, len: usize);
        pub fn pmd_core_game_code(core: *mut c_void, out: *mut c_char, len: usize);
        pub fn pmd_core_bus_read(core: *mut c_void, address: u32, width: c_int) -> u32;
        pub fn pmd_core_bus_read_range(core: *mut c_void, address: u32, out: *mut u8, len: usize);
        pub fn pmd_core_bus_write(core: *mut c_void, address: u32, width: c_int, value: u32);
        pub fn pmd_core_raw_write(core: *mut c_void, address: u32, width: c_int, value: u32);
    }
}

/// Resolves this module's shim functions (`Core::new` does, for every
/// core).
pub(crate) fn load() -> Result<(), String> {
    sys::load()
}

/// Where a line the script printed came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleLevel {
    /// `console:log`.
    Log,
    /// `console:warn`.
    Warn,
    /// `console:error`, and errors the socket library catches.
    Error,
    /// Text printed into a `console:createBuffer` buffer.
    Buffer,
}

/// Receives what the script prints.
pub(crate) type ConsoleSink = Box<dyn FnMut(ConsoleLevel, &str)>;

extern "C" fn sink_trampoline(user: *mut c_void, level: c_int, message: *const c_char) {
    if user.is_null() || message.is_null() {
        return;
    }
    let level = match level {
        1 => ConsoleLevel::Warn,
        2 => ConsoleLevel::Error,
        3 => ConsoleLevel::Buffer,
        _ => ConsoleLevel::Log,
    };
    // SAFETY: the shim passes a NUL-terminated string valid for this call.
    let text = unsafe { CStr::from_ptr(message) }.to_string_lossy();
    // SAFETY: `user` is the pointer made by `Box::into_raw` in
    // `Scripted::new`, freed only after the script (invariant 2); the shim
    // calls this only during a `&mut self` call, so this is the only
    // reference to the sink.
    let sink = unsafe { &mut *user.cast::<ConsoleSink>() };
    // A panic must not unwind into C; a sink that panics loses its line.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink(level, &text)));
}

/// An [`Emulator`] with mGBA's Lua engine attached to its core.
pub(crate) struct Scripted {
    ptr: NonNull<sys::PmdScript>,
    sink: *mut ConsoleSink,
    emu: Emulator,
}

/// Why loading a script failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LoadFailure {
    /// The file could not be read or compiled.
    Compile(String),
    /// Running its top level raised a Lua error.
    Run(String),
}

/// A C string for the shim, or a message when the text holds a NUL byte.
fn c_string(text: &str, what: &str) -> Result<CString, String> {
    CString::new(text).map_err(|_| format!("{what} contains a NUL byte"))
}

impl Scripted {
    /// Attaches a scripting context to `emu`'s core. Savestate slots and
    /// unnamed screenshots go to `state_dir` (as `<base_name>.ssN`).
    pub(crate) fn new(
        emu: Emulator,
        state_dir: Option<&Path>,
        base_name: &str,
        sink: ConsoleSink,
    ) -> Result<Scripted, String> {
        let dir = state_dir
            .map(|d| c_string(&d.to_string_lossy(), "the state directory"))
            .transpose()?;
        let base = c_string(base_name, "the ROM name")?;
        sys::load()?;
        let sink = Box::into_raw(Box::new(sink));
        // SAFETY: the core is live and owned by `emu`, which the returned
        // value owns and outlives the script (invariant 1); the strings
        // live for the call (the shim copies them); `sink` is a valid
        // pointer for the trampoline (invariant 2).
        let raw = unsafe {
            sys::pmd_script_new(
                emu.core().raw(),
                dir.as_ref().map_or(std::ptr::null(), |d| d.as_ptr()),
                base.as_ptr(),
                Some(sink_trampoline),
                sink.cast(),
            )
        };
        match NonNull::new(raw) {
            Some(ptr) => Ok(Scripted { ptr, sink, emu }),
            None => {
                // SAFETY: the script was not created, so nothing else holds
                // `sink`; it came from `Box::into_raw` just above.
                drop(unsafe { Box::from_raw(sink) });
                Err("mGBA's Lua engine could not be started".to_string())
            }
        }
    }

    fn error(&self) -> String {
        // SAFETY: live script; the shim returns a NUL-terminated string it
        // owns, valid until the next call, which we copy at once.
        unsafe { CStr::from_ptr(sys::pmd_script_error(self.ptr.as_ptr())) }
            .to_string_lossy()
            .into_owned()
    }

    fn load_result(&self, code: c_int) -> Result<(), LoadFailure> {
        match code {
            1 => Ok(()),
            0 => Err(LoadFailure::Compile(self.error())),
            _ => Err(LoadFailure::Run(self.error())),
        }
    }

    /// Compiles and runs a Lua file; the error names the file and line.
    pub(crate) fn load_file(&mut self, path: &Path) -> Result<(), LoadFailure> {
        let path =
            c_string(&path.to_string_lossy(), "the script path").map_err(LoadFailure::Compile)?;
        // SAFETY: live script, called through `&mut self` (invariant 2);
        // `path` is NUL-terminated and lives for the call.
        let code = unsafe { sys::pmd_script_load(self.ptr.as_ptr(), path.as_ptr()) };
        self.load_result(code)
    }

    /// Compiles and runs Lua source held in memory, named `name`.
    pub(crate) fn load_source(&mut self, name: &str, source: &str) -> Result<(), LoadFailure> {
        let name = c_string(name, "the chunk name").map_err(LoadFailure::Compile)?;
        // SAFETY: live script through `&mut self`; `source` is valid for
        // reads of its length during the call (the shim wraps it in a VFile
        // it closes before returning).
        let code = unsafe {
            sys::pmd_script_load_source(
                self.ptr.as_ptr(),
                name.as_ptr(),
                source.as_ptr().cast(),
                source.len(),
            )
        };
        self.load_result(code)
    }

    /// Runs the callbacks registered for `name`; the first Lua error.
    pub(crate) fn trigger(&mut self, name: &str) -> Result<(), String> {
        let name = c_string(name, "the callback name")?;
        // SAFETY: live script through `&mut self`; `name` lives for the call.
        let ok = unsafe { sys::pmd_script_trigger(self.ptr.as_ptr(), name.as_ptr()) };
        if ok == 1 {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    /// A Lua error raised by a callback fired from inside emulation
    /// (keysRead, ...) since the last call.
    pub(crate) fn take_pending_error(&mut self) -> Option<String> {
        // SAFETY: live script through `&mut self`.
        let pending = unsafe { sys::pmd_script_take_pending_error(self.ptr.as_ptr()) };
        (pending == 1).then(|| self.error())
    }

    /// Nested emulation calls refused so far (process-wide).
    pub(crate) fn refused_reentry(&self) -> u64 {
        // SAFETY: live script; reads an atomic counter.
        unsafe { sys::pmd_script_refused_reentry(self.ptr.as_ptr()) }
    }

    /// The emulator, read-only (see invariant 1).
    pub(crate) fn emulator(&self) -> &Emulator {
        &self.emu
    }

    /// A savestate of the machine as it stands. Saving reads the core; it
    /// neither swaps nor drops it, so invariant 1 holds.
    pub(crate) fn snapshot(&mut self) -> Result<super::Snapshot, super::EmuError> {
        self.emu.snapshot()
    }

    /// Runs one frame (callbacks fired from inside it run too).
    pub(crate) fn run_frame(&mut self) {
        self.emu.run_frame();
    }

    /// Powers the machine off and on (held keys are kept).
    pub(crate) fn reset(&mut self) {
        self.emu.reset();
    }

    /// Loads a savestate file as mGBA's frontends write it.
    pub(crate) fn load_mgba_state_file(&mut self, bytes: &[u8]) -> Result<(), super::EmuError> {
        self.emu.load_mgba_state_file(bytes)
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `pmd_script_new` and is freed once, here,
        // while the core it points at is still alive (the emulator field is
        // dropped after this body runs).
        unsafe { sys::pmd_script_free(self.ptr.as_ptr()) };
        // SAFETY: the script, the sink's only user, is gone; `sink` came
        // from `Box::into_raw` and is turned back exactly once.
        drop(unsafe { Box::from_raw(self.sink) });
    }
}

/// Makes SIGINT and SIGTERM set a flag instead of ending the process.
pub(crate) fn install_stop_signals() -> Result<(), String> {
    sys::load()?;
    // SAFETY: installs plain C signal handlers that only store to a
    // `volatile sig_atomic_t`.
    unsafe { sys::pmd_script_install_stop_signals() };
    Ok(())
}

/// Whether SIGINT or SIGTERM arrived since [`install_stop_signals`].
pub(crate) fn stop_requested() -> bool {
    // Without the shim no handler was installed: nothing was requested.
    if sys::load().is_err() {
        return false;
    }
    // SAFETY: reads a `sig_atomic_t` flag.
    unsafe { sys::pmd_script_stop_requested() == 1 }
}

/// A memory domain's backing block (`which` in the shim's numbering).
pub(super) fn domain(core: &Core, which: c_int) -> &[u8] {
    let mut size = 0usize;
    // SAFETY: live core (owned by the `Core` borrowed here); `size` is a
    // valid out-pointer; the call only looks a pointer up.
    let ptr = unsafe { sys::pmd_core_domain(core.raw(), which, &mut size) };
    if ptr.is_null() || size == 0 {
        return &[];
    }
    // SAFETY: mGBA owns the block for the core's life and reports its size;
    // the slice borrows `core`, so no emulation call (which needs `&mut`)
    // runs while it lives (invariant 3).
    unsafe { std::slice::from_raw_parts(ptr, size) }
}

/// A writable memory domain's backing block.
pub(super) fn domain_mut(core: &mut Core, which: c_int) -> &mut [u8] {
    let mut size = 0usize;
    // SAFETY: as for `domain`.
    let ptr = unsafe { sys::pmd_core_domain(core.raw(), which, &mut size) };
    if ptr.is_null() || size == 0 {
        return &mut [];
    }
    // SAFETY: as for `domain`; `&mut Core` makes this the only borrow of
    // the core's memory, and mGBA's blocks are separate allocations. The
    // caller only asks for RAM domains (never the ROM or BIOS, which may
    // be read-only mappings).
    unsafe { std::slice::from_raw_parts_mut(ptr, size) }
}

fn header_string(core: &Core, f: unsafe fn(*mut c_void, *mut c_char, usize)) -> String {
    let mut buffer = [0 as c_char; 40];
    // SAFETY: live core; the shim writes at most `len` bytes, NUL included.
    unsafe { f(core.raw(), buffer.as_mut_ptr(), buffer.len()) };
    // SAFETY: the shim always NUL-terminates within the buffer.
    unsafe { CStr::from_ptr(buffer.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// The ROM header's title as mGBA's scripting API reports it.
pub(super) fn game_title(core: &Core) -> String {
    header_string(core, sys::pmd_core_game_title)
}

/// The game code as mGBA's scripting API reports it (`AGB-XXXX`).
pub(super) fn game_code(core: &Core) -> String {
    header_string(core, sys::pmd_core_game_code)
}

/// A bus read of `width` bytes (1, 2 or 4) as mGBA's `emu:read8/16/32`.
pub(super) fn bus_read(core: &mut Core, address: u32, width: u32) -> u32 {
    // SAFETY: live core borrowed mutably (a bus read may update open-bus
    // state); the shim ignores other widths.
    unsafe { sys::pmd_core_bus_read(core.raw(), address, width as c_int) }
}

/// `out.len()` bus bytes from `address`, as mGBA's `emu:readRange`.
pub(super) fn bus_read_range(core: &mut Core, address: u32, out: &mut [u8]) {
    // SAFETY: live core borrowed mutably; `out` is valid for writes of its
    // length, which is what the shim writes.
    unsafe { sys::pmd_core_bus_read_range(core.raw(), address, out.as_mut_ptr(), out.len()) }
}

/// A bus write, as mGBA's `emu:write8/16/32`.
pub(super) fn bus_write(core: &mut Core, address: u32, width: u32, value: u32) {
    // SAFETY: live core borrowed mutably, so no memory slice is alive.
    unsafe { sys::pmd_core_bus_write(core.raw(), address, width as c_int, value) }
}

/// A raw write (no bus side effects, renderer caches kept), as mGBA's
/// memory domains write.
pub(super) fn raw_write(core: &mut Core, address: u32, width: u32, value: u32) {
    // SAFETY: as for `bus_write`.
    unsafe { sys::pmd_core_raw_write(core.raw(), address, width as c_int, value) }
}
