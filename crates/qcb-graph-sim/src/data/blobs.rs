//! Attachment contents: valid PNG images, PDF-like documents, CSV files.
//! All deterministic from the generator's PRNG.

use crate::rng::SplitMix64;

/// A valid RGB PNG (stored/uncompressed deflate blocks) with a gradient.
pub(crate) fn png(rng: &mut SplitMix64, width: u32, height: u32) -> Vec<u8> {
    let (r0, g0, b0) = (rng.below(256), rng.below(256), rng.below(256));
    let mut raw = Vec::with_capacity(((width * 3 + 1) * height) as usize);
    for y in 0..height {
        raw.push(0); // filter: none
        for x in 0..width {
            raw.push(((r0 + u64::from(x) * 255 / u64::from(width.max(1))) % 256) as u8);
            raw.push(((g0 + u64::from(y) * 255 / u64::from(height.max(1))) % 256) as u8);
            raw.push(((b0 + u64::from(x ^ y)) % 256) as u8);
        }
    }
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut chunks = data.chunks(65_535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(c) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = c.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

/// A PDF-looking document of about `size` bytes.
pub(crate) fn pdf(rng: &mut SplitMix64, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(pdf_len(size));
    out.extend_from_slice(PDF_HEAD);
    let mut noise = vec![0u8; pdf_body(size)];
    rng.fill(&mut noise);
    out.extend_from_slice(&noise);
    out.extend_from_slice(PDF_TAIL);
    out
}

const PDF_HEAD: &[u8] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>\nendobj\n4 0 obj\n<< /Filter /FlateDecode /Length 0 >>\nstream\n";
const PDF_TAIL: &[u8] = b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";

fn pdf_body(size: usize) -> usize {
    size.saturating_sub(PDF_HEAD.len() + 64).max(16)
}

/// The length of [`pdf`]'s output for `size`, without making it.
pub(crate) fn pdf_len(size: usize) -> usize {
    PDF_HEAD.len() + pdf_body(size) + PDF_TAIL.len()
}

/// A small semicolon-separated CSV with non-ASCII text.
pub(crate) fn csv(rng: &mut SplitMix64, rows: usize) -> Vec<u8> {
    let mut s = String::from("Datum;Betrag;Beschreibung\r\n");
    let items = [
        "Büromaterial",
        "Reisekosten München",
        "Software-Lizenz",
        "Café & Snacks",
        "出張費",
    ];
    for i in 0..rows {
        let cents = rng.range(100, 500_000);
        s.push_str(&format!(
            "2026-10-{:02};{},{:02};{}\r\n",
            1 + (i % 28),
            cents / 100,
            cents % 100,
            rng.pick(&items)
        ));
    }
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_has_valid_structure() {
        let mut r = SplitMix64::new(3);
        let p = png(&mut r, 10, 7);
        assert_eq!(&p[..8], &[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]);
        // IHDR CRC of a known chunk
        assert_eq!(crc32(b"IEND"), 0xae42_6082);
        assert_eq!(&p[p.len() - 8..p.len() - 4], b"IEND");
    }

    #[test]
    fn pdf_size_is_close() {
        let mut r = SplitMix64::new(3);
        let p = pdf(&mut r, 50_000);
        assert!(p.len() > 45_000 && p.len() < 55_000);
        assert!(p.starts_with(b"%PDF-1.4"));
        assert_eq!(p.len(), pdf_len(50_000));
        assert_eq!(pdf(&mut SplitMix64::new(1), 10).len(), pdf_len(10));
    }
}

/// How a generated attachment's bytes were made: the generator's PRNG state
/// just before, and the parameters. [`BlobSpec::render`] makes the same
/// bytes again.
#[derive(Debug, Clone)]
pub(crate) enum BlobSpec {
    Pdf {
        rng: SplitMix64,
        size: usize,
    },
    Csv {
        rng: SplitMix64,
        rows: usize,
    },
    Png {
        rng: SplitMix64,
        width: u32,
        height: u32,
    },
}

impl BlobSpec {
    pub fn render(&self) -> Vec<u8> {
        match self {
            BlobSpec::Pdf { rng, size } => pdf(&mut rng.clone(), *size),
            BlobSpec::Csv { rng, rows } => csv(&mut rng.clone(), *rows),
            BlobSpec::Png { rng, width, height } => png(&mut rng.clone(), *width, *height),
        }
    }
}
