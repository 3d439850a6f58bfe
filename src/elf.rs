//! The shared libraries an ELF file needs (its `DT_NEEDED` entries), read from the headers,
//! the dynamic segment and the string table only: a 1 GB library costs a few small reads, not
//! a 1 GB allocation, and a hostile file (these come from wheels) gets bounded reads and no
//! panic. 32- and 64-bit, either byte order.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

const MAGIC: &[u8; 4] = b"\x7fELF";
const PT_LOAD: u64 = 1;
const PT_DYNAMIC: u64 = 2;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;
const DT_STRSZ: u64 = 10;
/// Caps on what is read, far above any real library's.
const MAX_PROGRAM_HEADERS: u64 = 4096;
const MAX_DYNAMIC_SIZE: u64 = 1 << 20;
const MAX_STRTAB_SIZE: u64 = 16 << 20;

/// Whether the file starts like an ELF file.
pub fn is_elf(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    File::open(path)
        .and_then(|mut file| file.read_exact(&mut magic))
        .is_ok()
        && &magic == MAGIC
}

/// The `DT_NEEDED` sonames of the ELF file at `path`, in file order; empty for a static file.
/// `Err` says why the file is not a readable ELF file.
pub fn needed_libraries(path: &Path) -> Result<Vec<String>, String> {
    let mut file = File::open(path).map_err(|error| error.to_string())?;
    let mut ident = [0u8; 16];
    file.read_exact(&mut ident)
        .map_err(|_| "too short for an ELF header".to_string())?;
    if &ident[..4] != MAGIC {
        return Err("not an ELF file".into());
    }
    let reader = Reader {
        wide: match ident[4] {
            1 => false,
            2 => true,
            class => return Err(format!("unknown ELF class {class}")),
        },
        big_endian: match ident[5] {
            1 => false,
            2 => true,
            data => return Err(format!("unknown ELF byte order {data}")),
        },
    };
    // e_phoff, e_phentsize, e_phnum.
    let header = read_at(&mut file, 0, if reader.wide { 64 } else { 52 })?;
    let (phoff, phentsize, phnum) = if reader.wide {
        (
            reader.u64(&header, 32),
            reader.u16(&header, 54),
            reader.u16(&header, 56),
        )
    } else {
        (
            reader.u32(&header, 28),
            reader.u16(&header, 42),
            reader.u16(&header, 44),
        )
    };
    let entry_size = if reader.wide { 56 } else { 32 };
    if phnum == 0 {
        return Ok(Vec::new());
    }
    if phentsize < entry_size || phnum > MAX_PROGRAM_HEADERS {
        return Err("malformed program headers".into());
    }
    let table = read_at(&mut file, phoff, phentsize * phnum)?;
    let mut loads = Vec::new();
    let mut dynamic = None;
    for index in 0..phnum as usize {
        let entry = &table[index * phentsize as usize..];
        let kind = reader.u32(entry, 0);
        // (offset, vaddr, filesz)
        let segment = if reader.wide {
            (
                reader.u64(entry, 8),
                reader.u64(entry, 16),
                reader.u64(entry, 32),
            )
        } else {
            (
                reader.u32(entry, 4),
                reader.u32(entry, 8),
                reader.u32(entry, 16),
            )
        };
        match kind {
            PT_LOAD => loads.push(segment),
            PT_DYNAMIC => dynamic = Some(segment),
            _ => {}
        }
    }
    let Some((dynamic_offset, _, dynamic_size)) = dynamic else {
        return Ok(Vec::new());
    };
    let dynamic = read_at(
        &mut file,
        dynamic_offset,
        dynamic_size.min(MAX_DYNAMIC_SIZE),
    )?;
    let dyn_size = if reader.wide { 16 } else { 8 };
    let (mut needed, mut strtab, mut strsz) = (Vec::new(), None, None);
    for entry in dynamic.chunks_exact(dyn_size) {
        let (tag, value) = if reader.wide {
            (reader.u64(entry, 0), reader.u64(entry, 8))
        } else {
            (reader.u32(entry, 0), reader.u32(entry, 4))
        };
        match tag {
            DT_NULL => break,
            DT_NEEDED => needed.push(value),
            DT_STRTAB => strtab = Some(value),
            DT_STRSZ => strsz = Some(value),
            _ => {}
        }
    }
    if needed.is_empty() {
        return Ok(Vec::new());
    }
    let (Some(address), Some(size)) = (strtab, strsz) else {
        return Err("DT_NEEDED without a string table".into());
    };
    // The string table is given by address: find the loaded segment that holds it.
    let offset = loads
        .iter()
        .find(|(_, vaddr, filesz)| address >= *vaddr && address - vaddr < *filesz)
        .map(|(offset, vaddr, _)| offset + (address - vaddr))
        .ok_or("the string table is outside every loaded segment")?;
    let strings = read_at(&mut file, offset, size.min(MAX_STRTAB_SIZE))?;
    needed
        .into_iter()
        .map(|start| {
            let tail = usize::try_from(start)
                .ok()
                .and_then(|start| strings.get(start..))
                .ok_or("a DT_NEEDED name is outside the string table")?;
            let name = &tail[..tail.iter().position(|&b| b == 0).unwrap_or(tail.len())];
            std::str::from_utf8(name)
                .ok()
                .filter(|name| is_soname(name))
                .map(str::to_string)
                .ok_or_else(|| "a DT_NEEDED name is not a plain library name".to_string())
        })
        .collect()
}

