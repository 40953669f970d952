//! What a body is on the wire: the phone's requests go up as gzip JSON, the
//! server's answers come down as zstd or gzip (the phone asks for zstd
//! first) and are decoded here, within a bound on what they decode to.
//!
//! zstd only downwards: the phone carries the C library's decoder, not its
//! compressor (about 0.1 MB of the library against 0.45 MB for both;
//! docs/PERFORMANCE.md, "zstd for the download").

use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::{Read, Write};

/// What the phone sends as `Accept-Encoding`: zstd first (fewer bytes than
/// gzip and less of the phone's CPU to read), gzip for a server without it.
pub(super) const ACCEPTED: &str = "zstd, gzip;q=0.5";

/// The largest decoded answer accepted (a pull page of 2 000 assignments is
/// ~1.3 MB): a corrupt or hostile body cannot exhaust the phone's memory.
const MAX_DECODED_ANSWER: u64 = 64 * 1024 * 1024;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// An answer's body as JSON, given its `Content-Encoding`. Some platform
/// stacks (URLSession) decode gzip themselves and keep the header: only a
/// body that is what its header says (by its magic bytes) is decoded here;
/// any other is read as it came.
pub(super) fn decode_answer(encoding: Option<&str>, body: Vec<u8>) -> Result<Vec<u8>, String> {
    let is = |name: &str| encoding.is_some_and(|v| v.trim().eq_ignore_ascii_case(name));
    if is("zstd") && body.starts_with(&ZSTD_MAGIC) {
        zstd::stream::read::Decoder::with_buffer(&body[..])
            .and_then(|decoder| decoded(decoder, body.len()))
            .map_err(|e| format!("zstd body: {e}"))
    } else if is("gzip") && body.starts_with(&GZIP_MAGIC) {
        decoded(flate2::read::GzDecoder::new(&body[..]), body.len())
            .map_err(|e| format!("gzip body: {e}"))
    } else {
        Ok(body)
    }
}

/// Everything `decoder` of `packed` bytes gives, up to [`MAX_DECODED_ANSWER`].
fn decoded(decoder: impl Read, packed: usize) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(packed * 8);
    decoder.take(MAX_DECODED_ANSWER + 1).read_to_end(&mut out)?;
    if out.len() as u64 > MAX_DECODED_ANSWER {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("decodes to more than {MAX_DECODED_ANSWER} bytes"),
        ));
    }
    Ok(out)
}

/// A request body as it goes on the wire. Level 6, not 1: on the push
/// batches of 10 000 events it sends 309 KB instead of 518 KB for 24 ms more
/// of the phone's CPU (docs/PERFORMANCE.md, "gzip against zstd"), seconds
/// saved on a 1 Mbit/s link.
pub(super) fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::new(6));
    enc.write_all(bytes)?;
    enc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &[u8] = br#"{"changes":[],"cursor":"42","more":false}"#;

    fn zstd_of(bytes: &[u8]) -> Vec<u8> {
        zstd::bulk::compress(bytes, 1).unwrap()
    }

    #[test]
    fn a_zstd_answer_is_read_as_the_json_it_packs() {
        assert_eq!(decode_answer(Some("zstd"), zstd_of(PAGE)).unwrap(), PAGE);
        assert_eq!(decode_answer(Some(" ZSTD "), zstd_of(PAGE)).unwrap(), PAGE);
    }

    #[test]
    fn a_gzip_answer_is_read_as_the_json_it_packs() {
        assert_eq!(
            decode_answer(Some("gzip"), gzip(PAGE).unwrap()).unwrap(),
            PAGE
        );
    }

    #[test]
    fn an_answer_a_platform_stack_already_decoded_is_read_as_it_came() {
        assert_eq!(decode_answer(Some("gzip"), PAGE.to_vec()).unwrap(), PAGE);
        assert_eq!(decode_answer(Some("zstd"), PAGE.to_vec()).unwrap(), PAGE);
        assert_eq!(decode_answer(None, PAGE.to_vec()).unwrap(), PAGE);
        // A body is decoded only as its header says.
        let packed = zstd_of(PAGE);
        assert_eq!(decode_answer(Some("gzip"), packed.clone()).unwrap(), packed);
    }

    #[test]
    fn a_garbled_answer_names_its_encoding() {
        let mut cut = zstd_of(PAGE);
        cut.truncate(cut.len() - 3);
        let e = decode_answer(Some("zstd"), cut).unwrap_err();
        assert!(e.starts_with("zstd body: "), "{e}");
        let e = decode_answer(Some("gzip"), vec![0x1f, 0x8b, 0, 1, 2, 3]).unwrap_err();
        assert!(e.starts_with("gzip body: "), "{e}");
    }

    #[test]
    fn an_answer_that_decodes_past_the_bound_is_refused() {
        let at_bound = vec![b' '; MAX_DECODED_ANSWER as usize];
        assert_eq!(
            decode_answer(Some("zstd"), zstd_of(&at_bound))
                .unwrap()
                .len(),
            at_bound.len()
        );
        let past = vec![b' '; MAX_DECODED_ANSWER as usize + 1];
        for (encoding, packed) in [("zstd", zstd_of(&past)), ("gzip", gzip(&past).unwrap())] {
            let e = decode_answer(Some(encoding), packed).unwrap_err();
            assert!(
                e.contains("decodes to more than 67108864 bytes"),
                "{encoding}: {e}"
            );
        }
    }
}
