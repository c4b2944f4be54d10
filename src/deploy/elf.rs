//! What a Linux executable asks of the machine it starts on, read from its ELF headers.
//!
//! A binary built on a newer distribution than the one it runs on fails at start with
//! `version 'GLIBC_2.34' not found` — in Azure, before a single log line. The dynamic linker
//! refuses it because of the *version needs* the static linker recorded in `.gnu.version_r`:
//! one `GLIBC_x.y` name per symbol version the binary uses. Reading those (with the `object`
//! crate, not by shelling out to whatever `objdump` is installed) gives the oldest glibc the
//! binary starts on. The machine type and the program loader (`PT_INTERP`) are read too, since
//! an arm64 binary or a musl-dynamic one fails just as early.

use std::fmt;

use object::elf::{ELFCLASS64, ELFMAG, EM_X86_64};
use object::read::elf::{FileHeader, ProgramHeader};
use object::{Endianness, elf::FileHeader64};

/// The prefix of glibc's symbol version names (`GLIBC_2.28`).
const GLIBC_VERSION_PREFIX: &str = "GLIBC_";

/// A glibc release, as named in symbol versions (`GLIBC_2.2.5` is 2.2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GlibcVersion {
    /// Major version (2 for every glibc since 1997).
    pub major: u16,
    /// Minor version.
    pub minor: u16,
    /// Patch level, 0 when absent.
    pub patch: u16,
}

impl GlibcVersion {
    /// A `major.minor` release.
    pub const fn new(major: u16, minor: u16) -> GlibcVersion {
        GlibcVersion {
            major,
            minor,
            patch: 0,
        }
    }

    /// Parses a symbol version name such as `GLIBC_2.28` or `GLIBC_2.2.5`; `None` for other
    /// names (`GLIBC_PRIVATE`, `GCC_3.0`, …).
    pub fn from_symbol_version(name: &str) -> Option<GlibcVersion> {
        let numbers = name.strip_prefix(GLIBC_VERSION_PREFIX)?;
        let mut parts = numbers.split('.').map(|part| part.parse::<u16>().ok());
        let major = parts.next()??;
        let minor = parts.next()??;
        let patch = match parts.next() {
            None => 0,
            Some(patch) => patch?,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(GlibcVersion {
            major,
            minor,
            patch,
        })
    }
}

impl fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)?;
        if self.patch != 0 {
            write!(f, ".{}", self.patch)?;
        }
        Ok(())
    }
}

/// What an executable needs to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfNeeds {
    /// `e_machine`: the instruction set (62 is x86-64).
    pub machine: u16,
    /// The program loader named in `PT_INTERP`; `None` for a static executable.
    pub interpreter: Option<String>,
    /// The newest `GLIBC_x.y` among the version needs; `None` when it needs none (static, or
    /// not linked against glibc).
    pub glibc: Option<GlibcVersion>,
}

impl ElfNeeds {
    /// Whether the instruction set is x86-64.
    pub fn is_x86_64(&self) -> bool {
        self.machine == EM_X86_64.0
    }
}

/// The bytes are not a readable 64-bit ELF file.
#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    /// No ELF magic number at all.
    #[error("is not an ELF executable (a Linux binary)")]
    NotElf,
    /// A 32-bit ELF file.
    #[error("is a 32-bit ELF file; the Functions Linux workers run 64-bit x86_64 binaries")]
    Not64Bit,
    /// Headers that do not parse.
    #[error("is a damaged ELF file: {0}")]
    Malformed(#[from] object::read::Error),
}

/// Reads the machine, program loader and glibc version needs of an ELF executable.
pub fn read_needs(data: &[u8]) -> Result<ElfNeeds, ElfError> {
    if !data.starts_with(&ELFMAG) {
        return Err(ElfError::NotElf);
    }
    // e_ident[EI_CLASS]: the 64-bit parser would reject a 32-bit file with a vaguer message.
    if data.get(4) != Some(&ELFCLASS64.0) {
        return Err(ElfError::Not64Bit);
    }
    let header = FileHeader64::<Endianness>::parse(data)?;
    let endian = header.endian()?;
    Ok(ElfNeeds {
        machine: header.e_machine(endian).0,
        interpreter: interpreter(header, endian, data)?,
        glibc: newest_glibc_needed(header, endian, data)?,
    })
}

