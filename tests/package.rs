//! `lcw-handler package` on this repository, through the real command: the zip's exact
//! layout and modes, the binary's glibc floor read with our ELF reader, the stage, and the
//! packaged binary serving the demo's happy path from the unpacked folder under the host
//! emulator. Then every refusal, each showing the bad input rejected with its fix named and
//! nothing written.
//!
//! The repository is packaged once (a release build with cargo-zigbuild, into the workspace's
//! own target directory) and shared by the tests that inspect it.

#![cfg(feature = "deploy")]

mod common;
mod deploy_support;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::{Harness, assert_resumed_once};
use deploy_support::{
    BUILD_LIMIT, QUICK_LIMIT, Scratch, ZipEntry, describe, lcw_handler_cmd, read_tree, read_zip,
    repository, unpack,
};
use lcw_handler::deploy::deployable::{GLIBC_FLOOR, GLIBC_LOADER, contains_emulators};
use lcw_handler::deploy::elf::{GlibcVersion, read_needs};
use tokio::sync::OnceCell;

/// The repository, packaged once for every test here.
struct Packaged {
    dir: PathBuf,
    zip: PathBuf,
    stage: PathBuf,
    entries: Vec<ZipEntry>,
}

impl Packaged {
    fn entry(&self, name: &str) -> &ZipEntry {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("{name} is in the zip"))
    }

    fn executable(&self) -> &ZipEntry {
        self.entry("lcw-handler")
    }
}

async fn repository_package() -> &'static Packaged {
    static PACKAGED: OnceCell<Packaged> = OnceCell::const_new();
    PACKAGED
        .get_or_init(|| async {
            // Kept after the run (statics are never dropped): a fixed folder, emptied first.
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("package-repository");
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("scratch folder");
            let zip = dir.join("lcw-package.zip");
            let stage = dir.join("stage");
            let manifest = repository().join("Cargo.toml");
            let started = Instant::now();
            let output = lcw_handler_cmd(
                &[
                    OsStr::new("package"),
                    OsStr::new("--manifest-path"),
                    manifest.as_os_str(),
                    OsStr::new("--output"),
                    zip.as_os_str(),
                    OsStr::new("--stage"),
                    stage.as_os_str(),
                ],
                &[],
                BUILD_LIMIT,
            )
            .await;
            assert!(output.status.success(), "{}", describe(&output));
            eprintln!(
                "package (build included) took {:.0?}: {}",
                started.elapsed(),
                String::from_utf8_lossy(&output.stdout).trim()
            );
            let entries = read_zip(&zip);
            Packaged {
                dir,
                zip,
                stage,
                entries,
            }
        })
        .await
}

#[tokio::test]
async fn the_zip_holds_exactly_host_json_the_functions_and_the_executable() {
    let packaged = repository_package().await;
    let names: Vec<&str> = packaged.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "host.json",
            "callout/function.json",
            "entitlement/function.json",
            "process/function.json",
            "lcw-handler"
        ],
        "nothing else: no sources, no target/, no local.settings.json, no folder entries"
    );
    for entry in &packaged.entries {
        let mode = entry
            .mode
            .unwrap_or_else(|| panic!("{} records a mode", entry.name));
        assert_eq!(
            mode & 0o170000,
            0o100000,
            "{} is a regular file",
            entry.name
        );
        let expected = if entry.name == "lcw-handler" {
            0o755
        } else {
            0o644
        };
        assert_eq!(mode & 0o777, expected, "{}: {mode:o}", entry.name);
    }
    let repo = repository();
    assert_eq!(
        packaged.entry("host.json").bytes,
        std::fs::read(repo.join("host.json")).unwrap()
    );
    for function in ["callout", "entitlement", "process"] {
        let name = format!("{function}/function.json");
        let entry = packaged.entry(&name);
        assert_eq!(
            entry.bytes,
            std::fs::read(repo.join("function").join(&name)).unwrap(),
            "{name} is function/{name}, flattened"
        );
        let json: serde_json::Value =
            serde_json::from_slice(&entry.bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(json["bindings"].is_array(), "{name}");
    }
    let host: serde_json::Value =
        serde_json::from_slice(&packaged.entry("host.json").bytes).expect("host.json parses");
    let executable = host["customHandler"]["description"]["defaultExecutablePath"]
        .as_str()
        .expect("defaultExecutablePath");
    let binary = packaged.entry(executable);
    assert_eq!(binary.mode.map(|m| m & 0o777), Some(0o755));
    assert!(
        binary.bytes.starts_with(b"\x7fELF"),
        "it resolves to the executable"
    );
}

