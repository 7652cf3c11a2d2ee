//! Errors in plain words: every documented CCC code and every `Proxy.*` code,
//! in English and Chinese. Unknown codes fall back to CCC's own message.

use ccc_model::{api::ApiError, ErrorCode, ProxyCode, UserState};

use super::command::CommandKind;
use crate::i18n::{proxy_code_text, state_label, tr, Lang};

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

/// The proxy's own codes, in words (`i18n::proxy_code_text`).
fn proxy(code: &str, lang: Lang) -> Option<&'static str> {
    ProxyCode::parse(code).map(|c| proxy_code_text(c, lang))
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
        for code in ProxyCode::ALL.iter().map(|c| c.as_str()) {
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
