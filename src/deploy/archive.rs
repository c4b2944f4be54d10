//! Writing the deployment package: the zip the Functions host runs from, and the same layout
//! unpacked (`--stage`) for tools that upload a folder.
//!
//! The executable's mode 0755 is recorded in the zip because a Flex Consumption app mounts its
//! package read-only: nothing can make the binary executable afterwards. Entries carry a fixed
//! timestamp and come in a fixed order, so the same inputs give the same zip. Both outputs are
//! written beside their destination and renamed into place, so a failure never leaves half a
//! package where a deployment would pick it up.

use std::io::Write;
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::app::{FUNCTION_JSON, FunctionApp, HOST_JSON};

/// Mode of the executable.
pub const EXECUTABLE_MODE: u32 = 0o755;
/// Mode of every other file.
pub const FILE_MODE: u32 = 0o644;

/// One file of the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Path inside the package, `/`-separated.
    pub path: String,
    /// Contents.
    pub bytes: &'a [u8],
    /// Unix permission bits.
    pub mode: u32,
}

/// The package's files, in the order they are written: `host.json`, each
/// `<function>/function.json`, then the executable.
pub fn entries<'a>(app: &'a FunctionApp, binary: &'a [u8]) -> Vec<Entry<'a>> {
    let mut entries = vec![Entry {
        path: HOST_JSON.to_owned(),
        bytes: &app.host_json,
        mode: FILE_MODE,
    }];
    entries.extend(app.functions.iter().map(|function| Entry {
        path: format!("{}/{FUNCTION_JSON}", function.name),
        bytes: &function.function_json,
        mode: FILE_MODE,
    }));
    entries.push(Entry {
        path: app.executable.clone(),
        bytes: binary,
        mode: EXECUTABLE_MODE,
    });
    entries
}

/// The package could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// A file or folder could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The zip library failed.
    #[error("cannot write the zip {path}: {source}")]
    Zip {
        /// The zip file.
        path: PathBuf,
        /// The zip error.
        source: zip::result::ZipError,
    },
    /// `--stage` names a folder that holds something other than a previous package.
    #[error(
        "--stage {path}: the folder exists and {why}; name a new or empty folder (a previous stage, with host.json at its root, is replaced)"
    )]
    StageOccupied {
        /// The folder.
        path: PathBuf,
        /// What is in the way.
        why: &'static str,
    },
}

fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Write {
        path: path.to_owned(),
        source,
    }
}

