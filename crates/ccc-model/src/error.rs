//! The error codes CCC documents (ccc-api.md §1.1) and the Alibaba Cloud
//! gateway codes every RPC product shares, each with its HTTP status and
//! message template, so the simulator produces exactly these and the widget
//! can explain them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::wire::Envelope;

macro_rules! error_codes {
    ( $( $(#[$m:meta])* $variant:ident => ($code:literal, $status:literal, $template:literal) ),+ $(,)? ) => {
        /// A documented CCC or Alibaba Cloud gateway error code.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[$m])* $variant, )+
            /// A code this build does not know, kept verbatim.
            Other(String),
        }

        impl ErrorCode {
            /// Every documented code.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant ),+ ];

            /// The wire spelling, e.g. `InvalidOperation.UserState`.
            pub fn as_str(&self) -> &str {
                match self {
                    $( ErrorCode::$variant => $code, )+
                    ErrorCode::Other(s) => s.as_str(),
                }
            }

            /// Parses a wire code.
            pub fn parse(s: &str) -> Self {
                match s {
                    $( $code => ErrorCode::$variant, )+
                    other => ErrorCode::Other(other.to_owned()),
                }
            }

            /// The HTTP status CCC answers this code with (500 for unknown codes).
            pub fn http_status(&self) -> u16 {
                match self {
                    $( ErrorCode::$variant => $status, )+
                    ErrorCode::Other(_) => 500,
                }
            }

            /// The message template; each `%s` is filled from `Params` in order.
            pub fn template(&self) -> &'static str {
                match self {
                    $( ErrorCode::$variant => $template, )+
                    ErrorCode::Other(_) => "%s",
                }
            }
        }
    };
}

error_codes! {
    /// The agent's state forbids the action. Params: current state, expected states.
    UserState => ("InvalidOperation.UserState", 400,
        "The operation is not allowed. User state (%s) does not meet expectations (%s)."),
    /// The channel's state forbids the action ("stats" is CCC's own spelling).
    ChannelState => ("InvalidOperation.ChannelState", 400,
        "The operation is not allowed. Channel stats (%s) does not meet expectations (%s)."),
    /// A required parameter is empty.
    ParameterBlank => ("Parameter.Blank", 400,
        "The parameter %s may not be null or blank."),
    /// A parameter is outside its enumeration.
    ParameterEnumeration => ("Parameter.Enumeration", 400,
        "The parameter %s must be one of the value of enumeration %s."),
    /// The called user is busy.
    UserBusy => ("UserBusy", 400,
        "The user %s you called was busy. Please try again later."),
    /// The caller lacks a permission.
    Permission => ("Permission.Common", 403,
        "You have no permission to access. %s"),
    /// Unknown instance.
    NoInstance => ("NotExists.InstanceId", 404,
        "The specified instance %s does not exist."),
    /// Unknown user in the instance.
    NoUser => ("NotExists.UserId", 404,
        "The user %s does not exist in instance %s."),
    /// Unknown call.
    NoJob => ("NotExists.JobId", 404,
        "The call %s does not exist."),
    /// Unknown channel in the call.
    NoChannel => ("NotExists.ChannelId", 404,
        "The specified channel %s does not exist in call %s."),
    /// No extension left.
    NoExtension => ("NotExists.Extension", 404,
        "No available extension number exists."),
    /// A CCC-internal failure.
    Internal => ("InternalService.Common", 500,
        "An internal service error occurred. %s"),
    // Gateway codes shared by every Alibaba Cloud RPC product.
    /// The signature does not match the server's computation.
    SignatureDoesNotMatch => ("SignatureDoesNotMatch", 400,
        "Specified signature does not match our calculation. server string to sign is:%s"),
    /// Authorization header or signature parameters are malformed.
    IncompleteSignature => ("IncompleteSignature", 400,
        "The request signature does not conform to Aliyun standards. %s"),
    /// The signature method is not supported.
    UnsupportedSignatureMethod => ("InvalidSignatureMethod", 400,
        "Specified signature method is not supported. %s"),
    /// The AccessKeyId is unknown.
    AccessKeyNotFound => ("InvalidAccessKeyId.NotFound", 404,
        "Specified access key is not found."),
    /// The request time is outside the 15-minute window.
    TimestampExpired => ("InvalidTimeStamp.Expired", 400,
        "Specified time stamp or date value is expired. %s"),
    /// The nonce was already used within the window.
    NonceUsed => ("SignatureNonceUsed", 400,
        "Specified signature nonce was used already."),
    /// A required parameter is missing.
    MissingParameter => ("MissingParameter", 400,
        "The input parameter \"%s\" that is mandatory for processing this request is not supplied."),
    /// A parameter's value is malformed.
    InvalidParameter => ("InvalidParameter", 400,
        "The specified parameter \"%s\" is not valid."),
    /// The action does not exist in this version.
    ActionNotFound => ("InvalidAction.NotFound", 404,
        "Specified api is not found, please check your url and method."),
    /// The API version is unknown.
    InvalidVersion => ("InvalidVersion", 400,
        "Specified parameter Version is not valid."),
    /// Flow control.
    Throttling => ("Throttling.User", 400,
        "Request was denied due to user flow control."),
    /// A temporary server failure.
    ServiceUnavailable => ("ServiceUnavailable", 503,
        "The request has failed due to a temporary failure of the server."),
    /// An unknown server failure.
    InternalError => ("InternalError", 500,
        "The request processing has failed due to some unknown error, exception or failure."),
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ErrorCode {
    /// Builds the error with its message rendered from `params`.
    pub fn with_params<I, S>(&self, params: I) -> CccError
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let params: Vec<String> = params.into_iter().map(Into::into).collect();
        CccError {
            message: render(self.template(), &params),
            http_status: self.http_status(),
            code: self.clone(),
            params,
            request_id: String::new(),
        }
    }

    /// True for codes that mean "try again later" (throttling, 5xx).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ErrorCode::Throttling | ErrorCode::ServiceUnavailable | ErrorCode::InternalError
        ) || self.http_status() >= 500
    }
}