#[tokio::test]
async fn the_packaged_binary_starts_on_glibc_2_28_and_carries_no_emulators() {
    let packaged = repository_package().await;
    let binary = &packaged.executable().bytes;
    let needs = read_needs(binary).expect("an ELF executable");
    assert!(needs.is_x86_64(), "{needs:?}");
    assert_eq!(needs.interpreter.as_deref(), Some(GLIBC_LOADER));
    let glibc = needs.glibc.expect("linked against glibc");
    assert!(
        glibc <= GLIBC_FLOOR,
        "needs glibc {glibc}, above {GLIBC_FLOOR}"
    );
    assert!(
        !contains_emulators(binary),
        "the production build has no emulators"
    );
    // The same check on the debug build the tests run (features `demo` and `deploy`) finds
    // them, so the check above is not vacuous.
    let dev = std::fs::read(deploy_support::lcw_handler()).unwrap();
    assert!(
        contains_emulators(&dev),
        "the dev build carries the emulators"
    );
    eprintln!(
        "packaged binary: {} bytes, needs glibc {glibc}; zip: {} bytes",
        binary.len(),
        std::fs::metadata(&packaged.zip).unwrap().len()
    );
}

#[tokio::test]
async fn the_stage_is_the_zip_unpacked() {
    let packaged = repository_package().await;
    let staged = read_tree(&packaged.stage);
    let mut zipped: Vec<(String, u32, Vec<u8>)> = packaged
        .entries
        .iter()
        .map(|e| (e.name.clone(), e.mode.unwrap_or(0) & 0o777, e.bytes.clone()))
        .collect();
    zipped.sort();
    assert_eq!(
        staged.len(),
        5,
        "host.json, three function.json files, the executable"
    );
    assert!(
        staged == zipped,
        "the stage holds the zip's files, bytes and modes"
    );
}

#[tokio::test]
async fn the_unpacked_package_serves_the_happy_path_under_the_host() {
    let packaged = repository_package().await;
    let unpacked = packaged.dir.join("unpacked-for-host");
    let _ = std::fs::remove_dir_all(&unpacked);
    unpack(&packaged.zip, &unpacked);
    let harness = Harness::start_app(&unpacked, &[]).await;
    let callouts = harness.joiners(4);
    for callout in &callouts {
        let response = harness.send(callout).await;
        assert_eq!(
            response.status,
            202,
            "{}",
            String::from_utf8_lossy(&response.body)
        );
    }
    harness.settle().await;
    for callout in &callouts {
        let resumes =
            assert_resumed_once(&harness, &callout.task_processing_result_id, "completed");
        assert_eq!(resumes.len(), 1, "no retry was needed");
    }
    assert_eq!(
        harness.tenant.token_fetches(),
        1,
        "one token serves every resume"
    );
    assert!(harness.poison().is_empty());
    harness.stop().await;
}

/// A tiny crate root with a `function/` and the given `host.json`, for refusals.
fn crate_root_with(host_json: &str) -> Scratch {
    let root = Scratch::new("package-refusal");
    std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
    std::fs::write(root.join("host.json"), host_json).unwrap();
    std::fs::create_dir_all(root.join("function/callout")).unwrap();
    std::fs::copy(
        repository().join("function/callout/function.json"),
        root.join("function/callout/function.json"),
    )
    .unwrap();
    root
}