fn interpreter(
    header: &FileHeader64<Endianness>,
    endian: Endianness,
    data: &[u8],
) -> Result<Option<String>, ElfError> {
    for segment in header.program_headers(endian, data)? {
        if let Some(path) = segment.interpreter(endian, data)? {
            return Ok(Some(String::from_utf8_lossy(path).into_owned()));
        }
    }
    Ok(None)
}

/// The newest `GLIBC_*` version among the `.gnu.version_r` needs of every library.
fn newest_glibc_needed(
    header: &FileHeader64<Endianness>,
    endian: Endianness,
    data: &[u8],
) -> Result<Option<GlibcVersion>, ElfError> {
    let sections = header.sections(endian, data)?;
    let Some((mut needs, strings_index)) = sections.gnu_verneed(endian, data)? else {
        return Ok(None);
    };
    let strings = sections.strings(endian, data, strings_index)?;
    let mut newest = None;
    while let Some((_library, mut versions)) = needs.next()? {
        while let Some(version) = versions.next()? {
            let name = String::from_utf8_lossy(version.name(endian, strings)?);
            newest = newest.max(GlibcVersion::from_symbol_version(&name));
        }
    }
    Ok(newest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbol_version_names_parse_and_order_numerically() {
        let v = |s| GlibcVersion::from_symbol_version(s);
        assert_eq!(v("GLIBC_2.28"), Some(GlibcVersion::new(2, 28)));
        assert_eq!(
            v("GLIBC_2.2.5"),
            Some(GlibcVersion {
                major: 2,
                minor: 2,
                patch: 5
            })
        );
        assert!(v("GLIBC_2.34") > v("GLIBC_2.28"));
        assert!(
            v("GLIBC_2.28") > v("GLIBC_2.3.4"),
            "2.28 is newer than 2.3.4"
        );
        for other in [
            "GLIBC_PRIVATE",
            "GCC_3.0",
            "GLIBC_2",
            "GLIBC_2.x",
            "GLIBC_2.1.2.3",
        ] {
            assert_eq!(v(other), None, "{other}");
        }
        assert_eq!(GlibcVersion::new(2, 28).to_string(), "2.28");
        assert_eq!(
            v("GLIBC_2.2.5").map(|v| v.to_string()).as_deref(),
            Some("2.2.5")
        );
    }

    #[test]
    fn non_elf_and_32_bit_files_are_named_as_such() {
        assert!(matches!(
            read_needs(b"{\"version\": \"2.0\"}"),
            Err(ElfError::NotElf)
        ));
        assert!(matches!(read_needs(b""), Err(ElfError::NotElf)));
        let mut elf32 = ELFMAG.to_vec();
        elf32.extend_from_slice(&[1, 1, 1, 0]); // ELFCLASS32, little-endian
        elf32.resize(64, 0);
        assert!(matches!(read_needs(&elf32), Err(ElfError::Not64Bit)));
    }

    #[test]
    fn a_truncated_header_is_malformed_not_a_panic() {
        let mut truncated = ELFMAG.to_vec();
        truncated.extend_from_slice(&[2, 1, 1, 0]); // ELFCLASS64, little-endian
        assert!(matches!(
            read_needs(&truncated),
            Err(ElfError::Malformed(_))
        ));
    }

    /// The test executable itself was linked on this machine against its glibc: it is x86_64
    /// here, asks for glibc's loader and needs some GLIBC_2.x.
    #[cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]
    #[test]
    fn this_test_binary_needs_this_machines_glibc() {
        let me = std::env::current_exe().expect("the test binary has a path");
        let data = std::fs::read(me).expect("the test binary is readable");
        let needs = read_needs(&data).expect("the test binary is ELF");
        assert!(needs.is_x86_64(), "{needs:?}");
        assert_eq!(
            needs.interpreter.as_deref(),
            Some("/lib64/ld-linux-x86-64.so.2")
        );
        let glibc = needs.glibc.expect("linked against glibc");
        assert!(glibc >= GlibcVersion::new(2, 2), "{glibc}");
    }
}
