//! `lcw-handler new DIR`: a task crate of your own, ready to run locally and to package.
//!
//! The crate depends on lcw-handler without default features, so the binary `package` builds
//! (`--no-default-features`) carries production code only, while its own default feature `dev`
//! brings the emulators and deploy commands for `cargo run -- demo` and `cargo run -- package`.
//! Its `host.json`, `function/`, `azure.yaml` and `infra/` are this repository's own files,
//! compiled in (see [`super::embedded`]); `Cargo.lock` is this repository's too, so the new
//! crate builds with the versions lcw-handler was tested with, offline if they are cached.
//! The files are written to a scratch folder beside `DIR` and renamed into place, so a failure
//! leaves nothing half-made, and an existing non-empty `DIR` is never touched.

use std::path::{Path, PathBuf};

use super::embedded;

const CARGO_TOML: &str = include_str!("../../templates/task/Cargo.toml.template");
const MAIN_RS: &str = include_str!("../../templates/task/src/main.rs");
const README_MD: &str = include_str!("../../templates/task/README.md");
const GITIGNORE: &str = include_str!("../../templates/task/gitignore.template");
const CARGO_LOCK: &str = include_str!("../../Cargo.lock");

/// The package name this library is published as.
const LIBRARY_PACKAGE: &str = "lcw-handler";

/// Where the new crate gets lcw-handler from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LcwHandlerSource {
    /// A checkout on this machine (absolute path).
    Path(PathBuf),
    /// A git repository URL.
    Git(String),
}

impl LcwHandlerSource {
    /// The `[dependencies]` line for lcw-handler.
    fn dependency_line(&self) -> String {
        let location = match self {
            LcwHandlerSource::Path(path) => {
                format!("path = {}", toml_string(&path.to_string_lossy()))
            }
            LcwHandlerSource::Git(url) => format!("git = {}", toml_string(url)),
        };
        format!("{LIBRARY_PACKAGE} = {{ {location}, default-features = false }}")
    }
}

/// What to create.
#[derive(Debug, Clone)]
pub struct NewOptions {
    /// The folder to create (it may exist if empty).
    pub dir: PathBuf,
    /// The package name; `DIR`'s own name when `None`.
    pub name: Option<String>,
    /// Where lcw-handler comes from; [`this_checkout`] when `None`.
    pub source: Option<LcwHandlerSource>,
}

/// What was created.
#[derive(Debug, Clone)]
pub struct Scaffolded {
    /// The crate's folder.
    pub dir: PathBuf,
    /// Its package name.
    pub name: String,
    /// Where it gets lcw-handler from.
    pub source: LcwHandlerSource,
    /// The files written, relative to `dir`, sorted.
    pub files: Vec<String>,
}

/// The crate cannot be created.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// `DIR` has something in it.
    #[error(
        "{0} exists and is not empty; lcw-handler new never overwrites anything: name a new folder"
    )]
    NotEmpty(PathBuf),
    /// `DIR` is a file.
    #[error("{0} exists and is not a folder")]
    NotAFolder(PathBuf),
    /// `--name` is not a valid package name.
    #[error("--name {name:?} {problem}")]
    BadName {
        /// The name.
        name: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// `DIR`'s name is not a valid package name and no `--name` was given.
    #[error(
        "the folder name {name:?} {problem}, so it cannot be the package name; choose one with --name"
    )]
    BadFolderName {
        /// The folder's name.
        name: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// No source given and this binary was not built from a checkout that still exists.
    #[error(
        "this lcw-handler was not built from a checkout on this machine, so the new crate cannot depend on it by path; say where lcw-handler comes from with --lcw-handler-git URL or --lcw-handler-path PATH"
    )]
    NoSource,
    /// `--lcw-handler-path` is not an lcw-handler checkout.
    #[error("--lcw-handler-path {0}: no lcw-handler Cargo.toml there")]
    NotACheckout(PathBuf),
    /// `--lcw-handler-git` is empty or has spaces.
    #[error("--lcw-handler-git {0:?} is not a repository URL")]
    BadGitUrl(String),
    /// A file or folder cannot be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The checkout this binary was built from, when it is still there: a path dependency on it
/// makes the new crate use exactly this lcw-handler. Registry and git copies cargo unpacked
/// (marked by cargo's `.cargo-ok`) do not count: they are caches, not checkouts.
pub fn this_checkout() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let is_checkout = is_lcw_handler_checkout(&dir) && !dir.join(".cargo-ok").exists();
    is_checkout.then_some(dir)
}

