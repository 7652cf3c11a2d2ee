//! Errors in plain words: every documented CCC code and every `Proxy.*` code,
//! in English and Chinese. Unknown codes fall back to CCC's own message.

use ccc_model::{api::ApiError, ErrorCode, UserState};

use super::command::CommandKind;
use crate::i18n::{state_label, tr, Lang};

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The proxy answered with an error body.
    Api {
        /// HTTP status.
        status: u16,
        /// The error.
        error: ApiError,
    },
    /// An error status without a readable error body.
    Http {
        /// HTTP status.
        status: u16,
    },
    /// No answer: network down, proxy unreachable, request aborted.
    Network,
    /// An answer that could not be decoded.
    Decode,
}

impl Failure {
    /// The error code for events: the API code, or `Widget.Http`, `Widget.Network`, `Widget.Decode`.
    pub fn code(&self) -> String {
        match self {
            Failure::Api { error, .. } => error.code.clone(),
            Failure::Http { .. } => "Widget.Http".into(),
            Failure::Network => "Widget.Network".into(),
            Failure::Decode => "Widget.Decode".into(),
        }
    }

    /// True when the agent's identity is gone (401): retrying will not help.
    pub fn is_unauthenticated(&self) -> bool {
        matches!(
            self,
            Failure::Api { status: 401, .. } | Failure::Http { status: 401 }
        )
    }
}

/// A failed request in plain words.
pub fn explain_failure(f: &Failure, lang: Lang) -> String {
    match f {
        Failure::Api { error, .. } => explain(error, lang),
        Failure::Http { status: 401 } => proxy("Proxy.Unauthenticated", lang)
            .unwrap_or_default()
            .to_owned(),
        Failure::Http { status } => match lang {
            Lang::En => format!("The toolbar server answered with an error ({status}). Try again."),
            Lang::Zh => format!("工具条服务返回错误（{status}），请重试。"),
        },
        Failure::Network => tr(
            lang,
            "Can't reach the toolbar server. Check your network; retrying.",
            "无法连接工具条服务，请检查网络，正在重试。",
        )
        .to_owned(),
        Failure::Decode => tr(
            lang,
            "The toolbar server sent an answer the toolbar can't read.",
            "工具条服务的返回无法解析。",
        )
        .to_owned(),
    }
}

/// A failed command in plain words: as [`explain_failure`], except where a
/// code means something else for this command (CCC answers MakeCall with
/// `NotExists.Extension` when the number called is an extension that does
/// not exist, or no line is free).
pub fn explain_command(kind: Option<CommandKind>, f: &Failure, lang: Lang) -> String {
    match (kind, f) {
        (Some(CommandKind::Dial), Failure::Api { error, .. })
            if ErrorCode::parse(&error.code) == ErrorCode::NoExtension =>
        {
            tr(
                lang,
                "This number can't be reached: no such extension, or no line is free. Check the number.",
                "无法接通该号码：分机不存在或没有空闲线路，请检查号码。",
            )
            .to_owned()
        }
        _ => explain_failure(f, lang),
    }
}

/// An API error in plain words.
pub fn explain(e: &ApiError, lang: Lang) -> String {
    if let Some(text) = proxy(&e.code, lang) {
        return text.to_owned();
    }
    let t = |en, zh| tr(lang, en, zh).to_owned();
    match ErrorCode::parse(&e.code) {
        ErrorCode::UserState => user_state(e, lang),
        ErrorCode::ChannelState => t(
            "The call changed in the meantime. Check the call and try again.",
            "通话状态已变化，请确认后重试。",
        ),
        ErrorCode::ParameterBlank
        | ErrorCode::ParameterEnumeration
        | ErrorCode::MissingParameter
        | ErrorCode::InvalidParameter => {
            let what = e.params.first().map(String::as_str).unwrap_or("?");
            match lang {
                Lang::En => format!("Contact Center refused a value ({what}). Check it and try again."),
                Lang::Zh => format!("联络中心拒绝了参数（{what}），请检查后重试。"),
            }
        }
        ErrorCode::UserBusy => t(
            "The number you called is busy. Try again later.",
            "对方忙线，请稍后再拨。",
        ),
        ErrorCode::Permission => t(
            "You don't have permission for this. Ask your administrator.",
            "您没有此操作的权限，请联系管理员。",
        ),
        ErrorCode::NoInstance | ErrorCode::NoUser => t(
            "Your Contact Center account was not found. Ask your administrator.",
            "未找到您的联络中心账号，请联系管理员。",
        ),
        ErrorCode::NoJob | ErrorCode::NoChannel => {
            t("The call has already ended.", "通话已结束。")
        }
        ErrorCode::NoExtension => t(
            "No extension is free for you. Ask your administrator.",
            "没有可用的分机号，请联系管理员。",
        ),
        ErrorCode::Internal | ErrorCode::InternalError | ErrorCode::ServiceUnavailable => t(
            "Contact Center had a temporary problem. Try again in a moment.",
            "联络中心暂时出现问题，请稍后重试。",
        ),
        ErrorCode::Throttling => t(
            "Too many requests. Wait a moment and try again.",
            "请求过于频繁，请稍后重试。",
        ),
        ErrorCode::SignatureDoesNotMatch
        | ErrorCode::IncompleteSignature
        | ErrorCode::UnsupportedSignatureMethod
        | ErrorCode::AccessKeyNotFound
        | ErrorCode::TimestampExpired
        | ErrorCode::NonceUsed
        | ErrorCode::ActionNotFound
        | ErrorCode::InvalidVersion => t(
            "The toolbar server is not set up correctly for Contact Center. Tell your administrator.",
            "工具条服务与联络中心的配置有误，请告知管理员。",
        ),
        ErrorCode::Other(_) => {
            if e.message.is_empty() {
                e.code.clone()
            } else {
                e.message.clone()
            }
        }
    }
}

