//! The numbers an agent may dial: one rule for the widget (to say what is
//! wrong before sending) and the proxy (to refuse before anything reaches
//! CCC).
//!
//! A number is what a person types or pastes: visual separators (spaces,
//! `-`, `.`, `(`, `)`) are dropped, then what is left must be 1 to
//! [`MAX_LEN`] characters of digits, `*` and `#`, with an optional leading
//! `+`.

use std::fmt;

/// The longest number accepted, after separators are dropped.
pub const MAX_LEN: usize = 32;

/// A valid number to dial, separators removed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialNumber(String);

/// Why a number cannot be dialled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberError {
    /// Nothing but separators.
    Empty,
    /// More than [`MAX_LEN`] characters.
    TooLong {
        /// Characters after separators were dropped.
        len: usize,
    },
    /// A character that is not a digit, `*`, `#` or a leading `+`.
    Invalid {
        /// The character.
        ch: char,
    },
}

impl fmt::Display for NumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NumberError::Empty => f.write_str("Enter a number to dial."),
            NumberError::TooLong { len } => write!(
                f,
                "The number has {len} characters; at most {MAX_LEN} can be dialled."
            ),
            NumberError::Invalid { ch } => write!(
                f,
                "{ch:?} cannot be dialled: use digits, *, # and a leading +."
            ),
        }
    }
}

impl std::error::Error for NumberError {}

fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '.' | '(' | ')')
}

impl DialNumber {
    /// Parses what the agent typed or the host page sent.
    pub fn parse(input: &str) -> Result<Self, NumberError> {
        let number: String = input.chars().filter(|c| !is_separator(*c)).collect();
        if number.is_empty() {
            return Err(NumberError::Empty);
        }
        let len = number.chars().count();
        if len > MAX_LEN {
            return Err(NumberError::TooLong { len });
        }
        let body = number.strip_prefix('+').unwrap_or(&number);
        if let Some(ch) = body
            .chars()
            .find(|c| !(c.is_ascii_digit() || *c == '*' || *c == '#'))
        {
            return Err(NumberError::Invalid { ch });
        }
        if body.is_empty() {
            return Err(NumberError::Empty);
        }
        Ok(DialNumber(number))
    }

    /// The number as sent to CCC.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DialNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_are_dropped() {
        assert_eq!(
            DialNumber::parse(" +86 (138) 0013-8000 ").unwrap().as_str(),
            "+8613800138000"
        );
        assert_eq!(DialNumber::parse("*99#").unwrap().as_str(), "*99#");
    }

    #[test]
    fn bad_numbers_say_why() {
        assert_eq!(DialNumber::parse(" - "), Err(NumberError::Empty));
        assert_eq!(DialNumber::parse("+"), Err(NumberError::Empty));
        assert_eq!(
            DialNumber::parse("1+2"),
            Err(NumberError::Invalid { ch: '+' })
        );
        assert_eq!(
            DialNumber::parse("138abc"),
            Err(NumberError::Invalid { ch: 'a' })
        );
        assert_eq!(
            DialNumber::parse("１２３"),
            Err(NumberError::Invalid { ch: '１' })
        );
        let long = "1".repeat(MAX_LEN + 1);
        assert_eq!(
            DialNumber::parse(&long),
            Err(NumberError::TooLong { len: MAX_LEN + 1 })
        );
        assert!(DialNumber::parse(&"1".repeat(MAX_LEN)).is_ok());
        assert!(NumberError::Invalid { ch: 'x' }.to_string().contains("'x'"));
    }
}
