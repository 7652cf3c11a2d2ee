//! The per-browser device id sent as `X-CCC-Device-Id`.

/// localStorage key.
pub const STORAGE_KEY: &str = "ccc-toolbar.device-id";

/// 1 to 128 characters of `[A-Za-z0-9._:-]`.
pub fn is_valid(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// `web-<hex>` from random bytes.
pub fn from_random(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(4 + bytes.len() * 2);
    s.push_str("web-");
    for b in bytes {
        s.push(char::from_digit((b >> 4) as u32, 16).unwrap_or('0'));
        s.push(char::from_digit((b & 15) as u32, 16).unwrap_or('0'));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format() {
        let id = from_random(&[0, 1, 0xab, 0xff]);
        assert_eq!(id, "web-0001abff");
        assert!(is_valid(&id));
        assert!(!is_valid(""));
        assert!(!is_valid("web 1"));
        assert!(!is_valid(&"a".repeat(129)));
        assert!(is_valid("a:b.c_d-e"));
    }
}
