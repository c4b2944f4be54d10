//! Finds the Azurite the repository installs: `tools/node_modules/azurite` (put there by
//! `.ci/install-tools` from `tools/package-lock.json`), never a global or `npx` copy, so every
//! machine runs the version CI runs.
//!
//! Looked for from the current directory upwards (a checkout, or a crate made by
//! `lcw-handler new` inside one), then in the checkout this crate was built from.

use std::path::{Path, PathBuf};

use super::AzuriteError;

/// The server's entry point inside the npm package. Started directly with `node` (not through
/// `npx` or the `azurite` shim) so the pid we hold is the server's own: killing a shim would
/// leave the server running.
const ENTRY: &str = "tools/node_modules/azurite/dist/src/azurite.js";

/// The `azurite.js` to run.
pub(crate) fn azurite_entry() -> Result<PathBuf, AzuriteError> {
    let mut searched = Vec::new();
    let cwd = std::env::current_dir().ok();
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let roots = cwd
        .iter()
        .flat_map(|dir| dir.ancestors())
        .map(Path::to_path_buf)
        .chain(std::iter::once(checkout));
    for root in roots {
        let candidate = root.join(ENTRY);
        if candidate.is_file() {
            return Ok(std::path::absolute(&candidate).unwrap_or(candidate));
        }
        searched.push(candidate);
    }
    Err(AzuriteError::NotInstalled { searched })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_names_the_install_script() {
        let error = AzuriteError::NotInstalled {
            searched: vec![PathBuf::from("/nowhere").join(ENTRY)],
        };
        let text = error.to_string();
        assert!(text.contains(".ci/install-tools"), "{text}");
        assert!(text.contains("/nowhere/tools/node_modules"), "{text}");
    }
}
