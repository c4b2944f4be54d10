//! `lcw-handler new`, through the real command: the crate it writes (the repository's own
//! files, byte for byte), its refusals, and the path a user takes — scaffold, build offline,
//! package, and run the packaged task under the host emulator.

#![cfg(feature = "deploy")]

mod common;
mod deploy_support;

use std::ffi::OsStr;
use std::path::Path;
use std::time::Instant;

use common::{Harness, assert_resumed_once};
use deploy_support::{
    BUILD_LIMIT, QUICK_LIMIT, Scratch, describe, lcw_handler_cmd, read_tree, read_zip, repository,
    target_dir, unpack,
};
use lcw_handler::deploy::deployable::{GLIBC_FLOOR, contains_emulators};
use lcw_handler::deploy::elf::read_needs;
use lcw_handler::deploy::embedded::{repository_files, scaffold_roots};

/// The files `new` writes besides the repository's own.
const CRATE_FILES: [&str; 5] = [
    ".gitignore",
    "Cargo.lock",
    "Cargo.toml",
    "README.md",
    "src/main.rs",
];

/// Every file under the scaffold roots in the repository as it is now.
fn repository_files_on_disk() -> Vec<(String, Vec<u8>)> {
    let repo = repository();
    let mut files = Vec::new();
    for root in scaffold_roots() {
        let path = repo.join(root);
        if path.is_file() {
            files.push(((*root).to_owned(), std::fs::read(&path).unwrap()));
        } else if path.is_dir() {
            for (relative, _mode, bytes) in read_tree(&path) {
                files.push((format!("{root}/{relative}"), bytes));
            }
        }
    }
    files.sort();
    files
}

async fn new_crate(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![OsStr::new("new"), dir.as_os_str()];
    args.extend(extra.iter().map(OsStr::new));
    lcw_handler_cmd(&args, &[], QUICK_LIMIT).await
}

#[tokio::test]
async fn new_writes_the_crate_with_byte_identical_copies_of_the_repository_files() {
    let on_disk = repository_files_on_disk();
    let embedded: Vec<(String, Vec<u8>)> = repository_files()
        .iter()
        .map(|(p, b)| ((*p).to_owned(), b.to_vec()))
        .collect();
    assert!(
        embedded == on_disk,
        "the files embedded at build time are the repository's files now (if a file under {:?} was added since the last build, cargo reruns build.rs); embedded: {:?}, on disk: {:?}",
        scaffold_roots(),
        embedded.iter().map(|(p, _)| p).collect::<Vec<_>>(),
        on_disk.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );

    let scratch = Scratch::new("scaffold-files");
    let dir = scratch.join("sponsor-check");
    let output = new_crate(&dir, &[]).await;
    assert!(output.status.success(), "{}", describe(&output));

    let written = read_tree(&dir);
    let mut expected: Vec<String> = CRATE_FILES.iter().map(|f| (*f).to_owned()).collect();
    expected.extend(on_disk.iter().map(|(p, _)| p.clone()));
    expected.sort();
    let names: Vec<String> = written.iter().map(|(p, _, _)| p.clone()).collect();
    assert_eq!(names, expected);
    for (path, bytes) in &on_disk {
        let copy = &written.iter().find(|(p, _, _)| p == path).unwrap().2;
        assert!(copy == bytes, "{path} is a byte-identical copy");
    }
    for file in [
        "host.json",
        "function/callout/function.json",
        "function/entitlement/function.json",
        "function/process/function.json",
    ] {
        assert!(on_disk.iter().any(|(p, _)| p == file), "{file} is copied");
    }

    let read = |relative: &str| std::fs::read_to_string(dir.join(relative)).unwrap();
    assert_eq!(
        read("Cargo.lock"),
        std::fs::read_to_string(repository().join("Cargo.lock")).unwrap()
    );
    assert_eq!(
        read("src/main.rs"),
        std::fs::read_to_string(repository().join("templates/task/src/main.rs")).unwrap()
    );
    let manifest = read("Cargo.toml");
    assert!(manifest.contains("name = \"sponsor-check\""), "{manifest}");
    let checkout = repository().to_string_lossy().into_owned();
    assert!(
        manifest.contains(&format!(
            "lcw-handler = {{ path = \"{checkout}\", default-features = false }}"
        )),
        "depends on this checkout by absolute path, production features only: {manifest}"
    );
    assert!(read("README.md").starts_with("# sponsor-check\n"));
}

#[tokio::test]
async fn new_can_depend_on_lcw_handler_from_git() {
    let scratch = Scratch::new("scaffold-git");
    let dir = scratch.join("task");
    let output = new_crate(
        &dir,
        &[
            "--name",
            "joiner-task",
            "--lcw-handler-git",
            "https://example.com/lcw-handler.git",
        ],
    )
    .await;
    assert!(output.status.success(), "{}", describe(&output));
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"joiner-task\""), "{manifest}");
    assert!(
        manifest.contains(
            "lcw-handler = { git = \"https://example.com/lcw-handler.git\", default-features = false }"
        ),
        "{manifest}"
    );
}

