//! Read-only memory maps of index files: this crate's one `unsafe` block.
#![allow(unsafe_code)]

use std::fs::File;
use std::ops::Deref;

/// A read-only mapping of a whole file, alive as long as this value.
#[derive(Debug)]
pub(crate) struct Mapping {
    map: memmap2::Mmap,
}

impl Mapping {
    /// Maps `file` (opened read-only) into memory.
    ///
    /// Pages are read on demand by the kernel and shared with every other
    /// process mapping the same file.
    pub(crate) fn of(file: &File) -> std::io::Result<Self> {
        // SAFETY: memmap2 requires that the mapped file is not modified or
        // truncated while the map lives (that would change bytes behind a
        // `&[u8]`, or raise SIGBUS). This crate never writes an index file
        // after it is complete: every file is written under a temporary
        // name, fsynced and renamed into place (`atomic_file`), and later
        // generations are new files, so a file that is mapped is never
        // opened for writing again by this crate; replacing or deleting its
        // name leaves the mapped inode intact. The map is read-only
        // (`PROT_READ`, `MAP_SHARED`), and every byte read from it goes
        // through bounds-checked slices after the header was validated.
        // Another program truncating an index file in place is outside
        // this contract (as for any mapped file) and is documented.
        let map = unsafe { memmap2::Mmap::map(file)? };
        // Graph search touches pages in no particular order: readahead
        // would read (and keep resident) pages no query needs.
        let _ = map.advise(memmap2::Advice::Random);
        Ok(Self { map })
    }
}

impl Deref for Mapping {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "Miri does not support file-backed memory mappings")]
    fn maps_a_whole_file_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("segment");
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let map = Mapping::of(&File::open(&path).unwrap()).unwrap();
        // The name may go while the map lives: the inode stays mapped.
        std::fs::remove_file(&path).unwrap();
        assert_eq!(&map[..], &bytes[..]);
        drop(map);
    }
}
