//! Link options for the `herald` binary.

fn main() {
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
}