/// Writes the zip to `output` and returns its size in bytes.
pub fn write_zip(entries: &[Entry<'_>], output: &Path) -> Result<u64, ArchiveError> {
    if let Some(parent) = output.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(write_error(parent))?;
    }
    let partial = sibling(output, "partial");
    let result = write_zip_file(entries, &partial).and_then(|size| {
        std::fs::rename(&partial, output).map_err(write_error(output))?;
        Ok(size)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

fn write_zip_file(entries: &[Entry<'_>], path: &Path) -> Result<u64, ArchiveError> {
    let zip_error = |source| ArchiveError::Zip {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::create(path).map_err(write_error(path))?;
    let mut zip = ZipWriter::new(file);
    for entry in entries {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .last_modified_time(DateTime::default())
            .unix_permissions(entry.mode);
        zip.start_file(entry.path.as_str(), options)
            .map_err(zip_error)?;
        zip.write_all(entry.bytes).map_err(write_error(path))?;
    }
    let file = zip.finish().map_err(zip_error)?;
    file.sync_all().map_err(write_error(path))?;
    let size = file.metadata().map_err(write_error(path))?.len();
    Ok(size)
}

/// Writes the package unpacked into `stage`, replacing a previous stage there. `crate_root` is
/// protected: a stage can never replace the crate it was made from.
pub fn write_stage(
    entries: &[Entry<'_>],
    stage: &Path,
    crate_root: &Path,
) -> Result<(), ArchiveError> {
    check_stage_replaceable(stage, crate_root)?;
    if let Some(parent) = stage.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(write_error(parent))?;
    }
    let partial = sibling(stage, "partial");
    let _ = std::fs::remove_dir_all(&partial);
    let result = write_tree(entries, &partial).and_then(|()| {
        if stage.exists() {
            std::fs::remove_dir_all(stage).map_err(write_error(stage))?;
        }
        std::fs::rename(&partial, stage).map_err(write_error(stage))
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    result
}

fn write_tree(entries: &[Entry<'_>], root: &Path) -> Result<(), ArchiveError> {
    for entry in entries {
        let path = root.join(&entry.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(write_error(parent))?;
        }
        std::fs::write(&path, entry.bytes).map_err(write_error(&path))?;
        set_mode(&path, entry.mode)?;
    }
    Ok(())
}

/// Gives a staged file its mode. Only Unix file systems keep one; elsewhere the zip, which
/// records the mode itself, is what must be deployed (azure.yaml deploys the zip).
#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), ArchiveError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(write_error(path))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<(), ArchiveError> {
    Ok(())
}

/// A stage folder may be replaced when it is missing, empty, or a previous stage (a function
/// app: `host.json` at its root) — never when it is, or holds, the crate itself.
pub fn check_stage_replaceable(stage: &Path, crate_root: &Path) -> Result<(), ArchiveError> {
    let occupied = |why| ArchiveError::StageOccupied {
        path: stage.to_owned(),
        why,
    };
    if !stage.exists() {
        return Ok(());
    }
    if !stage.is_dir() {
        return Err(occupied("is not a folder"));
    }
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_owned());
    if canonical(crate_root).starts_with(canonical(stage)) {
        return Err(occupied("holds the crate being packaged"));
    }
    if stage.join("Cargo.toml").exists() {
        return Err(occupied("is a Rust crate"));
    }
    let empty = std::fs::read_dir(stage)
        .map_err(write_error(stage))?
        .next()
        .is_none();
    if empty || stage.join(HOST_JSON).is_file() {
        Ok(())
    } else {
        Err(occupied("is not a previous stage (it has no host.json)"))
    }
}

/// `dir/.name.<suffix>-<pid>`: a scratch path on the same file system as `path`, so the final
/// rename is atomic.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{suffix}-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::app::Function;

    fn app() -> FunctionApp {
        FunctionApp {
            host_json: b"{}".to_vec(),
            executable: "bin/handler".to_owned(),
            functions: vec![
                Function {
                    name: "callout".to_owned(),
                    function_json: b"{\"bindings\":[1]}".to_vec(),
                },
                Function {
                    name: "process".to_owned(),
                    function_json: b"{\"bindings\":[2]}".to_vec(),
                },
            ],
        }
    }

    #[test]
    fn entries_are_host_json_functions_then_the_executable() {
        let app = app();
        let entries = entries(&app, b"ELF");
        let layout: Vec<(&str, u32)> = entries.iter().map(|e| (e.path.as_str(), e.mode)).collect();
        assert_eq!(
            layout,
            [
                ("host.json", 0o644),
                ("callout/function.json", 0o644),
                ("process/function.json", 0o644),
                ("bin/handler", 0o755),
            ]
        );
        assert_eq!(entries[3].bytes, b"ELF");
    }

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(name: &str) -> TempDir {
            let path = std::env::temp_dir()
                .join(format!("lcw-handler-archive-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            TempDir(path)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn the_zip_records_modes_and_is_the_same_for_the_same_inputs() {
        let dir = TempDir::new("zip");
        let app = app();
        let entries = entries(&app, b"ELF");
        let first = dir.0.join("a.zip");
        let second = dir.0.join("b.zip");
        write_zip(&entries, &first).unwrap();
        write_zip(&entries, &second).unwrap();
        let bytes = std::fs::read(&first).unwrap();
        assert_eq!(bytes, std::fs::read(&second).unwrap(), "reproducible");
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let modes: Vec<(String, Option<u32>)> = (0..zip.len())
            .map(|i| {
                let file = zip.by_index(i).unwrap();
                (file.name().to_owned(), file.unix_mode().map(|m| m & 0o777))
            })
            .collect();
        assert_eq!(
            modes,
            [
                ("host.json".to_owned(), Some(0o644)),
                ("callout/function.json".to_owned(), Some(0o644)),
                ("process/function.json".to_owned(), Some(0o644)),
                ("bin/handler".to_owned(), Some(0o755)),
            ]
        );
        let leftovers: Vec<_> = std::fs::read_dir(&dir.0).unwrap().collect();
        assert_eq!(leftovers.len(), 2, "no partial file left behind");
    }

    #[test]
    fn a_stage_replaces_a_previous_stage_but_never_a_crate_or_other_folder() {
        let dir = TempDir::new("stage");
        let app = app();
        let entries = entries(&app, b"ELF");
        let stage = dir.0.join("stage");
        write_stage(&entries, &stage, &dir.0.join("crate")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(stage.join("bin/handler"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o755);
        }
        std::fs::write(stage.join("stale.txt"), "from an older package").unwrap();
        write_stage(&entries, &stage, &dir.0.join("crate")).unwrap();
        assert!(
            !stage.join("stale.txt").exists(),
            "a previous stage is replaced whole"
        );

        let other = dir.0.join("documents");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("notes.txt"), "mine").unwrap();
        let error = write_stage(&entries, &other, &dir.0.join("crate")).unwrap_err();
        assert!(error.to_string().contains("--stage"), "{error}");
        assert!(other.join("notes.txt").exists(), "nothing was changed");

        let krate = dir.0.join("crate");
        std::fs::create_dir_all(&krate).unwrap();
        std::fs::write(krate.join("host.json"), "{}").unwrap();
        let error = write_stage(&entries, &krate, &krate).unwrap_err();
        assert!(error.to_string().contains("holds the crate"), "{error}");
        let error = write_stage(&entries, &dir.0, &krate).unwrap_err();
        assert!(error.to_string().contains("holds the crate"), "{error}");
        assert!(krate.join("host.json").exists());
    }
}
