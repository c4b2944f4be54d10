//! "Did you mean …?": the known word closest to a mistyped one.
//!
//! A dozen lines of Levenshtein distance, rather than a crate, because the inputs are a few
//! dozen short setting names and level words, compared once at start-up.

/// The candidate closest to `word` (case-insensitive), if it is close enough to be a likely
/// typo: at most a third of the word's length away, and at least one edit.
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word = word.to_ascii_uppercase();
    let budget = (word.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|candidate| (distance(&word, &candidate.to_ascii_uppercase()), *candidate))
        .filter(|(d, _)| *d <= budget)
        .min_by_key(|(d, _)| *d)
        .map(|(_, candidate)| candidate)
}

/// Edits (insertions, deletions, substitutions) turning `a` into `b`.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    // One row of the classic table at a time: `row[j]` is the distance from a's prefix to b[..j].
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("same", "same"), 0);
    }

    #[test]
    fn a_typo_finds_its_setting_and_nonsense_finds_nothing() {
        let known = ["LCW_WEBHOOK_TIMEOUT_SECONDS", "LCW_WEBHOOK_URL", "LCW_TASK"];
        assert_eq!(
            closest("LCW_WEBHOOK_TIMEOUT_SECOND", &known),
            Some("LCW_WEBHOOK_TIMEOUT_SECONDS")
        );
        assert_eq!(closest("lcw_webhook_url", &known), Some("LCW_WEBHOOK_URL"));
        assert_eq!(closest("LCW_SOMETHING_ELSE_ENTIRELY", &known), None);
    }
}
