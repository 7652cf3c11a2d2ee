//! The dial policy: which numbers an agent may call (`--dial-pattern`) and
//! which caller ids it may present (`--caller-ids`).

use super::*;

/// Numbers never dialled unless `--dial-deny-pattern` replaces this list
/// (matched in full against the number without separators):
///
/// - feature codes: any number with `*` or `#` (`*72#…` forwards the line,
///   others change the trunk's settings);
/// - the ITU-T E.164 ranges that are the usual targets of international
///   revenue-share (toll) fraud, written with `+`, `00` or `011`: +979
///   (International Premium Rate Service), +881 (Global Mobile Satellite
///   System: Iridium, Globalstar…), +882 and +883 (International Networks)
///   and +870 (Inmarsat). Source: the ITU's list of E.164 assigned country
///   codes; these ranges bill the caller far above a normal call and are
///   rarely a contact center's customers.
pub const DEFAULT_DIAL_DENY: &str = r"(?:\+|00|011)(?:979|88[123]|870)\d*|.*[*#].*";

/// What agents may dial (`--dial-pattern`, `--dial-deny-pattern`) and which
/// caller ids they may present (`--caller-ids`), checked before anything
/// reaches CCC.
#[derive(Debug, Clone, Default)]
pub struct DialPolicy {
    caller_ids: Vec<String>,
    pattern: Option<regex::Regex>,
    deny: Option<regex::Regex>,
}

/// Why the dial policy refuses a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialRefusal {
    /// The number does not match `--dial-pattern`, or matches the deny list.
    NumberNotAllowed,
    /// The caller id is not one of `--caller-ids`.
    InvalidCallerId,
}

impl DialPolicy {
    /// Validates the flags: each caller id must be a dialable number (kept
    /// without separators, duplicates dropped); the pattern must compile.
    pub fn new(caller_ids: &[String], pattern: Option<&str>) -> Result<Self, String> {
        let mut ids: Vec<String> = Vec::new();
        for raw in caller_ids
            .iter()
            .map(|c| c.trim())
            .filter(|c| !c.is_empty())
        {
            let id = DialNumber::parse(raw)
                .map_err(|e| format!("--caller-ids: {raw:?} is not a number: {e}"))?;
            if !ids.iter().any(|i| i == id.as_str()) {
                ids.push(id.as_str().to_owned());
            }
        }
        let pattern = match pattern.map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => Some(regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                format!("--dial-pattern {p:?} is not a valid regular expression: {e}")
            })?),
            None => None,
        };
        Ok(DialPolicy {
            caller_ids: ids,
            pattern,
            deny: None,
        })
    }

    /// Adds the deny list (`None` or blank: none), e.g. [`DEFAULT_DIAL_DENY`].
    pub fn with_deny(mut self, deny: Option<&str>) -> Result<Self, String> {
        self.deny = match deny.map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => Some(regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                format!("--dial-deny-pattern {p:?} is not a valid regular expression: {e}")
            })?),
            None => None,
        };
        Ok(self)
    }

    /// The caller ids offered to agents, in order.
    pub fn caller_ids(&self) -> &[String] {
        &self.caller_ids
    }

    /// Checks a dial request; returns the caller id to send (`None`: CCC's
    /// default). A blank caller id means the default.
    pub fn check(
        &self,
        number: &DialNumber,
        caller_id: Option<&str>,
    ) -> Result<Option<String>, DialRefusal> {
        let n = number.as_str();
        let denied = self.deny.as_ref().is_some_and(|d| d.is_match(n));
        if denied || self.pattern.as_ref().is_some_and(|p| !p.is_match(n)) {
            return Err(DialRefusal::NumberNotAllowed);
        }
        match caller_id.map(str::trim).filter(|c| !c.is_empty()) {
            None => Ok(None),
            Some(c) if self.caller_ids.iter().any(|i| i == c) => Ok(Some(c.to_owned())),
            Some(_) => Err(DialRefusal::InvalidCallerId),
        }
    }
}