/// Fills each `%s` of `template` with the next of `params`; missing
/// params leave an empty string, extra params are ignored.
pub fn render(template: &str, params: &[String]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut it = params.iter();
    let mut rest = template;
    while let Some(i) = rest.find("%s") {
        out.push_str(&rest[..i]);
        if let Some(p) = it.next() {
            out.push_str(p);
        }
        rest = &rest[i + 2..];
    }
    out.push_str(rest);
    out
}

/// An error answer from CCC, decoded or about to be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CccError {
    /// The code.
    pub code: ErrorCode,
    /// The HTTP status (also `HttpStatusCode` in the body).
    pub http_status: u16,
    /// The rendered message.
    pub message: String,
    /// The `%s` substitutions.
    pub params: Vec<String>,
    /// The request id.
    pub request_id: String,
}

impl CccError {
    /// Sets the request id.
    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = id.into();
        self
    }

    /// The error as a CCC envelope.
    pub fn to_envelope<T>(&self) -> Envelope<T> {
        Envelope {
            code: self.code.as_str().to_owned(),
            http_status_code: self.http_status,
            message: Some(self.message.clone()),
            request_id: self.request_id.clone(),
            params: self.params.clone(),
            data: None,
        }
    }

    /// Reads the error out of a non-OK envelope (`None` when it is OK).
    pub fn from_envelope<T>(env: &Envelope<T>) -> Option<Self> {
        if env.is_ok() {
            return None;
        }
        let code = ErrorCode::parse(&env.code);
        let message = env
            .message
            .clone()
            .unwrap_or_else(|| render(code.template(), &env.params));
        Some(CccError {
            http_status: if env.http_status_code >= 400 {
                env.http_status_code
            } else {
                code.http_status()
            },
            code,
            message,
            params: env.params.clone(),
            request_id: env.request_id.clone(),
        })
    }
}

impl fmt::Display for CccError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.http_status, self.message)
    }
}

impl std::error::Error for CccError {}

/// Where an error shown to the widget came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorSource {
    /// CCC answered with this error (code and message are CCC's own).
    Ccc,
    /// The proxy refused or failed the request.
    Proxy,
}

macro_rules! proxy_codes {
    ( $( $(#[$m:meta])* $variant:ident => ($code:literal, $status:literal) ),+ $(,)? ) => {
        /// The proxy's own error codes (`source: "proxy"` in the widget API),
        /// each with the HTTP status it answers with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ProxyCode {
            $( $(#[$m])* $variant, )+
        }

        impl ProxyCode {
            /// Every code.
            pub const ALL: &'static [ProxyCode] = &[ $( ProxyCode::$variant ),+ ];

            /// The wire spelling, e.g. `Proxy.NoCall`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( ProxyCode::$variant => $code, )+
                }
            }

            /// Parses a wire code; `None` for anything but a `Proxy.*` code
            /// this build knows.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $( $code => Some(ProxyCode::$variant), )+
                    _ => None,
                }
            }

            /// The HTTP status the proxy answers this code with.
            pub fn http_status(self) -> u16 {
                match self {
                    $( ProxyCode::$variant => $status, )+
                }
            }
        }
    };
}

