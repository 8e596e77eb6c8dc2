//! Puts the mGBA shim library pmd-mgba built (`libpmd_mgba.so`) inside the
//! Python package directory, so maturin ships it in the wheel beside the
//! extension module; `pmd_agent/__init__.py` points `PMD_MGBA_SHIM` at it.
//! The copy is ignored by git.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::{env, fs};

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_PMD_MGBA_SHIM_PATH");
    let Some(shim) = env::var_os("DEP_PMD_MGBA_SHIM_PATH").map(PathBuf::from) else {
        println!(
            "cargo:warning=pmd-mgba did not say where its shim library is; the wheel will lack it"
        );
        return;
    };
    let dest =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
            .join("python/pmd_agent/libpmd_mgba.so");
    let same = fs::read(&shim)
        .ok()
        .zip(fs::read(&dest).ok())
        .is_some_and(|(a, b)| a == b);
    if !same {
        // Written beside, then renamed: a reader never sees half a library.
        let tmp = dest.with_extension("so.tmp");
        if let Err(e) = fs::copy(&shim, &tmp).and_then(|_| fs::rename(&tmp, &dest)) {
            println!(
                "cargo:warning=cannot copy {} into the package: {e}",
                shim.display()
            );
        }
    }
    println!("cargo:rerun-if-changed={}", shim.display());
}
