//! The text the guardrails check: NFKC-normalised (fullwidth `＠` is `@`, ligatures are
//! letters), with invisible format characters removed (zero-width spaces and joiners, bidi
//! controls, soft hyphens) and common look-alike letters from Cyrillic and Greek mapped to the
//! Latin letters they imitate, so `prev\u{200B}ious instructions`, `r\u{200B}m -rf` and a
//! Cyrillic `о` in `ignore` are seen for what they spell.
//!
//! The normalised text is only for checking; what is stored is the text as sent (minus any
//! credentials, see `secrets`).

use unicode_normalization::UnicodeNormalization;

/// Whether `c` is invisible and only changes how text renders or joins.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// The Latin letter a Cyrillic or Greek look-alike imitates, if it is one.
fn unconfuse(c: char) -> char {
    match c {
        'а' | 'α' => 'a',
        'А' | 'Α' => 'A',
        'в' | 'В' | 'Β' | 'β' => 'B',
        'с' | 'ϲ' => 'c',
        'С' | 'Ϲ' => 'C',
        'ԁ' => 'd',
        'е' | 'ё' | 'ε' => 'e',
        'Е' | 'Ё' | 'Ε' => 'E',
        'һ' => 'h',
        'Н' | 'Η' => 'H',
        'і' | 'ї' | 'ι' | 'ı' => 'i',
        'І' | 'Ї' | 'Ι' => 'I',
        'ј' => 'j',
        'Ј' => 'J',
        'к' | 'κ' => 'k',
        'К' | 'Κ' => 'K',
        'М' | 'Μ' => 'M',
        'п' | 'η' => 'n',
        'Ν' => 'N',
        'о' | 'ο' | 'σ' => 'o',
        'О' | 'Ο' => 'O',
        'р' | 'ρ' => 'p',
        'Р' | 'Ρ' => 'P',
        'ԛ' => 'q',
        'г' => 'r',
        'ѕ' => 's',
        'Ѕ' => 'S',
        'т' | 'τ' => 't',
        'Т' | 'Τ' => 'T',
        'υ' | 'ս' => 'u',
        'ν' | 'ѵ' => 'v',
        'ԝ' | 'ω' => 'w',
        'х' | 'χ' => 'x',
        'Х' | 'Χ' => 'X',
        'у' | 'γ' => 'y',
        'У' | 'Υ' => 'Y',
        'Ζ' => 'Z',
        other => other,
    }
}

/// `text` as the guardrails see it (see the module documentation).
pub fn normalise(text: &str) -> String {
    text.nfkc()
        .filter(|&c| !is_invisible(c))
        .map(unconfuse)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_fullwidth_and_look_alike_characters_are_undone() {
        assert_eq!(normalise("prev\u{200B}ious"), "previous");
        assert_eq!(normalise("r\u{200B}m -rf"), "rm -rf");
        assert_eq!(normalise("ign\u{043E}re"), "ignore");
        assert_eq!(normalise("a\u{FF20}b\u{FF0E}com"), "a@b.com");
        assert_eq!(normalise("\u{202E}abc\u{2066}"), "abc");
        assert_eq!(normalise("ﬁle"), "file");
        assert_eq!(normalise("plain text stays"), "plain text stays");
    }
}