/// `InvalidOperation.UserState`: Params are `[current state, expected states]`.
fn user_state(e: &ApiError, lang: Lang) -> String {
    let state = e.params.first().map(|s| UserState::parse(s));
    let expected = e.params.get(1).map(String::as_str).unwrap_or_default();
    let t = |en, zh| tr(lang, en, zh).to_owned();
    match state {
        Some(UserState::Offline) => t("You're offline — sign in first.", "您已离线，请先上线。"),
        Some(s) if s.in_call() => t("Finish the call first.", "请先结束通话。"),
        _ if expected == "TALKING" => t("Only possible during a call.", "仅在通话中可用。"),
        Some(s) => match lang {
            Lang::En => format!("Not possible while {}.", state_label(&s, lang)),
            Lang::Zh => format!("当前状态（{}）不能执行此操作。", state_label(&s, lang)),
        },
        None => t(
            "Not possible in your current state.",
            "当前状态不能执行此操作。",
        ),
    }
}

/// The proxy's own codes.
fn proxy(code: &str, lang: Lang) -> Option<&'static str> {
    let (en, zh) = match code {
        "Proxy.Unauthenticated" => (
            "Your sign-in has expired. Reload the page to sign in again.",
            "登录已失效，请刷新页面重新登录。",
        ),
        "Proxy.Forbidden" => (
            "The toolbar server refused this request. Reload the page.",
            "工具条服务拒绝了此请求，请刷新页面。",
        ),
        "Proxy.InvalidBreakCode" => (
            "This break reason is not offered. Pick another one.",
            "不支持该小休原因，请选择其他原因。",
        ),
        "Proxy.InvalidWorkMode" => ("This work mode is not offered.", "不支持该工作模式。"),
        "Proxy.MobileRequired" => (
            "Enter your mobile number to work off-site.",
            "场外模式需要填写手机号。",
        ),
        "Proxy.InvalidMobile" => (
            "The mobile number must be 3 to 20 digits (a leading + is fine).",
            "手机号须为 3 到 20 位数字（可以 + 开头）。",
        ),
        "Proxy.BadRequest" => (
            "The toolbar sent a request the server did not accept. Reload the page.",
            "工具条发送的请求无效，请刷新页面。",
        ),
        "Proxy.NotFound" => (
            "The toolbar server does not know this request. Reload the page.",
            "工具条服务不支持此请求，请刷新页面。",
        ),
        "Proxy.NoCall" => ("There is no call right now.", "当前没有通话。"),
        "Proxy.InvalidNumber" => (
            "This number can't be dialled: use digits, *, # and a leading + (at most 32).",
            "无法拨打该号码：只能使用数字、*、# 和开头的 +（最多 32 位）。",
        ),
        "Proxy.NumberNotAllowed" => (
            "Your contact center does not allow calls to this number. Ask your administrator.",
            "联络中心不允许拨打该号码，请联系管理员。",
        ),
        "Proxy.InvalidCallerId" => (
            "This caller ID is not offered to you. Pick another one.",
            "不能使用该外显号码，请选择其他号码。",
        ),
        "Proxy.RateLimited" => (
            "Too many changes in a short time. Wait a moment and try again.",
            "操作过于频繁，请稍后重试。",
        ),
        "Proxy.DialLimited" => (
            "Too many calls in a short time. Wait a little before dialling again.",
            "拨打过于频繁，请稍候再拨。",
        ),
        "Proxy.UpstreamUnavailable" => (
            "Contact Center can't be reached right now. Try again in a moment.",
            "暂时无法连接联络中心，请稍后重试。",
        ),
        "Proxy.UpstreamTimeout" => (
            "Contact Center did not answer in time. Try again.",
            "联络中心响应超时，请重试。",
        ),
        _ => return None,
    };
    Some(tr(lang, en, zh))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccc_model::{AgentAction, ErrorSource};

    fn err(code: &str, params: &[&str]) -> ApiError {
        ApiError {
            code: code.into(),
            message: format!("raw {code}"),
            params: params.iter().map(|s| s.to_string()).collect(),
            request_id: None,
            source: ErrorSource::Ccc,
        }
    }

    #[test]
    fn user_state_from_offline_says_sign_in_first() {
        let ccc = AgentAction::Ready
            .check(&UserState::Offline)
            .unwrap_err()
            .to_ccc_error();
        let e = ApiError::from(&ccc);
        assert_eq!(explain(&e, Lang::En), "You're offline — sign in first.");
        assert_eq!(explain(&e, Lang::Zh), "您已离线，请先上线。");
    }

    #[test]
    fn user_state_in_a_call_says_finish_the_call() {
        let e = err(
            "InvalidOperation.UserState",
            &["TALKING", "READY,BREAK,WORKING"],
        );
        assert_eq!(explain(&e, Lang::En), "Finish the call first.");
        let e = err("InvalidOperation.UserState", &["BREAK", "TALKING"]);
        assert_eq!(explain(&e, Lang::En), "Only possible during a call.");
        let e = err("InvalidOperation.UserState", &["WORKING", "OFFLINE"]);
        assert_eq!(explain(&e, Lang::En), "Not possible while After-call work.");
    }

    #[test]
    fn every_documented_code_has_words_in_both_languages() {
        for code in ErrorCode::ALL {
            let e = err(code.as_str(), &["X", "Y"]);
            for lang in [Lang::En, Lang::Zh] {
                let text = explain(&e, lang);
                assert!(!text.is_empty(), "{code}");
                assert!(
                    !text.starts_with("raw "),
                    "{code} falls back to the raw message"
                );
            }
            assert_ne!(explain(&e, Lang::En), explain(&e, Lang::Zh), "{code}");
        }
    }

    #[test]
    fn every_proxy_code_has_words() {
        for code in [
            "Proxy.Unauthenticated",
            "Proxy.Forbidden",
            "Proxy.InvalidBreakCode",
            "Proxy.InvalidWorkMode",
            "Proxy.MobileRequired",
            "Proxy.InvalidMobile",
            "Proxy.BadRequest",
            "Proxy.NotFound",
            "Proxy.NoCall",
            "Proxy.InvalidNumber",
            "Proxy.NumberNotAllowed",
            "Proxy.InvalidCallerId",
            "Proxy.RateLimited",
            "Proxy.DialLimited",
            "Proxy.UpstreamUnavailable",
            "Proxy.UpstreamTimeout",
        ] {
            let e = err(code, &[]);
            assert!(!explain(&e, Lang::En).starts_with("raw "), "{code}");
            assert_ne!(explain(&e, Lang::En), explain(&e, Lang::Zh), "{code}");
        }
    }

    #[test]
    fn dial_failures_in_plain_words() {
        let fail = |code: &str| Failure::Api {
            status: 400,
            error: err(code, &["13800000000"]),
        };
        let busy = explain_command(Some(CommandKind::Dial), &fail("UserBusy"), Lang::En);
        assert_eq!(busy, "The number you called is busy. Try again later.");
        let ext = fail("NotExists.Extension");
        let for_dial = explain_command(Some(CommandKind::Dial), &ext, Lang::En);
        assert!(for_dial.contains("no such extension"), "{for_dial}");
        assert_ne!(
            for_dial,
            explain_command(Some(CommandKind::Dial), &ext, Lang::Zh)
        );
        // Elsewhere it is about the agent's own extension.
        assert!(
            explain_command(Some(CommandKind::SignIn), &ext, Lang::En).contains("administrator")
        );
    }

    #[test]
    fn unknown_codes_fall_back_to_the_message() {
        assert_eq!(explain(&err("Foo.Bar", &[]), Lang::En), "raw Foo.Bar");
    }

    #[test]
    fn failures() {
        assert!(explain_failure(&Failure::Network, Lang::En).contains("network"));
        assert!(explain_failure(&Failure::Http { status: 503 }, Lang::En).contains("503"));
        assert!(Failure::Http { status: 401 }.is_unauthenticated());
        assert_eq!(Failure::Decode.code(), "Widget.Decode");
    }
}
