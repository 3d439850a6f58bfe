//! The `ar` container of a .deb: a global header, then members with 60-byte headers.
//!
//! dpkg reads the common (System V / GNU) variant; member names here are short, so no
//! extended name table is needed. Owner, group and mtime are fixed for reproducibility
//! (deb(5), ar(5)).

use std::io::{self, Read, Write};

/// The global header of an ar archive.
pub const MAGIC: &[u8] = b"!<arch>\n";

/// Writes one member streamed from `data`, which yields exactly `size` bytes.
pub fn write_member(
    out: &mut impl Write,
    name: &str,
    size: u64,
    data: &mut impl Read,
    mtime: u64,
) -> io::Result<()> {
    // Every field is left-aligned and space-padded; the mode is octal.
    let header = format!(
        "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
        name, mtime, 0, 0, "100644", size
    );
    debug_assert_eq!(header.len(), 60);
    out.write_all(header.as_bytes())?;
    let copied = io::copy(&mut data.take(size), out)?;
    if copied != size {
        return Err(io::Error::other(format!(
            "member `{name}` is shorter than {size} bytes"
        )));
    }
    // Members start on even offsets.
    if size % 2 == 1 {
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Writes an ar archive of in-memory `members` (name, contents) to `out`.
#[cfg(test)]
fn write_ar(out: &mut impl Write, members: &[(&str, &[u8])], mtime: u64) -> io::Result<()> {
    out.write_all(MAGIC)?;
    for (name, data) in members {
        write_member(out, name, data.len() as u64, &mut &data[..], mtime)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_padded_to_even_offsets() {
        let mut out = Vec::new();
        write_ar(&mut out, &[("debian-binary", b"2.0\n"), ("x", b"abc")], 7).unwrap();
        assert!(out.starts_with(
            b"!<arch>\ndebian-binary   7           0     0     100644  4         `\n2.0\n"
        ));
        assert_eq!(out.len(), 8 + 60 + 4 + 60 + 4);
    }
}
