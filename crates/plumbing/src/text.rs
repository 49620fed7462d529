//! Clipping text for one-line displays (tables, progress bars, messages).

/// `text` cut to at most `max` characters, the last being `…` when anything was cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.char_indices().nth(max).is_none() {
        text.to_owned()
    } else {
        let keep = max.saturating_sub(1);
        let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
        format!("{}…", &text[..end])
    }
}

#[cfg(test)]
mod tests {
    use super::clip;

    #[test]
    fn clips_by_characters_with_an_ellipsis() {
        assert_eq!(clip("short", 5), "short");
        assert_eq!(clip("longer", 5), "long…");
        assert_eq!(clip("ééééé€", 3), "éé…");
        assert_eq!(clip("", 0), "");
        assert_eq!(clip("x", 0), "…");
    }
}
