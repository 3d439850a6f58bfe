//! Size limits for what pyship unpacks from archives it does not trust.
//!
//! Sizes declared in a zip or tar header are never trusted: every read goes through
//! [`read_capped`] or counts its bytes, so an archive that claims (or unpacks to) more than a
//! limit costs no more memory or disk than the limit.

use std::io::Read;

use crate::env_vars;

/// The most one metadata file (METADATA, WHEEL, RECORD, entry_points.txt, PKG-INFO) may hold.
pub const METADATA_FILE: u64 = 64 * 1024 * 1024;

/// Default for the most one wheel or sdist may unpack to: the biggest wheels on PyPI (CUDA
/// builds of torch) unpack to about 5 GiB.
const DEFAULT_UNPACKED: u64 = 16 * 1024 * 1024 * 1024;

/// The most one archive may unpack to: `PYSHIP_MAX_UNPACKED_SIZE` (bytes, or with a `K`, `M`,
/// `G` suffix), else 16 GiB.
pub fn max_unpacked_size() -> u64 {
    std::env::var(env_vars::PYSHIP_MAX_UNPACKED_SIZE)
        .ok()
        .and_then(|value| parse_size(&value))
        .unwrap_or(DEFAULT_UNPACKED)
}

fn parse_size(value: &str) -> Option<u64> {
    let value = value.trim();
    let (digits, unit) = match value.char_indices().last()? {
        (index, 'K' | 'k') => (&value[..index], 1 << 10),
        (index, 'M' | 'm') => (&value[..index], 1 << 20),
        (index, 'G' | 'g') => (&value[..index], 1 << 30),
        _ => (value, 1),
    };
    digits.trim().parse::<u64>().ok()?.checked_mul(unit)
}

/// Reads all of `reader`, failing once it yields more than `limit` bytes.
pub fn read_capped(reader: impl Read, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(std::io::Error::other(format!(
            "it holds more than {} bytes",
            limit
        )));
    }
    Ok(out)
}

/// [`read_capped`] as UTF-8 text.
pub fn read_text_capped(reader: impl Read, limit: u64) -> std::io::Result<String> {
    String::from_utf8(read_capped(reader, limit)?)
        .map_err(|_| std::io::Error::other("it is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("10M"), Some(10 << 20));
        assert_eq!(parse_size("123"), Some(123));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size("99999999999999999G"), None);
    }

    #[test]
    fn reads_stop_at_the_cap() {
        let data = [0u8; 100];
        assert!(read_capped(&data[..], 99).is_err());
        assert_eq!(read_capped(&data[..], 100).unwrap().len(), 100);
    }
}
