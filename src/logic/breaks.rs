//! The break-reason picker's rules: recently used first, then configured
//! order; type-to-search.

/// How many recent codes are remembered.
pub const RECENT_MAX: usize = 5;

/// The configured codes with the recently used ones (most recent first) in front.
/// Recent codes that are no longer configured are left out.
pub fn ordered(configured: &[String], recent: &[String]) -> Vec<String> {
    let mut out: Vec<String> = recent
        .iter()
        .filter(|r| configured.contains(r))
        .cloned()
        .collect();
    out.dedup();
    for c in configured {
        if !out.contains(c) {
            out.push(c.clone());
        }
    }
    out
}

/// Records `code` as just used.
pub fn remember(recent: &mut Vec<String>, code: &str) {
    recent.retain(|c| c != code);
    recent.insert(0, code.to_owned());
    recent.truncate(RECENT_MAX);
}

/// Codes matching `query` (ASCII-case-insensitive substring of the code or
/// its label; Chinese has no case), keeping their order; an empty query
/// matches everything.
pub fn filter<'a>(
    codes: &'a [String],
    query: &str,
    label: impl Fn(&str) -> String,
) -> Vec<&'a String> {
    let q = query.trim().to_ascii_lowercase();
    codes
        .iter()
        .filter(|c| {
            q.is_empty()
                || c.to_ascii_lowercase().contains(&q)
                || label(c).to_ascii_lowercase().contains(&q)
        })
        .collect()
}

/// Recent codes as stored (`\n`-separated).
pub fn parse_recent(stored: &str) -> Vec<String> {
    stored
        .split('\n')
        .filter(|s| !s.is_empty())
        .take(RECENT_MAX)
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn recent_first_then_configured_order() {
        let conf = v(&["default", "lunch", "meeting", "training"]);
        assert_eq!(ordered(&conf, &[]), conf);
        assert_eq!(
            ordered(&conf, &v(&["training", "gone", "lunch"])),
            v(&["training", "lunch", "default", "meeting"])
        );
    }

    #[test]
    fn remember_moves_to_front_and_caps() {
        let mut r = v(&["a", "b"]);
        remember(&mut r, "b");
        assert_eq!(r, v(&["b", "a"]));
        for c in ["c", "d", "e", "f", "g"] {
            remember(&mut r, c);
        }
        assert_eq!(r.len(), RECENT_MAX);
        assert_eq!(r[0], "g");
        assert_eq!(parse_recent(&r.join("\n")), r);
    }

    #[test]
    fn search_by_code_or_label() {
        let conf = v(&["default", "lunch", "会议"]);
        let label = |c: &str| {
            if c == "lunch" {
                "Lunch break".into()
            } else {
                c.to_owned()
            }
        };
        assert_eq!(filter(&conf, "LUN", label), vec!["lunch"]);
        assert_eq!(filter(&conf, "break", label), vec!["lunch"]);
        assert_eq!(filter(&conf, "会", label), vec!["会议"]);
        assert_eq!(filter(&conf, " ", label).len(), 3);
    }
}
