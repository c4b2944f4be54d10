//! Compiles into the `deploy` feature the repository files `lcw-handler new` copies into a
//! task crate, so there is exactly one copy of each: the one in this repository.
//!
//! Every file under the roots below is picked up as it is at build time, including files added
//! later (new Bicep modules) with no code change: the build script walks the roots and
//! generates one `include_bytes!` per file, and asks cargo to run it again when anything under
//! a root changes. A root that does not exist yet is watched too — cargo then reruns this script
//! on every build until it appears, which is the price of noticing it the moment it lands.
//! Builds without `deploy` (production) embed nothing and watch nothing.

use std::path::{Path, PathBuf};

/// Files or folders, relative to the repository root, that a task crate gets a copy of.
const SCAFFOLD_ROOTS: &[&str] = &["host.json", "function", "azure.yaml", "infra"];

/// The generated file, under `OUT_DIR`.
const GENERATED: &str = "repository_files.rs";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_DEPLOY").is_none() {
        return;
    }
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for root in SCAFFOLD_ROOTS {
        println!("cargo:rerun-if-changed={root}");
        collect(&manifest_dir, Path::new(root), &mut files);
    }
    files.sort();
    let out = PathBuf::from(env("OUT_DIR")).join(GENERATED);
    std::fs::write(&out, generate(&manifest_dir, &files))
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("cargo sets {name} for build scripts"))
}

/// Every file at or under `relative`, as `/`-separated paths relative to `base`.
fn collect(base: &Path, relative: &Path, files: &mut Vec<String>) {
    let path = base.join(relative);
    let Ok(metadata) = std::fs::metadata(&path) else {
        return; // not there (yet)
    };
    if metadata.is_file() {
        let name = relative
            .to_str()
            .unwrap_or_else(|| panic!("{} is not a UTF-8 path", path.display()));
        files.push(name.replace('\\', "/"));
        return;
    }
    let entries =
        std::fs::read_dir(&path).unwrap_or_else(|e| panic!("cannot list {}: {e}", path.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("cannot list {}: {e}", path.display()));
        collect(base, &relative.join(entry.file_name()), files);
    }
}

fn generate(base: &Path, files: &[String]) -> String {
    let roots: Vec<String> = SCAFFOLD_ROOTS.iter().map(|r| format!("{r:?}")).collect();
    let mut code = format!(
        "/// Files or folders, relative to the repository root, that `new` copies.\n\
         pub(crate) const SCAFFOLD_ROOTS: &[&str] = &[{}];\n\n\
         /// Every file under [`SCAFFOLD_ROOTS`] when this binary was built: its `/`-separated\n\
         /// path relative to the repository root, and its bytes.\n\
         pub(crate) const REPOSITORY_FILES: &[(&str, &[u8])] = &[\n",
        roots.join(", ")
    );
    for file in files {
        let absolute = base.join(file);
        let absolute = absolute
            .to_str()
            .unwrap_or_else(|| panic!("{} is not a UTF-8 path", absolute.display()));
        code.push_str(&format!("    ({file:?}, include_bytes!({absolute:?})),\n"));
    }
    code.push_str("];\n");
    code
}
