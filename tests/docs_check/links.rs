//! Whether a Markdown link leads somewhere inside the repository.
//!
//! Paths are resolved lexically, the way GitHub resolves them in a rendered file: relative to the
//! linking file's folder, or to the repository root when they start with `/`. A path that climbs
//! above the root is refused even when something exists there on this machine: a user's clone has
//! nothing outside the repository.

use percent_encoding::percent_decode_str;

use super::tree::{Kind, Tree};

/// Where a link leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A URL with a scheme (`https:`, `mailto:`) or a protocol-relative one: not checked.
    External,
    /// A repository path, and the anchor after `#` if any.
    Local {
        /// Repository-relative path with `/` separators; `""` is the root.
        path: String,
        /// The decoded fragment, without `#`.
        anchor: Option<String>,
    },
}

fn has_scheme(dest: &str) -> bool {
    let Some((scheme, _)) = dest.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// Resolves `dest`, written in the file at `source`, or says why it cannot lead anywhere.
pub fn resolve(source: &str, dest: &str) -> Result<Target, String> {
    let dest = dest.trim();
    if dest.is_empty() {
        return Err("empty link target".to_owned());
    }
    if has_scheme(dest) || dest.starts_with("//") {
        return Ok(Target::External);
    }
    let (before_anchor, anchor) = match dest.split_once('#') {
        Some((path, anchor)) => (path, Some(decode(anchor))),
        None => (dest, None),
    };
    let path_part = before_anchor.split('?').next().unwrap_or_default();
    if path_part.is_empty() {
        return Ok(Target::Local {
            path: source.to_owned(),
            anchor,
        });
    }
    let mut components: Vec<String> = if path_part.starts_with('/') {
        Vec::new()
    } else {
        let folder = source.rsplit_once('/').map_or("", |(folder, _)| folder);
        folder
            .split('/')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect()
    };
    for component in decode(path_part).split('/') {
        match component {
            "" | "." => {}
            ".." => {
                if components.pop().is_none() {
                    return Err(format!("`{dest}` leads outside the repository"));
                }
            }
            name => components.push(name.to_owned()),
        }
    }
    Ok(Target::Local {
        path: components.join("/"),
        anchor,
    })
}

/// Checks one link; `anchors_of` gives the anchors of a Markdown file in the tree.
pub fn check_link(
    tree: &dyn Tree,
    anchors_of: &mut dyn FnMut(&str) -> std::collections::HashSet<String>,
    source: &str,
    dest: &str,
) -> Result<(), String> {
    let (path, anchor) = match resolve(source, dest)? {
        Target::External => return Ok(()),
        Target::Local { path, anchor } => (path, anchor),
    };
    let Some(kind) = tree.kind(&path) else {
        return Err(format!(
            "`{dest}`: no file or folder `{path}` in the repository"
        ));
    };
    let is_markdown = path.to_ascii_lowercase().ends_with(".md");
    match anchor {
        Some(anchor) if !anchor.is_empty() && kind == Kind::File && is_markdown => {
            if anchors_of(&path).contains(&anchor) {
                Ok(())
            } else {
                Err(format!(
                    "`{dest}`: `{path}` has no heading with anchor `#{anchor}`"
                ))
            }
        }
        _ => Ok(()),
    }
}
