//! Rules for the short texts people write: titles and approve/reject reasons. Characters that
//! change how text looks without being visible (zero-width characters, bidirectional
//! overrides and isolates) and control characters are refused, not stripped, so what is stored
//! is exactly what was sent and what a reviewer sees; the message names the character by its
//! code point. The CLI, the API and `taskpilot review` all call these functions.
//!
//! Not here: escaping text for a terminal (the CLI's output), guardrail normalisation
//! (`taskpilot-govern`).

use crate::CoreError;

/// Longest approve/reject reason, in characters, after trimming.
pub const REASON_MAX_CHARS: usize = 2_000;

/// Whether `c` is invisible yet changes how the text around it reads: zero-width characters,
/// the byte-order mark, bidirectional marks, embeddings, overrides and isolates.
pub fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{FEFF}'
            | '\u{00AD}'
    )
}

/// The first character of `text` that a one-line text may not hold, if any.
pub fn first_refused(text: &str) -> Option<char> {
    text.chars()
        .find(|&c| c.is_control() || is_invisible_format(c))
}

/// `U+202E`.
pub(crate) fn code_point(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

/// A reason as stored: trimmed, `None` when empty; too long or holding a refused character is
/// an error naming the field `reason`.
pub fn validate_reason(raw: Option<&str>) -> Result<Option<String>, CoreError> {
    let Some(reason) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let chars = reason.chars().count();
    if chars > REASON_MAX_CHARS {
        return Err(CoreError::invalid(
            "reason",
            format!("is {chars} characters long; the limit is {REASON_MAX_CHARS}"),
        ));
    }
    if let Some(c) = first_refused(reason) {
        return Err(CoreError::invalid(
            "reason",
            format!(
                "contains the invisible or control character {}; write plain text on one line",
                code_point(c)
            ),
        ));
    }
    Ok(Some(reason.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_trimmed_bounded_and_visible() {
        assert_eq!(validate_reason(None), Ok(None));
        assert_eq!(validate_reason(Some("  ")), Ok(None));
        assert_eq!(validate_reason(Some(" ok ")), Ok(Some("ok".to_owned())));
        assert_eq!(
            validate_reason(Some(&"x".repeat(2_000))).map(|r| r.map(|r| r.len())),
            Ok(Some(2_000))
        );
        let e = validate_reason(Some(&"x".repeat(2_001)))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "invalid reason: is 2001 characters long; the limit is 2000"
        );
        for (bad, cp) in [
            ("esc \u{1b}[31m", "U+001B"),
            ("nul\0", "U+0000"),
            ("evil \u{202E}txt.exe", "U+202E"),
            ("zero\u{200B}width", "U+200B"),
            ("isolate \u{2066}x", "U+2066"),
        ] {
            let e = validate_reason(Some(bad)).unwrap_err().to_string();
            assert!(e.contains("reason") && e.contains(cp), "{e}");
        }
    }
}
