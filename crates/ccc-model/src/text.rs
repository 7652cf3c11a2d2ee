//! Bounds on text taken from CCC or a webhook event before the proxy
//! stores or serves it (issue 16): a length cap per kind of value, and no
//! characters that are invisible yet change what is shown.
//!
//! Dropped: C0 and C1 controls (NUL, ESC, …) and DEL, and the bidi
//! controls that reorder the text around them (U+200E/U+200F marks,
//! U+202A–U+202E embeddings and overrides, U+2066–U+2069 isolates, U+061C):
//! a caller number with U+202E would otherwise display reversed (number
//! spoofing). Letters of every script are kept, so names stay as written.

/// Break codes and other short codes.
pub const MAX_CODE: usize = 64;
/// Phone numbers, extensions, caller ids.
pub const MAX_NUMBER: usize = 64;
/// Display names.
pub const MAX_NAME: usize = 128;
/// Ids (jobs, channels, users, devices, skill groups).
pub const MAX_ID: usize = 256;

/// True for a character never kept (see the module docs).
pub fn is_dropped(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}'
        )
}

/// `s` without dropped characters, trimmed, cut to at most `max` characters.
pub fn clean(s: &str, max: usize) -> String {
    let kept: String = s.chars().filter(|c| !is_dropped(*c)).collect();
    kept.trim().chars().take(max).collect()
}

/// [`clean`] in place; allocates only when something changes.
pub fn clean_in_place(s: &mut String, max: usize) {
    let fine = s.chars().count() <= max && !s.chars().any(is_dropped) && s.trim().len() == s.len();
    if !fine {
        *s = clean(s, max);
    }
}

/// [`clean`] of an optional value; blank becomes `None`.
pub fn clean_opt(s: Option<&str>, max: usize) -> Option<String> {
    s.map(|s| clean(s, max)).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_dropped() {
        assert_eq!(clean("\u{202E}8765 4321", MAX_NUMBER), "8765 4321");
        assert_eq!(
            clean("+86\u{2066}138\u{2069}\u{200F}", MAX_NUMBER),
            "+86138"
        );
        assert_eq!(clean("lun\0ch\u{1b}[31m", MAX_CODE), "lunch[31m");
        assert_eq!(
            clean("a\u{85}b\u{9b}c\u{7f}", MAX_CODE),
            "abc",
            "C1 and DEL"
        );
        assert_eq!(clean(" 张伟 ", MAX_NAME), "张伟", "letters kept");
        assert_eq!(clean("مرحبا", MAX_NAME), "مرحبا", "RTL letters kept");
        assert_eq!(clean("\u{202A}\u{202B}\u{202C}\u{202D}\u{061C}", 8), "");
    }

    #[test]
    fn lengths_are_capped_in_characters() {
        let long = "x".repeat(60_000);
        assert_eq!(clean(&long, MAX_CODE).len(), MAX_CODE);
        assert_eq!(clean(&"张".repeat(200), MAX_NAME).chars().count(), MAX_NAME);
        let mut s = "1".repeat(3000);
        clean_in_place(&mut s, MAX_NUMBER);
        assert_eq!(s.len(), MAX_NUMBER);
        let mut fine = "13800000000".to_owned();
        let before = fine.as_ptr();
        clean_in_place(&mut fine, MAX_NUMBER);
        assert_eq!(fine.as_ptr(), before, "no allocation when nothing changes");
        assert_eq!(clean_opt(Some(" \u{202E} "), MAX_CODE), None);
        assert_eq!(clean_opt(Some("lunch"), MAX_CODE).as_deref(), Some("lunch"));
    }
}
