//! Compiles the C shim in `shim/` against the system's mGBA headers into
//! a shared library that links `libmgba` (`libpmd_mgba.so` in `OUT_DIR`,
//! its path recorded as `PMD_MGBA_SHIM` for the crate, which loads it on
//! first use: see `ffi::shim_library`). Fails with one actionable message
//! when mGBA's headers or library are missing.
//!
//! `MGBA_INCLUDE_DIR` and `MGBA_LIB_DIR` override the default search in
//! `/usr/include` and the usual library directories.
#![forbid(unsafe_code)]

use std::env;
use std::path::{Path, PathBuf};

const SETUP_HINT: &str = "run `make setup` (or `sudo apt-get install libmgba-dev`), \
or point MGBA_INCLUDE_DIR / MGBA_LIB_DIR at an mGBA 0.10 installation";

fn main() {
    println!("cargo:rerun-if-changed=shim/pmd_mgba.c");
    println!("cargo:rerun-if-changed=shim/pmd_mgba.h");
    println!("cargo:rerun-if-changed=shim/pmd_script.c");
    println!("cargo:rerun-if-changed=shim/pmd_script.h");
    println!("cargo:rerun-if-env-changed=MGBA_INCLUDE_DIR");
    println!("cargo:rerun-if-env-changed=MGBA_LIB_DIR");

    let include = env::var_os("MGBA_INCLUDE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/include"));
    if !include.join("mgba/flags.h").is_file() || !include.join("mgba/core/core.h").is_file() {
        fail(&format!(
            "mGBA headers not found ({} has no mgba/flags.h)",
            include.display()
        ));
    }

    let lib_dir = match env::var_os("MGBA_LIB_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => find_library_dir().unwrap_or_else(|| fail("libmgba.so not found")),
    };
    if !lib_dir.join("libmgba.so").exists() {
        fail(&format!("libmgba.so not found in {}", lib_dir.display()));
    }

    // The shim as a shared library: the crate loads it when the first
    // emulator is made, so binaries that never emulate never map mGBA.
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_else(|| fail("OUT_DIR is not set")))
        .join("libpmd_mgba.so");
    let compiler = cc::Build::new()
        .include(&include)
        .include("shim")
        .warnings(true)
        .extra_warnings(true)
        .flag_if_supported("-Wno-unused-parameter")
        .pic(true)
        .try_get_compiler()
        .unwrap_or_else(|e| fail(&format!("no C compiler for the shim: {e}")));
    let status = compiler
        .to_command()
        .args(["-shared", "-o"])
        .arg(&out)
        // mGBA's scripting engine hosted headless (`pmd-agent script`)
        // beside the core's API.
        .args(["shim/pmd_mgba.c", "shim/pmd_script.c"])
        .arg(format!("-L{}", lib_dir.display()))
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .args(["-Wl,-soname,libpmd_mgba.so", "-Wl,--no-undefined", "-lmgba"])
        .status()
        .unwrap_or_else(|e| fail(&format!("cannot run the C compiler: {e}")));
    if !status.success() {
        fail("compiling the C shim in shim/ failed (see the compiler's messages above)");
    }
    println!("cargo:rustc-env=PMD_MGBA_SHIM={}", out.display());
    // For packagers (the Python wheel ships the shim beside its module).
    println!("cargo:path={}", out.display());
}

fn find_library_dir() -> Option<PathBuf> {
    let target = env::var("TARGET").unwrap_or_default();
    let multiarch = match target.split('-').next() {
        Some("x86_64") => "x86_64-linux-gnu",
        Some("aarch64") => "aarch64-linux-gnu",
        _ => "",
    };
    [
        format!("/usr/lib/{multiarch}"),
        "/usr/lib".to_string(),
        "/usr/local/lib".to_string(),
        "/usr/lib64".to_string(),
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|dir| Path::new(dir).join("libmgba.so").exists())
}

fn fail(problem: &str) -> ! {
    // One line, so it is the first thing a person sees in cargo's output.
    eprintln!("error: {problem}: {SETUP_HINT}");
    println!("cargo:warning={problem}: {SETUP_HINT}");
    std::process::exit(1);
}
