//! Dialling rules of the toolbar: what the number field says about what was
//! typed (the proxy's own rule, [`DialNumber::parse`]), which number a
//! `tel:` link stands for, and the notes shown under the dial box.

use ccc_model::dial::{DialNumber, NumberError, MAX_LEN};

use crate::i18n::{tr, Lang};

/// Why a typed number cannot be dialled, in plain words.
pub fn number_error_text(e: &NumberError, lang: Lang) -> String {
    let mut n = itoa::Buffer::new();
    match (e, lang) {
        (NumberError::Empty, _) => {
            tr(lang, "Enter a number to dial.", "请输入要拨打的号码。").into()
        }
        (NumberError::TooLong { .. }, Lang::En) => {
            ["Too long: at most ", n.format(MAX_LEN), " digits."].concat()
        }
        (NumberError::TooLong { .. }, Lang::Zh) => {
            ["号码过长：最多 ", n.format(MAX_LEN), " 位。"].concat()
        }
        (NumberError::Invalid { ch }, Lang::En) => [
            "“",
            ch.encode_utf8(&mut [0; 4]),
            "” can't be dialled: use digits, *, # and a leading +.",
        ]
        .concat(),
        (NumberError::Invalid { ch }, Lang::Zh) => [
            "不能拨打“",
            ch.encode_utf8(&mut [0; 4]),
            "”：只能使用数字、*、# 和开头的 +。",
        ]
        .concat(),
    }
}

/// The number a `tel:` link's `href` stands for (`tel:+86-138-0013-8000;ext=1`
/// → `+8613800138000`); `None` for other links and numbers that can't be dialled.
pub fn tel_link_number(href: &str) -> Option<DialNumber> {
    let scheme = href.get(..4)?;
    if !scheme.eq_ignore_ascii_case("tel:") {
        return None;
    }
    let rest = &href[4..];
    let number = rest.split([';', '?']).next().unwrap_or_default();
    DialNumber::parse(&percent_decode(number)?).ok()
}

/// `%2B` → `+`; `None` for a broken escape.
fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            let hex = std::str::from_utf8(&hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

/// A note under the dial box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialNotice {
    /// The host page asked to dial `number` while that was not possible
    /// (e.g. during a call): it waits in the dial box instead.
    Kept {
        /// The number.
        number: String,
    },
    /// An outbound call ended before anyone answered.
    NotAnswered {
        /// The number.
        number: String,
    },
}

impl DialNotice {
    /// In plain words; `why_not` is why dialling is not possible right now.
    pub fn text(&self, why_not: Option<&str>, lang: Lang) -> String {
        match self {
            DialNotice::Kept { number } => {
                let (en, zh) = match why_not {
                    Some(_) => (" was not dialled: ", " 未拨出："),
                    None => (
                        " is ready in the dial box: press Call.",
                        " 已填入拨号框，请点击“呼叫”。",
                    ),
                };
                [
                    number.as_str(),
                    tr(lang, en, zh),
                    why_not.unwrap_or_default(),
                ]
                .concat()
            }
            DialNotice::NotAnswered { number } => [
                number.as_str(),
                tr(
                    lang,
                    ": the call ended before anyone answered.",
                    "：通话在接听前已结束。",
                ),
            ]
            .concat(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_numbers_are_explained_in_both_languages() {
        let e = DialNumber::parse("138abc").unwrap_err();
        assert_eq!(
            number_error_text(&e, Lang::En),
            "“a” can't be dialled: use digits, *, # and a leading +."
        );
        assert!(number_error_text(&e, Lang::Zh).contains("“a”"));
        let long = DialNumber::parse(&"1".repeat(MAX_LEN + 1)).unwrap_err();
        assert_eq!(
            number_error_text(&long, Lang::En),
            "Too long: at most 32 digits."
        );
        let empty = DialNumber::parse(" ").unwrap_err();
        assert_ne!(
            number_error_text(&empty, Lang::En),
            number_error_text(&empty, Lang::Zh)
        );
    }

    #[test]
    fn tel_links() {
        let n = |h: &str| tel_link_number(h).map(|n| n.as_str().to_owned());
        assert_eq!(
            n("tel:+86-138-0013-8000").as_deref(),
            Some("+8613800138000")
        );
        assert_eq!(n("TEL:13800138000;ext=12").as_deref(), Some("13800138000"));
        assert_eq!(
            n("tel:%2B86%20138%200013%208000").as_deref(),
            Some("+8613800138000")
        );
        assert_eq!(n("tel:*99%23").as_deref(), Some("*99#"));
        assert_eq!(n("tel:"), None);
        assert_eq!(n("tel:call-me"), None);
        assert_eq!(n("tel:%ZZ"), None);
        assert_eq!(n("mailto:a@b.c"), None);
        assert_eq!(n("te"), None);
        assert_eq!(n("https://crm.example.com/tel:1"), None);
    }

    #[test]
    fn notices() {
        let kept = DialNotice::Kept {
            number: "138".into(),
        };
        assert_eq!(
            kept.text(Some("Not during a call."), Lang::En),
            "138 was not dialled: Not during a call."
        );
        assert_eq!(
            kept.text(None, Lang::En),
            "138 is ready in the dial box: press Call."
        );
        let na = DialNotice::NotAnswered {
            number: "138".into(),
        };
        assert_eq!(na.text(None, Lang::Zh), "138：通话在接听前已结束。");
    }
}
