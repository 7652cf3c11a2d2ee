//! Keyboard shortcuts: parsing `Alt+Shift+M` and matching key events.

/// A key combination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Combo {
    /// Alt / Option.
    pub alt: bool,
    /// Control.
    pub ctrl: bool,
    /// Shift.
    pub shift: bool,
    /// Meta / Command.
    pub meta: bool,
    /// The key, upper-case (`M`, `F2`, `1`).
    pub key: String,
}

/// A key event, as far as matching goes.
#[derive(Debug, Clone, Default)]
pub struct KeyPress<'a> {
    /// `KeyboardEvent.key`.
    pub key: &'a str,
    /// `KeyboardEvent.code` (`KeyM`, `Digit1`), layout- and modifier-independent.
    pub code: &'a str,
    /// Modifiers.
    pub alt: bool,
    /// Modifiers.
    pub ctrl: bool,
    /// Modifiers.
    pub shift: bool,
    /// Modifiers.
    pub meta: bool,
}

impl Combo {
    /// Parses `Alt+Shift+M` (case-insensitive; `Ctrl`/`Control`, `Meta`/`Cmd`).
    pub fn parse(s: &str) -> Option<Combo> {
        let mut c = Combo {
            alt: false,
            ctrl: false,
            shift: false,
            meta: false,
            key: String::new(),
        };
        for part in s.split('+').map(str::trim) {
            match part.to_ascii_lowercase().as_str() {
                "alt" | "option" => c.alt = true,
                "ctrl" | "control" => c.ctrl = true,
                "shift" => c.shift = true,
                "meta" | "cmd" | "command" => c.meta = true,
                "" => return None,
                _ if c.key.is_empty() => c.key = part.to_ascii_uppercase(),
                _ => return None,
            }
        }
        (!c.key.is_empty()).then_some(c)
    }

    /// True when `k` is this combination (exact modifiers).
    pub fn matches(&self, k: &KeyPress<'_>) -> bool {
        if (self.alt, self.ctrl, self.shift, self.meta) != (k.alt, k.ctrl, k.shift, k.meta) {
            return false;
        }
        let code_key = k
            .code
            .strip_prefix("Key")
            .or_else(|| k.code.strip_prefix("Digit"))
            .unwrap_or(k.code);
        code_key.eq_ignore_ascii_case(&self.key) || k.key.eq_ignore_ascii_case(&self.key)
    }
}

/// The actions shortcuts can trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShortcutAction {
    /// Toggle mute.
    Mute,
    /// Ready.
    Ready,
    /// Open the break menu.
    BreakMenu,
}

impl ShortcutAction {
    /// Every action with its option name and default combination.
    pub const DEFAULTS: [(ShortcutAction, &'static str, &'static str); 3] = [
        (ShortcutAction::Mute, "mute", "Alt+Shift+M"),
        (ShortcutAction::Ready, "ready", "Alt+Shift+R"),
        (ShortcutAction::BreakMenu, "break", "Alt+Shift+B"),
    ];
}

/// The shortcut table: defaults, overridden per action name (`None` disables one).
pub fn table(overrides: &[(String, Option<String>)]) -> Vec<(ShortcutAction, Combo)> {
    ShortcutAction::DEFAULTS
        .iter()
        .filter_map(|(action, name, default)| {
            let spec = match overrides.iter().find(|(n, _)| n == name) {
                Some((_, Some(s))) => s.as_str(),
                Some((_, None)) => return None,
                None => default,
            };
            Combo::parse(spec).map(|c| (*action, c))
        })
        .collect()
}

/// The action for `k`, if any.
pub fn lookup(table: &[(ShortcutAction, Combo)], k: &KeyPress<'_>) -> Option<ShortcutAction> {
    table.iter().find(|(_, c)| c.matches(k)).map(|(a, _)| *a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press<'a>(key: &'a str, code: &'a str) -> KeyPress<'a> {
        KeyPress {
            key,
            code,
            alt: true,
            shift: true,
            ..Default::default()
        }
    }

    #[test]
    fn parse_and_match() {
        let c = Combo::parse("alt+Shift+m").unwrap();
        assert_eq!(c.key, "M");
        // macOS turns Alt+Shift+M into "Â": the code still matches.
        assert!(c.matches(&press("Â", "KeyM")));
        assert!(!c.matches(&KeyPress {
            key: "m",
            code: "KeyM",
            ..Default::default()
        }));
        assert_eq!(Combo::parse("Alt+"), None);
        assert_eq!(Combo::parse("A+B"), None);
        assert!(Combo::parse("Ctrl+1").unwrap().matches(&KeyPress {
            key: "1",
            code: "Digit1",
            ctrl: true,
            ..Default::default()
        }));
    }

    #[test]
    fn table_with_overrides() {
        let t = table(&[]);
        assert_eq!(lookup(&t, &press("R", "KeyR")), Some(ShortcutAction::Ready));
        let t = table(&[
            ("mute".into(), Some("Ctrl+Shift+U".into())),
            ("break".into(), None),
        ]);
        assert_eq!(lookup(&t, &press("M", "KeyM")), None);
        assert_eq!(lookup(&t, &press("B", "KeyB")), None);
        let k = KeyPress {
            key: "U",
            code: "KeyU",
            ctrl: true,
            shift: true,
            ..Default::default()
        };
        assert_eq!(lookup(&t, &k), Some(ShortcutAction::Mute));
    }
}
