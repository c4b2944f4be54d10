//! Whether a binary can run as the custom handler of a Linux function app, decided before it is
//! packaged rather than discovered in Azure.
//!
//! Microsoft's Functions images for custom handlers run Debian 11 (glibc 2.31) and older
//! ones; a binary needing glibc ≤ 2.28 starts on every one of them, which is what
//! `cargo zigbuild --target x86_64-unknown-linux-gnu.2.28` produces. A binary also must not
//! carry the local emulators: they are for `demo` and tests, and the production build
//! (`--no-default-features`) leaves them out. Every refusal names its fix.

use std::fmt;

use super::elf::{ElfNeeds, GlibcVersion, read_needs};

/// The newest glibc a deployed binary may need.
pub const GLIBC_FLOOR: GlibcVersion = GlibcVersion::new(2, 28);

/// glibc's program loader on x86_64: the only `PT_INTERP` the Functions images provide.
pub const GLIBC_LOADER: &str = "/lib64/ld-linux-x86-64.so.2";

/// The command that builds a binary passing these checks.
pub const LINUX_BUILD_FIX: &str = "let `lcw-handler package` build it (omit --binary; it needs `pip install cargo-zigbuild ziglang`), or build it yourself with `cargo zigbuild --release --no-default-features --target x86_64-unknown-linux-gnu.2.28`";

/// `lcw_emulator::LINKED_MARKER`, reversed, so that this check does not itself put the marker
/// into the binaries that carry it (a binary with `deploy` but without `demo` must pass).
const EMULATOR_MARKER_REVERSED: &str =
    "deyolped reven ,tsoh snoitcnuF eht dna tnanet eht rof sni-dnats lacol :rotalume-wcl";

/// What was found out about a binary that can be deployed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployable {
    /// The newest glibc it needs; `None` for a static binary.
    pub glibc: Option<GlibcVersion>,
}

/// One reason a binary cannot be deployed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not a 64-bit ELF file.
    NotLinux(String),
    /// Built for another instruction set.
    WrongMachine(u16),
    /// Asks for a program loader the images do not have (e.g. musl's, for a dynamic musl build).
    ForeignLoader(String),
    /// Needs a newer glibc than [`GLIBC_FLOOR`].
    GlibcTooNew(GlibcVersion),
    /// Carries the local emulators (built with the `demo` feature).
    ContainsEmulators,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotLinux(why) => write!(f, "it {why}; {LINUX_BUILD_FIX}"),
            Refusal::WrongMachine(machine) => write!(
                f,
                "it is built for ELF machine {machine}, not x86_64 (62), which the Functions Linux workers run; {LINUX_BUILD_FIX}"
            ),
            Refusal::ForeignLoader(loader) => write!(
                f,
                "it asks for the program loader {loader}, which the Functions images do not have (they have glibc's {GLIBC_LOADER}); build it statically (x86_64-unknown-linux-musl) or against glibc: {LINUX_BUILD_FIX}"
            ),
            Refusal::GlibcTooNew(needed) => write!(
                f,
                "it needs glibc {needed}, newer than {GLIBC_FLOOR}, so it would not start on Microsoft's Functions images (Debian 11 has glibc 2.31); {LINUX_BUILD_FIX}"
            ),
            Refusal::ContainsEmulators => write!(
                f,
                "it contains the local emulators (it was built with the `demo` feature, e.g. a plain `cargo build`); build the production binary with `--no-default-features`, or let `lcw-handler package` build it (omit --binary)"
            ),
        }
    }
}

/// Every reason a binary cannot be deployed (at least one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Refused(pub Vec<Refusal>);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reasons: Vec<String> = self.0.iter().map(Refusal::to_string).collect();
        f.write_str(&reasons.join("; and "))
    }
}

/// Checks a binary against everything the Functions Linux workers require of it.
pub fn check(binary: &[u8]) -> Result<Deployable, Refused> {
    let needs = read_needs(binary).map_err(|e| Refused(vec![Refusal::NotLinux(e.to_string())]))?;
    let mut refusals = refusals_for(&needs);
    if contains_emulators(binary) {
        refusals.push(Refusal::ContainsEmulators);
    }
    if refusals.is_empty() {
        Ok(Deployable { glibc: needs.glibc })
    } else {
        Err(Refused(refusals))
    }
}

