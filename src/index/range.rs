//! Reading a remote wheel's METADATA with HTTP range requests, when `.metadata` is missing.
//!
//! A wheel is a zip: its end-of-central-directory record sits in the last bytes, the central
//! directory names every member with its offset, and one more range fetches the METADATA
//! member (APPNOTE.TXT 4.3). Three small requests instead of a whole wheel, which matters for
//! large compiled wheels. Anything unexpected (no range support, zip64, odd compression)
//! returns `None` and the caller downloads the wheel instead.

use reqwest::Url;

use super::http::HttpClient;
use crate::wheel::WheelFilename;

/// How much of the file's end to fetch first: the central directory of most wheels fits.
const TAIL: u64 = 64 * 1024;

fn u16_at(bytes: &[u8], offset: usize) -> Option<usize> {
    Some(u16::from_le_bytes(bytes.get(offset..offset + 2)?.try_into().ok()?) as usize)
}

fn u32_at(bytes: &[u8], offset: usize) -> Option<u64> {
    Some(u32::from_le_bytes(bytes.get(offset..offset + 4)?.try_into().ok()?) as u64)
}

/// METADATA of the wheel at `url`, or `None` when ranges cannot get it.
pub fn metadata_by_range(http: &HttpClient, url: &Url, wheel: &WheelFilename) -> Option<String> {
    let (tail, total) = http.get_range(url, &format!("bytes=-{TAIL}")).ok()??;
    let tail_start = total.checked_sub(tail.len() as u64)?;
    // End of central directory: signature PK\x05\x06, at least 22 bytes from the end.
    let eocd = (0..tail.len().checked_sub(21)?)
        .rev()
        .find(|&index| tail[index..].starts_with(b"PK\x05\x06"))?;
    let directory_size = u32_at(&tail, eocd + 12)?;
    let directory_offset = u32_at(&tail, eocd + 16)?;
    if directory_offset == 0xFFFF_FFFF {
        return None; // zip64
    }
    let directory = if directory_offset >= tail_start {
        let start = (directory_offset - tail_start) as usize;
        tail.get(start..start + directory_size as usize)?.to_vec()
    } else {
        let end = directory_offset + directory_size - 1;
        http.get_range(url, &format!("bytes={directory_offset}-{end}"))
            .ok()??
            .0
    };

    // Central directory entries: signature PK\x01\x02, fixed 46 bytes, then name/extra/comment.
    let mut position = 0;
    let mut member = None;
    while directory.get(position..position + 4) == Some(b"PK\x01\x02") {
        let method = u16_at(&directory, position + 10)?;
        let compressed = u32_at(&directory, position + 20)?;
        let name_length = u16_at(&directory, position + 28)?;
        let extra_length = u16_at(&directory, position + 30)?;
        let comment_length = u16_at(&directory, position + 32)?;
        let local_offset = u32_at(&directory, position + 42)?;
        let name =
            std::str::from_utf8(directory.get(position + 46..position + 46 + name_length)?).ok()?;
        if name.ends_with(".dist-info/METADATA")
            && name.matches('/').count() == 1
            && dist_info_matches(name, wheel)
        {
            member = Some((method, compressed, local_offset));
            break;
        }
        position += 46 + name_length + extra_length + comment_length;
    }
    let (method, compressed, local_offset) = member?;

    // The local header repeats name and extra with its own lengths; fetch with room for both.
    // Sizes come from the server: bounded before any arithmetic or allocation.
    if compressed > crate::limits::METADATA_FILE {
        return None;
    }
    let end = local_offset.checked_add(30 + 1024 + compressed)?;
    let (local, _) = http
        .get_range(url, &format!("bytes={local_offset}-{end}"))
        .ok()??;
    if !local.starts_with(b"PK\x03\x04") {
        return None;
    }
    let data_start = 30 + u16_at(&local, 26)? + u16_at(&local, 28)?;
    let data = local.get(data_start..data_start.checked_add(compressed as usize)?)?;
    match method {
        0 => String::from_utf8(data.to_vec()).ok(),
        8 => crate::limits::read_text_capped(
            flate2::read::DeflateDecoder::new(data),
            crate::limits::METADATA_FILE,
        )
        .ok(),
        _ => None,
    }
}

fn dist_info_matches(name: &str, wheel: &WheelFilename) -> bool {
    use std::str::FromStr;
    name.trim_end_matches(".dist-info/METADATA")
        .rsplit_once('-')
        .and_then(|(dist, _)| pep508_rs::PackageName::from_str(dist).ok())
        .is_some_and(|dist| dist == wheel.name)
}
