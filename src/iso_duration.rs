//! ISO 8601 durations as Graph writes them (`PT30M`, `PT3H`, `P1DT2H`).
//!
//! Only the day and time designators are accepted: years, months and weeks have no fixed length,
//! and Graph's `timeoutDuration` never uses them (LCW allows 30 minutes to 3 hours).

use std::time::Duration;

/// Why a duration text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not an ISO 8601 duration such as PT30M or P1DT2H: {why}")]
pub struct DurationError {
    text: String,
    why: &'static str,
}

/// Parses `P[nD][T[nH][nM][n[.f]S]]`.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let fail = |why| DurationError {
        text: text.to_owned(),
        why,
    };
    let rest = text
        .strip_prefix('P')
        .or_else(|| text.strip_prefix('p'))
        .ok_or_else(|| fail("it must start with P"))?;
    let (date_part, time_part) = match rest.find(['T', 't']) {
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
        None => (rest, None),
    };
    let mut seconds = 0f64;
    let mut any = false;
    for (number, unit) in components(date_part).map_err(fail)? {
        match unit {
            'D' => seconds += number * 86_400.0,
            'Y' | 'M' | 'W' => return Err(fail("years, months and weeks have no fixed length")),
            _ => return Err(fail("unknown date designator")),
        }
        any = true;
    }
    if let Some(time_part) = time_part {
        if time_part.is_empty() {
            return Err(fail("T must be followed by hours, minutes or seconds"));
        }
        for (number, unit) in components(time_part).map_err(fail)? {
            match unit {
                'H' => seconds += number * 3_600.0,
                'M' => seconds += number * 60.0,
                'S' => seconds += number,
                _ => return Err(fail("unknown time designator")),
            }
            any = true;
        }
    }
    if !any {
        return Err(fail("it names no amount"));
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| fail("it is out of range"))
}

/// Splits `12H30M` into `[(12, 'H'), (30, 'M')]`.
fn components(text: &str) -> Result<Vec<(f64, char)>, &'static str> {
    let mut out = Vec::new();
    let mut number = String::new();
    for ch in text.chars() {
        if ch.is_ascii_digit() || ch == '.' || ch == ',' {
            number.push(if ch == ',' { '.' } else { ch });
        } else {
            if number.is_empty() {
                return Err("a designator has no number before it");
            }
            let value: f64 = number.parse().map_err(|_| "a number is malformed")?;
            out.push((value, ch.to_ascii_uppercase()));
            number.clear();
        }
    }
    if !number.is_empty() {
        return Err("a number has no designator after it");
    }
    Ok(out)
}

/// Formats a duration back into the shortest `PT…` form, for `check` output.
pub fn format(duration: Duration) -> String {
    let total = duration.as_secs();
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    let mut out = String::from("PT");
    if hours > 0 {
        out.push_str(&format!("{hours}H"));
    }
    if minutes > 0 {
        out.push_str(&format!("{minutes}M"));
    }
    if seconds > 0 || total == 0 {
        out.push_str(&format!("{seconds}S"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_graph_uses() {
        assert_eq!(parse("PT30M"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse("PT3H"), Ok(Duration::from_secs(10_800)));
        assert_eq!(parse("P1DT2H"), Ok(Duration::from_secs(93_600)));
        assert_eq!(parse("PT1.5S"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("P14D"), Ok(Duration::from_secs(14 * 86_400)));
    }

    #[test]
    fn refuses_what_is_not_a_fixed_duration() {
        for bad in [
            "", "30M", "PT", "P", "P1M", "P1Y", "PT5", "PTM", "PT1X", "P1W", "PT1..5S",
        ] {
            assert!(parse(bad).is_err(), "{bad} should be refused");
        }
        let message = parse("30M").unwrap_err().to_string();
        assert!(message.contains("'30M'"), "{message}");
    }

    #[test]
    fn formats_round_trip() {
        for text in ["PT30M", "PT3H", "PT1H30M", "PT45S"] {
            assert_eq!(format(parse(text).unwrap()), text);
        }
    }
}
