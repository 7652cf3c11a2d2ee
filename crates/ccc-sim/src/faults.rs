//! Fault injection, set through `PUT /_sim/faults`. Applies to the RPC
//! endpoint only, never to the admin API.

use ccc_model::ErrorCode;
use serde::{Deserialize, Serialize};

/// The faults to inject (JSON camelCase). Rates are probabilities in 0..=1,
/// drawn independently for every matching request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Faults {
    /// Milliseconds added before answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Share of requests answered with `errorCode` (or a bare `httpStatus`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
    /// The CCC / gateway code to answer with (default `ServiceUnavailable`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// A bare 5xx status with an HTML body, like a load balancer, instead of
    /// an envelope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Share of requests answered 200 with a truncated JSON body (the
    /// request itself is processed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malformed_rate: Option<f64>,
    /// Share of requests whose connection is closed without a response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_rate: Option<f64>,
    /// Share of requests answered with `Throttling.User` (extension; the same
    /// as `errorRate` with `errorCode: "Throttling.User"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle_rate: Option<f64>,
    /// Only these CCC actions are affected (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<String>>,
}

/// What to do with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Injected {
    /// Close the connection without answering.
    Drop,
    /// Answer with this CCC error envelope.
    Error(ErrorCode),
    /// Answer with a bare HTTP status and an HTML body.
    BareStatus(u16),
    /// Process the request but truncate the JSON answer.
    Malformed,
}

impl Faults {
    /// Checks ranges: rates in 0..=1, `httpStatus` in 500..=599.
    pub fn validate(&self) -> Result<(), String> {
        let rates = [
            ("errorRate", self.error_rate),
            ("malformedRate", self.malformed_rate),
            ("dropRate", self.drop_rate),
            ("throttleRate", self.throttle_rate),
        ];
        crate::config::check_rates(&rates)?;
        if let Some(s) = self.http_status {
            if !(500..=599).contains(&s) {
                return Err("httpStatus must be a 5xx status".to_owned());
            }
        }
        if self.error_code.is_some() && self.http_status.is_some() {
            return Err("give errorCode or httpStatus, not both".to_owned());
        }
        if self.latency_ms.is_some_and(|ms| ms > 600_000) {
            return Err("latencyMs must be at most 600000".to_owned());
        }
        Ok(())
    }

    /// True when these faults apply to `action`.
    pub fn applies_to(&self, action: &str) -> bool {
        self.actions
            .as_ref()
            .is_none_or(|list| list.iter().any(|a| a == action))
    }

    /// Draws the faults for one request of `action`. `roll` yields uniform
    /// numbers in 0..1 (injected so tests are deterministic).
    pub fn decide(&self, action: &str, mut roll: impl FnMut() -> f64) -> Vec<Injected> {
        let mut out = Vec::new();
        if !self.applies_to(action) {
            return out;
        }
        let mut hit = |rate: Option<f64>| rate.is_some_and(|r| r > 0.0 && roll() < r);
        if hit(self.drop_rate) {
            out.push(Injected::Drop);
        }
        if hit(self.error_rate) {
            out.push(match (self.http_status, &self.error_code) {
                (Some(status), _) => Injected::BareStatus(status),
                (None, Some(code)) => Injected::Error(ErrorCode::parse(code)),
                (None, None) => Injected::Error(ErrorCode::ServiceUnavailable),
            });
        }
        if hit(self.throttle_rate) {
            out.push(Injected::Error(ErrorCode::Throttling));
        }
        if hit(self.malformed_rate) {
            out.push(Injected::Malformed);
        }
        out
    }
}

/// The HTML body of a bare gateway status.
pub fn bare_status_body(status: u16) -> String {
    let reason = axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    format!(
        "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}</h1></center>\r\n<hr><center>Tengine</center>\r\n</body>\r\n</html>\r\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_contract_body() {
        let f: Faults = serde_json::from_str(
            r#"{"latencyMs":5,"errorRate":0.5,"errorCode":"Throttling.User","malformedRate":0,"dropRate":1,"actions":["PollUserStatus"]}"#,
        )
        .unwrap();
        f.validate().unwrap();
        assert_eq!(f.latency_ms, Some(5));
        assert!(f.applies_to("PollUserStatus"));
        assert!(!f.applies_to("TakeBreak"));
        assert!(serde_json::from_str::<Faults>(r#"{"bogus":1}"#).is_err());
    }

    #[test]
    fn validation() {
        let bad = [
            Faults {
                error_rate: Some(1.5),
                ..Faults::default()
            },
            Faults {
                http_status: Some(404),
                ..Faults::default()
            },
            Faults {
                http_status: Some(502),
                error_code: Some("X".into()),
                ..Faults::default()
            },
        ];
        for f in bad {
            assert!(f.validate().is_err(), "{f:?}");
        }
    }

    #[test]
    fn decisions_follow_the_rates() {
        let f = Faults {
            error_rate: Some(1.0),
            error_code: Some("Throttling.User".into()),
            drop_rate: Some(0.0),
            malformed_rate: Some(0.5),
            ..Faults::default()
        };
        assert_eq!(
            f.decide("TakeBreak", || 0.1),
            vec![Injected::Error(ErrorCode::Throttling), Injected::Malformed]
        );
        assert_eq!(
            f.decide("TakeBreak", || 0.9),
            vec![Injected::Error(ErrorCode::Throttling)]
        );
        let bare = Faults {
            error_rate: Some(1.0),
            http_status: Some(502),
            ..Faults::default()
        };
        assert_eq!(bare.decide("X", || 0.0), vec![Injected::BareStatus(502)]);
        let default = Faults {
            error_rate: Some(1.0),
            ..Faults::default()
        };
        assert_eq!(
            default.decide("X", || 0.0),
            vec![Injected::Error(ErrorCode::ServiceUnavailable)]
        );
        assert!(bare_status_body(502).contains("502 Bad Gateway"));
    }
}