/// A library file name: printable ASCII, no path, not empty.
fn is_soname(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && name.bytes().all(|b| b.is_ascii_graphic() && b != b'/')
}

/// `len` bytes at `offset`, or why not.
fn read_at(file: &mut File, offset: u64, len: u64) -> Result<Vec<u8>, String> {
    let len = usize::try_from(len).map_err(|_| "a size beyond this machine".to_string())?;
    let mut buffer = vec![0u8; len];
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(&mut buffer))
        .map_err(|_| format!("cannot read {len} bytes at offset {offset}"))?;
    Ok(buffer)
}

/// Reads fields in the file's width and byte order; callers pass slices long enough (the
/// table reads above are sized from the entry sizes checked first).
struct Reader {
    wide: bool,
    big_endian: bool,
}

impl Reader {
    fn bytes<const N: usize>(&self, data: &[u8], at: usize) -> [u8; N] {
        let mut out = [0u8; N];
        if let Some(slice) = data.get(at..at + N) {
            out.copy_from_slice(slice);
        }
        out
    }
    fn u16(&self, data: &[u8], at: usize) -> u64 {
        let bytes = self.bytes::<2>(data, at);
        u64::from(if self.big_endian {
            u16::from_be_bytes(bytes)
        } else {
            u16::from_le_bytes(bytes)
        })
    }
    fn u32(&self, data: &[u8], at: usize) -> u64 {
        let bytes = self.bytes::<4>(data, at);
        u64::from(if self.big_endian {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        })
    }
    fn u64(&self, data: &[u8], at: usize) -> u64 {
        let bytes = self.bytes::<8>(data, at);
        if self.big_endian {
            u64::from_be_bytes(bytes)
        } else {
            u64::from_le_bytes(bytes)
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal little-endian ELF64 shared object needing `needed`: one PT_LOAD covering the
    /// file, one PT_DYNAMIC, a string table.
    pub(crate) fn tiny_elf(needed: &[&str]) -> Vec<u8> {
        let mut strtab = vec![0u8];
        let mut offsets = Vec::new();
        for name in needed {
            offsets.push(strtab.len() as u64);
            strtab.extend_from_slice(name.as_bytes());
            strtab.push(0);
        }
        let phoff = 64u64;
        let strtab_offset = phoff + 2 * 56;
        let dynamic_offset = strtab_offset + strtab.len() as u64;
        let mut dynamic: Vec<(u64, u64)> = offsets.iter().map(|o| (DT_NEEDED, *o)).collect();
        dynamic.push((DT_STRTAB, 0x1000 + strtab_offset));
        dynamic.push((DT_STRSZ, strtab.len() as u64));
        dynamic.push((DT_NULL, 0));
        let total = dynamic_offset + dynamic.len() as u64 * 16;
        let mut out = Vec::new();
        out.extend_from_slice(b"\x7fELF\x02\x01\x01");
        out.resize(16, 0);
        out.extend_from_slice(&3u16.to_le_bytes()); // ET_DYN
        out.extend_from_slice(&62u16.to_le_bytes()); // x86-64
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes()); // entry
        out.extend_from_slice(&phoff.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes()); // shoff
        out.extend_from_slice(&0u32.to_le_bytes()); // flags
        out.extend_from_slice(&64u16.to_le_bytes());
        out.extend_from_slice(&56u16.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&[0u8; 6]);
        let segment = |out: &mut Vec<u8>, kind: u32, offset: u64, vaddr: u64, size: u64| {
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&4u32.to_le_bytes());
            for value in [offset, vaddr, vaddr, size, size, 8] {
                out.extend_from_slice(&value.to_le_bytes());
            }
        };
        segment(&mut out, PT_LOAD as u32, 0, 0x1000, total);
        segment(
            &mut out,
            PT_DYNAMIC as u32,
            dynamic_offset,
            0x1000 + dynamic_offset,
            dynamic.len() as u64 * 16,
        );
        out.extend_from_slice(&strtab);
        for (tag, value) in dynamic {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&value.to_le_bytes());
        }
        out
    }

    #[test]
    fn reads_the_needed_libraries_of_a_real_and_a_made_elf_file() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("lib.so");
        std::fs::write(&path, tiny_elf(&["libz.so.1", "libc.so.6"])).unwrap();
        assert!(is_elf(&path));
        assert_eq!(needed_libraries(&path).unwrap(), ["libz.so.1", "libc.so.6"]);
        // The test machine's own python links libc.
        let python = std::fs::canonicalize("/usr/bin/python3").unwrap();
        let needed = needed_libraries(&python).unwrap();
        assert!(needed.iter().any(|name| name == "libc.so.6"), "{needed:?}");
    }

    #[test]
    fn malformed_files_are_errors_not_panics() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("bad.so");
        let good = tiny_elf(&["libz.so.1"]);
        for cut in [3, 10, 60, 100, 180, good.len() - 5] {
            std::fs::write(&path, &good[..cut]).unwrap();
            let _ = needed_libraries(&path);
        }
        let mut hostile = good.clone();
        // A name offset far outside the string table.
        let at = hostile.len() - 4 * 16 + 8;
        hostile[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        std::fs::write(&path, &hostile).unwrap();
        assert!(needed_libraries(&path).is_err());
        std::fs::write(&path, tiny_elf(&["../../etc/passwd"])).unwrap();
        assert!(needed_libraries(&path).is_err());
        std::fs::write(&path, b"#!/bin/sh\n").unwrap();
        assert!(!is_elf(&path));
    }
}