#[tokio::test]
async fn new_fills_an_existing_empty_folder_and_leaves_no_scratch_behind() {
    use std::os::unix::fs::MetadataExt;
    let scratch = Scratch::new("scaffold-empty");
    let dir = scratch.join("empty-task");
    std::fs::create_dir_all(&dir).unwrap();
    let inode = std::fs::metadata(&dir).unwrap().ino();
    let output = new_crate(&dir, &[]).await;
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(
        std::fs::metadata(&dir).unwrap().ino(),
        inode,
        "the folder itself is kept (it may be someone's current directory)"
    );
    assert!(dir.join("Cargo.toml").is_file());
    assert!(dir.join("function/process/function.json").is_file());
    let siblings: Vec<_> = std::fs::read_dir(&scratch.0).unwrap().collect();
    assert_eq!(siblings.len(), 1, "no scratch folder left beside it");
}

#[tokio::test]
async fn new_refuses_a_folder_with_something_in_it_and_changes_nothing() {
    let scratch = Scratch::new("scaffold-occupied");
    let dir = scratch.join("occupied");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let output = new_crate(&dir, &[]).await;
    assert!(!output.status.success(), "refused: {}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not empty"), "{stderr}");
    let left = read_tree(&dir);
    assert_eq!(left, [("notes.txt".to_owned(), 0o644, b"mine".to_vec())]);
    let siblings: Vec<_> = std::fs::read_dir(&scratch.0).unwrap().collect();
    assert_eq!(siblings.len(), 1, "no scratch folder left beside it");
}

#[tokio::test]
async fn new_refuses_a_name_cargo_would_refuse_and_creates_nothing() {
    let scratch = Scratch::new("scaffold-bad-name");
    let dir = scratch.join("task");
    let output = new_crate(&dir, &["--name", "2fast"]).await;
    assert!(!output.status.success(), "refused: {}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--name \"2fast\" must start with a letter"),
        "{stderr}"
    );
    assert!(!dir.exists(), "nothing was created");
}

/// The whole path of a user: scaffold, build offline, package, run the packaged task.
#[tokio::test]
async fn a_scaffolded_crate_builds_offline_packages_and_runs_its_own_task() {
    let scratch = Scratch::new("scaffold-build");
    let dir = scratch.join("sponsor-check");
    let output = new_crate(&dir, &[]).await;
    assert!(output.status.success(), "{}", describe(&output));

    // Nested builds share this run's target directory, so dependencies compile once.
    let target = target_dir();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let build_env: [(&str, &OsStr); 2] = [
        ("CARGO_TARGET_DIR", target.as_os_str()),
        ("CARGO_NET_OFFLINE", OsStr::new("true")),
    ];
    let started = Instant::now();
    let output = deploy_support::run(
        Path::new(&cargo),
        &[OsStr::new("build"), OsStr::new("--offline")],
        &build_env,
        Some(&dir),
        BUILD_LIMIT,
    )
    .await;
    assert!(
        output.status.success(),
        "cargo build --offline: {}",
        describe(&output)
    );
    eprintln!(
        "scaffolded crate: cargo build --offline took {:.0?}",
        started.elapsed()
    );

    let zip = scratch.join("sponsor-check.zip");
    let manifest = dir.join("Cargo.toml");
    let started = Instant::now();
    let output = lcw_handler_cmd(
        &[
            OsStr::new("package"),
            OsStr::new("--manifest-path"),
            manifest.as_os_str(),
            OsStr::new("--output"),
            zip.as_os_str(),
        ],
        &build_env,
        BUILD_LIMIT,
    )
    .await;
    assert!(output.status.success(), "package: {}", describe(&output));
    eprintln!("scaffolded crate: package took {:.0?}", started.elapsed());

    let entries = read_zip(&zip);
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "host.json",
            "callout/function.json",
            "entitlement/function.json",
            "process/function.json",
            "lcw-handler"
        ]
    );
    let binary = &entries[4];
    assert_eq!(binary.mode.map(|m| m & 0o777), Some(0o755));
    let needs = read_needs(&binary.bytes).expect("an ELF executable");
    assert!(needs.glibc.is_some_and(|v| v <= GLIBC_FLOOR), "{needs:?}");
    assert!(
        !contains_emulators(&binary.bytes),
        "built without the dev feature"
    );

    // The packaged binary runs the crate's own task: a joiner without a manager fails.
    let unpacked = scratch.join("unpacked");
    unpack(&zip, &unpacked);
    let harness = Harness::start_app(&unpacked, &[]).await;
    let callouts = harness.joiners(4);
    for callout in &callouts {
        assert_eq!(harness.send(callout).await.status, 202);
    }
    harness.settle().await;
    for callout in &callouts {
        let expected = if callout.spec.subject.manager.is_some() {
            "completed"
        } else {
            "failed"
        };
        assert_resumed_once(&harness, &callout.task_processing_result_id, expected);
    }
    assert!(
        callouts.iter().any(|c| c.spec.subject.manager.is_none()),
        "the wave includes a joiner without a manager"
    );
    harness.stop().await;
}