fn is_lcw_handler_checkout(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml"))
        .is_ok_and(|manifest| manifest.contains(&format!("name = \"{LIBRARY_PACKAGE}\"")))
}

/// Creates the task crate.
pub fn scaffold(options: &NewOptions) -> Result<Scaffolded, ScaffoldError> {
    check_destination(&options.dir)?;
    let name = package_name(options)?;
    let source = match &options.source {
        Some(source) => checked_source(source)?,
        None => LcwHandlerSource::Path(this_checkout().ok_or(ScaffoldError::NoSource)?),
    };
    let files = files(&name, &source);
    write_all(&options.dir, &files)?;
    let mut written: Vec<String> = files.into_iter().map(|(path, _)| path).collect();
    written.sort();
    Ok(Scaffolded {
        dir: options.dir.clone(),
        name,
        source,
        files: written,
    })
}

/// Every file of a new crate named `name`: (path relative to the crate, contents).
pub fn files(name: &str, source: &LcwHandlerSource) -> Vec<(String, Vec<u8>)> {
    let render = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{lcw_handler_dependency}}", &source.dependency_line())
            .into_bytes()
    };
    let mut files = vec![
        ("Cargo.toml".to_owned(), render(CARGO_TOML)),
        ("Cargo.lock".to_owned(), CARGO_LOCK.as_bytes().to_vec()),
        (".gitignore".to_owned(), GITIGNORE.as_bytes().to_vec()),
        ("README.md".to_owned(), render(README_MD)),
        ("src/main.rs".to_owned(), MAIN_RS.as_bytes().to_vec()),
    ];
    files.extend(
        embedded::repository_files()
            .iter()
            .map(|(path, bytes)| ((*path).to_owned(), bytes.to_vec())),
    );
    files
}

fn check_destination(dir: &Path) -> Result<(), ScaffoldError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => Err(ScaffoldError::NotEmpty(dir.to_owned())),
        },
        Err(_) if dir.exists() => Err(ScaffoldError::NotAFolder(dir.to_owned())),
        Err(_) => Ok(()),
    }
}

fn package_name(options: &NewOptions) -> Result<String, ScaffoldError> {
    if let Some(name) = &options.name {
        return check_package_name(name)
            .map(|()| name.clone())
            .map_err(|problem| ScaffoldError::BadName {
                name: name.clone(),
                problem,
            });
    }
    let absolute = std::path::absolute(&options.dir).unwrap_or_else(|_| options.dir.clone());
    let folder = absolute
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    check_package_name(&folder)
        .map(|()| folder.clone())
        .map_err(|problem| ScaffoldError::BadFolderName {
            name: folder,
            problem,
        })
}

/// Cargo's rules for a package name, plus: not the library's own name.
fn check_package_name(name: &str) -> Result<(), &'static str> {
    let Some(first) = name.chars().next() else {
        return Err("is empty");
    };
    if !first.is_ascii_alphabetic() {
        return Err("must start with a letter");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err("may hold only letters, digits, - and _");
    }
    if name.replace('_', "-") == LIBRARY_PACKAGE {
        return Err("is the name of the library the crate depends on");
    }
    if ["test", "std", "core", "alloc", "proc_macro", "proc-macro"].contains(&name) {
        return Err("is reserved by Rust");
    }
    Ok(())
}

fn checked_source(source: &LcwHandlerSource) -> Result<LcwHandlerSource, ScaffoldError> {
    match source {
        LcwHandlerSource::Path(path) => {
            let absolute = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            if is_lcw_handler_checkout(&absolute) {
                Ok(LcwHandlerSource::Path(absolute))
            } else {
                Err(ScaffoldError::NotACheckout(path.clone()))
            }
        }
        LcwHandlerSource::Git(url) => {
            if url.is_empty() || url.chars().any(char::is_whitespace) {
                Err(ScaffoldError::BadGitUrl(url.clone()))
            } else {
                Ok(source.clone())
            }
        }
    }
}