proxy_codes! {
    /// No valid session: sign in again.
    Unauthenticated => ("Proxy.Unauthenticated", 401),
    /// CSRF or origin rules refused the request.
    Forbidden => ("Proxy.Forbidden", 403),
    /// The break code is not in the configured list.
    InvalidBreakCode => ("Proxy.InvalidBreakCode", 400),
    /// The work mode is not offered.
    InvalidWorkMode => ("Proxy.InvalidWorkMode", 400),
    /// OFF_SITE needs a mobile number.
    MobileRequired => ("Proxy.MobileRequired", 400),
    /// The mobile number is malformed.
    InvalidMobile => ("Proxy.InvalidMobile", 400),
    /// Any other malformed request.
    BadRequest => ("Proxy.BadRequest", 400),
    /// No such API.
    NotFound => ("Proxy.NotFound", 404),
    /// A call command without a call.
    NoCall => ("Proxy.NoCall", 409),
    /// The number may not be dialled (see `DialNumber`).
    InvalidNumber => ("Proxy.InvalidNumber", 400),
    /// The dial policy forbids this number.
    NumberNotAllowed => ("Proxy.NumberNotAllowed", 400),
    /// The caller id is not offered to this agent.
    InvalidCallerId => ("Proxy.InvalidCallerId", 400),
    /// Too many requests; `Retry-After` says when to retry.
    RateLimited => ("Proxy.RateLimited", 429),
    /// Too many calls placed (the dial limits); `Retry-After` says when.
    DialLimited => ("Proxy.DialLimited", 429),
    /// A body larger than the route allows.
    PayloadTooLarge => ("Proxy.PayloadTooLarge", 413),
    /// The body did not arrive in time.
    BodyTimeout => ("Proxy.BodyTimeout", 408),
    /// CCC is unreachable or answered with something unreadable.
    UpstreamUnavailable => ("Proxy.UpstreamUnavailable", 502),
    /// CCC did not answer in time.
    UpstreamTimeout => ("Proxy.UpstreamTimeout", 504),
    /// The proxy is restarting.
    ShuttingDown => ("Proxy.ShuttingDown", 503),
    /// A next state outside a call and its after-call work.
    NotInCall => ("Proxy.NotInCall", 409),
    /// The softphone relay is for `ON_SITE` agents.
    SoftphoneOff => ("Proxy.SoftphoneOff", 409),
    /// Too many softphone sockets for one agent.
    TooManySoftphones => ("Proxy.TooManySoftphones", 429),
    /// The SIP server could not be reached.
    SipServerUnreachable => ("Proxy.SipServerUnreachable", 502),
    /// CCC named no SIP server for the agent.
    NoSipServer => ("Proxy.NoSipServer", 502),
    /// Complete, cancel or conference without a consult in progress (issue 18).
    NoConsult => ("Proxy.NoConsult", 409),
    /// A new transfer while a consult is still in progress: complete or
    /// cancel it first.
    ConsultInProgress => ("Proxy.ConsultInProgress", 409),
    /// Leaving a conference when the call is not one.
    NoConference => ("Proxy.NoConference", 409),
    /// The transfer target is not an agent of this instance (or the agent
    /// itself), or not a configured skill group.
    InvalidTarget => ("Proxy.InvalidTarget", 400),
    /// Keypad digits other than 1 to 32 of `0-9*#`.
    InvalidDtmf => ("Proxy.InvalidDtmf", 400),
}

impl fmt::Display for ProxyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_user_state_like_the_cloud() {
        let e = ErrorCode::UserState.with_params(["OFFLINE", "BREAK,READY,WORKING"]);
        assert_eq!(
            e.message,
            "The operation is not allowed. User state (OFFLINE) does not meet expectations (BREAK,READY,WORKING)."
        );
        assert_eq!(e.http_status, 400);
        assert_eq!(e.code.as_str(), "InvalidOperation.UserState");
    }

    #[test]
    fn every_code_round_trips_and_has_a_sane_status() {
        for c in ErrorCode::ALL {
            assert_eq!(&ErrorCode::parse(c.as_str()), c);
            assert!((400..600).contains(&c.http_status()), "{c}");
        }
        assert_eq!(
            ErrorCode::parse("Foo.Bar"),
            ErrorCode::Other("Foo.Bar".into())
        );
    }

    #[test]
    fn render_handles_missing_and_extra_params() {
        assert_eq!(render("a %s b %s", &["1".into()]), "a 1 b ");
        assert_eq!(render("x", &["1".into()]), "x");
    }

    #[test]
    fn proxy_codes_round_trip() {
        for c in ProxyCode::ALL {
            assert_eq!(ProxyCode::parse(c.as_str()), Some(*c));
            assert!(c.as_str().starts_with("Proxy."));
            assert!((400..600).contains(&c.http_status()), "{c}");
        }
        assert_eq!(ProxyCode::parse("InvalidOperation.UserState"), None);
    }

    #[test]
    fn transient_codes() {
        assert!(ErrorCode::Throttling.is_transient());
        assert!(ErrorCode::ServiceUnavailable.is_transient());
        assert!(!ErrorCode::UserState.is_transient());
    }
}