fn refusals_for(needs: &ElfNeeds) -> Vec<Refusal> {
    let mut refusals = Vec::new();
    if !needs.is_x86_64() {
        refusals.push(Refusal::WrongMachine(needs.machine));
    }
    if let Some(loader) = &needs.interpreter
        && loader != GLIBC_LOADER
    {
        refusals.push(Refusal::ForeignLoader(loader.clone()));
    }
    if let Some(glibc) = needs.glibc
        && glibc > GLIBC_FLOOR
    {
        refusals.push(Refusal::GlibcTooNew(glibc));
    }
    refusals
}

/// Whether the binary carries the emulators' marker string (see `lcw_emulator::LINKED_MARKER`,
/// which every emulator entry point keeps alive in the binary).
pub fn contains_emulators(binary: &[u8]) -> bool {
    let marker = emulator_marker();
    binary
        .windows(marker.len())
        .any(|window| window == marker.as_bytes())
}

fn emulator_marker() -> String {
    EMULATOR_MARKER_REVERSED.chars().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use object::elf::{EM_AARCH64, EM_X86_64};

    fn needs(
        machine: object::elf::Machine,
        loader: Option<&str>,
        glibc: Option<(u16, u16)>,
    ) -> ElfNeeds {
        ElfNeeds {
            machine: machine.0,
            interpreter: loader.map(str::to_owned),
            glibc: glibc.map(|(major, minor)| GlibcVersion::new(major, minor)),
        }
    }

    #[test]
    fn the_marker_is_the_emulators_own() {
        assert_eq!(emulator_marker(), lcw_emulator::LINKED_MARKER);
        let mut binary = b"\x7fELF...".to_vec();
        assert!(!contains_emulators(&binary));
        binary.extend_from_slice(lcw_emulator::LINKED_MARKER.as_bytes());
        assert!(contains_emulators(&binary));
    }

    #[test]
    fn glibc_up_to_the_floor_passes_and_newer_is_refused_with_the_fix() {
        for ok in [(2, 2), (2, 17), (2, 28)] {
            assert!(
                refusals_for(&needs(EM_X86_64, Some(GLIBC_LOADER), Some(ok))).is_empty(),
                "{ok:?}"
            );
        }
        let refusals = refusals_for(&needs(EM_X86_64, Some(GLIBC_LOADER), Some((2, 34))));
        assert_eq!(
            refusals,
            vec![Refusal::GlibcTooNew(GlibcVersion::new(2, 34))]
        );
        let message = Refused(refusals).to_string();
        assert!(message.contains("glibc 2.34, newer than 2.28"), "{message}");
        assert!(
            message.contains("pip install cargo-zigbuild ziglang"),
            "{message}"
        );
    }

    #[test]
    fn a_static_binary_passes() {
        assert!(refusals_for(&needs(EM_X86_64, None, None)).is_empty());
    }

    #[test]
    fn another_machine_and_a_foreign_loader_are_refused_together() {
        let refusals = refusals_for(&needs(EM_AARCH64, Some("/lib/ld-musl-aarch64.so.1"), None));
        assert_eq!(
            refusals,
            vec![
                Refusal::WrongMachine(EM_AARCH64.0),
                Refusal::ForeignLoader("/lib/ld-musl-aarch64.so.1".to_owned())
            ]
        );
        let message = Refused(refusals).to_string();
        assert!(message.contains("not x86_64"), "{message}");
        assert!(message.contains("; and "), "{message}");
    }

    #[test]
    fn a_non_elf_file_is_refused_as_not_linux() {
        let refused = check(b"{\"version\": \"2.0\"}").expect_err("JSON is no binary");
        assert!(matches!(refused.0.as_slice(), [Refusal::NotLinux(_)]));
        assert!(refused.to_string().contains("not an ELF executable"));
    }
}
