//! The crate's one error type.

use thiserror::Error;

/// Why a SIP message or header could not be read, or a digest computed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SipError {
    /// The frame is not UTF-8 text (RFC 7118 SIP frames are text frames).
    #[error("SIP message is not UTF-8")]
    NotUtf8,
    /// The start line is neither `METHOD uri SIP/2.0` nor `SIP/2.0 code reason`.
    #[error("bad SIP start line: {0:?}")]
    StartLine(String),
    /// A header line without a colon, or an empty header name.
    #[error("bad SIP header line: {0:?}")]
    HeaderLine(String),
    /// A header every message needs is missing.
    #[error("missing SIP header {0}")]
    Missing(&'static str),
    /// A header is present but its value cannot be read.
    #[error("bad SIP header {name}: {value:?}")]
    BadHeader {
        /// The header's name.
        name: &'static str,
        /// Its value, verbatim.
        value: String,
    },
    /// `Content-Length` does not match the body of the frame.
    #[error("Content-Length {declared} but the body has {actual} bytes")]
    ContentLength {
        /// What the header says.
        declared: usize,
        /// What the frame carries.
        actual: usize,
    },
    /// A digest algorithm other than MD5 and SHA-256 (e.g. `-sess`, SHA-512-256).
    #[error("unsupported digest algorithm {0:?}")]
    Algorithm(String),
    /// A challenge offers a qop other than `auth` (e.g. only `auth-int`).
    #[error("unsupported digest qop {0:?}")]
    Qop(String),
}
