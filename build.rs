//! Link options for the `herald` binary, and Unidecode's table in a form that needs no
//! relocation.

use std::io::Write;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        // Packed relative relocations (DT_RELR): the position-independent binary's 130,000
        // relocations take 42 KB instead of 3 MB, which the loader reads at every start and
        // which stayed resident (3 MiB of the service's idle RSS). ASLR is kept. Needs
        // binutils ≥ 2.38 or lld ≥ 15 to take effect (older linkers warn and ignore it) and
        // glibc ≥ 2.36 where the binary runs.
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    unidecode_table();
}

/// Writes `unidecode.bin` for `archive::slug`: the unidecode crate's transliteration of every
/// code point below U+FFFF, as 0xFFFF + 1 little-endian `u32` offsets followed by the text they
/// index. The crate's own table is 65,535 string pointers: linked in, it is 1 MiB that the
/// loader relocates (and every process keeps a private copy of) at each start.
fn unidecode_table() {
    let mut offsets = Vec::with_capacity(0x10000);
    let mut text = String::new();
    for code in 0..0xFFFF_u32 {
        offsets.push(text.len() as u32);
        if let Some(c) = char::from_u32(code) {
            text.push_str(unidecode::unidecode_char(c));
        }
    }
    offsets.push(text.len() as u32);
    // archive::slug reads the text byte by byte as characters.
    assert!(text.is_ascii(), "unidecode's table is ASCII");
    let path = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("unidecode.bin");
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for o in offsets {
        out.write_all(&o.to_le_bytes()).unwrap();
    }
    out.write_all(text.as_bytes()).unwrap();
    out.flush().unwrap();
}