async fn package_expecting_refusal(args: &[&OsStr], env: &[(&str, &OsStr)]) -> String {
    let output = lcw_handler_cmd(args, env, QUICK_LIMIT).await;
    assert!(!output.status.success(), "refused: {}", describe(&output));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn a_binary_needing_a_newer_glibc_is_refused_with_the_fix_named() {
    // This machine's own /bin/true was linked against its (recent) glibc.
    let system_binary = Path::new("/bin/true");
    let needs = read_needs(&std::fs::read(system_binary).unwrap()).expect("an ELF executable");
    let glibc = needs.glibc.expect("linked against glibc");
    assert!(
        glibc > GlibcVersion::new(2, 28),
        "precondition: /bin/true here needs a glibc newer than 2.28 (it needs {glibc})"
    );
    let out = Scratch::new("package-glibc");
    let zip = out.join("refused.zip");
    let manifest = repository().join("Cargo.toml");
    let stderr = package_expecting_refusal(
        &[
            OsStr::new("package"),
            OsStr::new("--manifest-path"),
            manifest.as_os_str(),
            OsStr::new("--binary"),
            system_binary.as_os_str(),
            OsStr::new("--output"),
            zip.as_os_str(),
        ],
        &[],
    )
    .await;
    assert!(
        stderr.contains(&format!("needs glibc {glibc}, newer than 2.28")),
        "{stderr}"
    );
    assert!(
        stderr.contains("pip install cargo-zigbuild ziglang"),
        "{stderr}"
    );
    assert!(stderr.contains("x86_64-unknown-linux-gnu.2.28"), "{stderr}");
    assert!(!zip.exists(), "nothing was written");
}

#[tokio::test]
async fn a_dev_build_carrying_the_emulators_is_refused() {
    let out = Scratch::new("package-dev-build");
    let zip = out.join("refused.zip");
    let manifest = repository().join("Cargo.toml");
    let dev_binary = deploy_support::lcw_handler();
    let stderr = package_expecting_refusal(
        &[
            OsStr::new("package"),
            OsStr::new("--manifest-path"),
            manifest.as_os_str(),
            OsStr::new("--binary"),
            dev_binary.as_os_str(),
            OsStr::new("--output"),
            zip.as_os_str(),
        ],
        &[],
    )
    .await;
    assert!(stderr.contains("contains the local emulators"), "{stderr}");
    assert!(stderr.contains("--no-default-features"), "{stderr}");
    assert!(!zip.exists(), "nothing was written");
}

#[tokio::test]
async fn a_file_that_is_not_a_linux_executable_is_refused() {
    let out = Scratch::new("package-not-elf");
    let zip = out.join("refused.zip");
    let manifest = repository().join("Cargo.toml");
    let host_json = repository().join("host.json");
    let stderr = package_expecting_refusal(
        &[
            OsStr::new("package"),
            OsStr::new("--manifest-path"),
            manifest.as_os_str(),
            OsStr::new("--binary"),
            host_json.as_os_str(),
            OsStr::new("--output"),
            zip.as_os_str(),
        ],
        &[],
    )
    .await;
    assert!(stderr.contains("is not an ELF executable"), "{stderr}");
    assert!(!zip.exists(), "nothing was written");
}

#[tokio::test]
async fn a_default_executable_path_outside_the_app_is_refused_before_any_build() {
    for (path, problem) in [
        ("../lcw-handler", "contains .."),
        ("/home/site/wwwroot/lcw-handler", "is absolute"),
        ("%HANDLER%", "%VARIABLE%"),
    ] {
        let root = crate_root_with(&format!(
            r#"{{"version": "2.0", "customHandler": {{"description": {{"defaultExecutablePath": "{path}"}}}}}}"#
        ));
        let zip = root.join("out.zip");
        let manifest = root.join("Cargo.toml");
        // No --binary: had the path passed, a build would start; it must not get that far.
        let stderr = package_expecting_refusal(
            &[
                OsStr::new("package"),
                OsStr::new("--manifest-path"),
                manifest.as_os_str(),
                OsStr::new("--output"),
                zip.as_os_str(),
            ],
            &[],
        )
        .await;
        assert!(stderr.contains("defaultExecutablePath"), "{path}: {stderr}");
        assert!(stderr.contains(problem), "{path}: {stderr}");
        assert!(!stderr.contains("building"), "nothing was built: {stderr}");
        assert!(!zip.exists(), "nothing was written");
    }
}

#[tokio::test]
async fn without_a_linux_toolchain_the_refusal_names_how_to_get_one() {
    let out = Scratch::new("package-no-toolchain");
    let zip = out.join("refused.zip");
    let manifest = repository().join("Cargo.toml");
    // A PATH without cargo-zigbuild, and a rustc that cannot report a musl standard library.
    let bare_path = OsStr::new("/usr/bin:/bin");
    let no_rustc = out.join("no-rustc");
    let output = deploy_support::run(
        &deploy_support::lcw_handler(),
        &[
            OsStr::new("package"),
            OsStr::new("--manifest-path"),
            manifest.as_os_str(),
            OsStr::new("--output"),
            zip.as_os_str(),
        ],
        &[("PATH", bare_path), ("RUSTC", no_rustc.as_os_str())],
        None,
        QUICK_LIMIT,
    )
    .await;
    assert!(!output.status.success(), "refused: {}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cargo-zigbuild is not on PATH"), "{stderr}");
    assert!(
        stderr.contains("pip install cargo-zigbuild ziglang"),
        "{stderr}"
    );
    assert!(!zip.exists(), "nothing was written");
}