/// Writes every file into a scratch folder beside `dir`, then moves it into place: renamed to
/// `dir` when that is new; entry by entry when `dir` is an existing empty folder (which may be
/// someone's current directory, so it is kept rather than replaced).
fn write_all(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<(), ScaffoldError> {
    let absolute = std::path::absolute(dir).map_err(write_error(dir))?;
    let parent = absolute.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(parent).map_err(write_error(parent))?;
    let name = absolute
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let scratch = parent.join(format!(".{name}.new-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let result = write_files(&scratch, files).and_then(|()| move_into_place(&scratch, &absolute));
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> ScaffoldError + use<> {
    let path = path.to_owned();
    move |source| ScaffoldError::Write { path, source }
}

fn write_files(root: &Path, files: &[(String, Vec<u8>)]) -> Result<(), ScaffoldError> {
    for (relative, bytes) in files {
        let path = root.join(relative);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).map_err(write_error(folder))?;
        }
        std::fs::write(&path, bytes).map_err(write_error(&path))?;
    }
    Ok(())
}

fn move_into_place(scratch: &Path, dir: &Path) -> Result<(), ScaffoldError> {
    if !dir.exists() {
        return std::fs::rename(scratch, dir).map_err(write_error(dir));
    }
    for entry in std::fs::read_dir(scratch).map_err(write_error(scratch))? {
        let entry = entry.map_err(write_error(scratch))?;
        let target = dir.join(entry.file_name());
        std::fs::rename(entry.path(), &target).map_err(write_error(&target))?;
    }
    Ok(())
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repository_file(relative: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn the_readme_shows_exactly_the_scaffolds_main_rs() {
        let readme = repository_file("README.md");
        let block = format!("```rust\n{MAIN_RS}```\n");
        assert!(
            readme.contains(&block),
            "README.md must show templates/task/src/main.rs verbatim in a ```rust block, so the snippet people copy is the one `lcw-handler new` compiles"
        );
    }

    /// The template pins tokio exactly as the workspace does, and carries the workspace's
    /// release profile, so a task crate builds (and shares a build cache) like lcw-handler.
    #[test]
    fn the_cargo_template_agrees_with_the_workspace() {
        let workspace = repository_file("Cargo.toml");
        let pin = |text: &str| {
            let line = text
                .lines()
                .find(|l| l.starts_with("tokio = "))
                .expect("a tokio line");
            let start = line.find("version = \"").expect("a version") + "version = \"".len();
            line[start..]
                .split('"')
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(pin(CARGO_TOML), pin(&workspace));
        let profile = |text: &str| {
            let start = text.find("[profile.release]\n").expect("a release profile");
            text[start..]
                .lines()
                .skip(1)
                .take_while(|l| !l.trim().is_empty() && !l.starts_with('['))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(profile(CARGO_TOML), profile(&workspace));
    }

    #[test]
    fn the_dependency_has_no_default_features_and_is_quoted() {
        let path = LcwHandlerSource::Path(PathBuf::from("/src/lcw \"handler\""));
        assert_eq!(
            path.dependency_line(),
            r#"lcw-handler = { path = "/src/lcw \"handler\"", default-features = false }"#
        );
        let git = LcwHandlerSource::Git("https://example.com/lcw-handler.git".to_owned());
        assert_eq!(
            git.dependency_line(),
            r#"lcw-handler = { git = "https://example.com/lcw-handler.git", default-features = false }"#
        );
    }

    #[test]
    fn package_names_follow_cargos_rules() {
        for good in ["my-task", "sponsor_check", "t2"] {
            assert_eq!(check_package_name(good), Ok(()), "{good}");
        }
        for (bad, problem) in [
            ("", "empty"),
            ("2fast", "start with a letter"),
            ("my task", "only letters"),
            ("lcw-handler", "the library"),
            ("lcw_handler", "the library"),
            ("test", "reserved"),
        ] {
            let error = check_package_name(bad).expect_err(bad);
            assert!(error.contains(problem), "{bad}: {error}");
        }
    }

    #[test]
    fn the_rendered_manifest_names_the_crate_and_its_source() {
        let source = LcwHandlerSource::Git("https://example.com/x.git".to_owned());
        let files = files("my-task", &source);
        let manifest = String::from_utf8(files[0].1.clone()).unwrap();
        assert!(manifest.contains("name = \"my-task\""), "{manifest}");
        assert!(manifest.contains(&source.dependency_line()), "{manifest}");
        assert!(
            !manifest.contains("{{"),
            "every placeholder is filled: {manifest}"
        );
    }

    #[test]
    fn this_checkout_is_found_when_built_from_one() {
        assert_eq!(
            this_checkout(),
            Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        );
    }
}
