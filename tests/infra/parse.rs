//! (a) Every `.bicep` file parses with pycep-parser, and a file that does not is named with the
//! parser's message.

use std::path::PathBuf;

use crate::bicep;

#[test]
fn every_bicep_file_parses() {
    let parsed = bicep::infra();
    for required in ["infra/main.bicep", "infra/modules/forwarder.bicep"] {
        assert!(parsed.files.contains_key(required), "{required} exists");
    }
    let failures: Vec<String> = parsed
        .files
        .values()
        .filter_map(|f| {
            f.template
                .as_ref()
                .err()
                .map(|e| format!("{}: {e}", f.path))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "pycep-parser rejects:\n{}",
        failures.join("\n")
    );
    eprintln!(
        "pycep-parser: load {:.2}s; {} (whole run {:.2}s, interpreter included)",
        parsed.parser_load_seconds,
        parsed
            .files
            .values()
            .map(|f| format!("{} {:.3}s", f.path, f.seconds))
            .collect::<Vec<_>>()
            .join(", "),
        parsed.wall_seconds
    );
}

#[test]
fn a_syntax_error_is_reported_with_the_file_and_the_parsers_message() {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("bicep-broken-{}", std::process::id()));
    std::fs::create_dir_all(root.join("infra")).unwrap();
    std::fs::write(
        root.join("infra/broken.bicep"),
        "param name string\n\nresource account 'Microsoft.Storage/storageAccounts@2024-01-01' = {\n  name: name\n  location: \n",
    )
    .unwrap();
    let parsed = bicep::parse(&root, &bicep::bicep_files(&root));
    let error = parsed
        .template("infra/broken.bicep")
        .expect_err("an unterminated resource does not parse");
    assert!(error.contains("infra/broken.bicep"), "{error}");
    assert!(
        error.len() > "infra/broken.bicep does not parse: ".len() + 10,
        "the parser's message is kept: {error}"
    );
    std::fs::remove_dir_all(&root).ok();
}
