//! Labels in English and Simplified Chinese. Plain functions, plain tests.
//!
//! A leaf: it depends on `ccc_model` only (the decisions it puts into words
//! are model types), so `logic` may use it without an import circle.

use ccc_model::{
    api::{BreakReason, CommandKind, NextState},
    break_codes, CallType, ProxyCode, UserState, WhyNot, WorkMode,
};

use crate::softphone_status::{MicProblem, NotRegistered, PhoneCall, Registration};

/// The toolbar's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Simplified Chinese.
    Zh,
}

impl Lang {
    /// Picks the language from a BCP 47 tag such as the browser's
    /// `navigator.language` (`zh`, `zh-CN`, `zh-Hans-CN` → Chinese; else English).
    pub fn from_tag(tag: &str) -> Self {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("zh") {
            Lang::Zh
        } else {
            Lang::En
        }
    }

    /// The BCP 47 tag to put in `lang` attributes.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }
}

/// Picks the English or Chinese wording.
pub fn tr(lang: Lang, en: &'static str, zh: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Zh => zh,
    }
}

/// The agent state as a word an agent reads at a glance.
pub fn state_label(state: &UserState, lang: Lang) -> String {
    let (en, zh) = match state {
        UserState::Offline => ("Offline", "离线"),
        UserState::Ready => ("Ready", "空闲"),
        UserState::Break => ("Break", "小休"),
        UserState::Dialing => ("Dialing", "拨号中"),
        UserState::Ringing => ("Ringing", "振铃中"),
        UserState::Talking => ("Talking", "通话中"),
        UserState::Working => ("After-call work", "话后处理"),
        UserState::Unknown(s) => return s.clone(),
    };
    match lang {
        Lang::En => en.to_owned(),
        Lang::Zh => zh.to_owned(),
    }
}

/// A break code as shown: system codes get their own words, custom codes
/// are shown as configured.
pub fn break_label(code: &str, lang: Lang) -> String {
    let (en, zh) = match code {
        break_codes::WARM_UP => ("Warming up", "上线预热"),
        break_codes::RINGING_TIMEOUT => ("Missed call", "振铃超时"),
        break_codes::REJECT_CALL => ("Rejected call", "拒接来电"),
        other => return other.to_owned(),
    };
    match lang {
        Lang::En => en.to_owned(),
        Lang::Zh => zh.to_owned(),
    }
}

/// A break code by its display name: system codes get their own words,
/// configured codes the name from `--break-codes` (`reasons`), other codes
/// are shown as they are.
pub fn break_name(code: &str, reasons: &[BreakReason], lang: Lang) -> String {
    match reasons.iter().find(|r| r.code == code) {
        Some(r) => r.label(lang.tag()).to_owned(),
        None => break_label(code, lang),
    }
}

/// What the agent is asked to go to, in the status menu and the next-state
/// picker (breaks are named by [`break_name`]).
pub fn next_state_label(next: &NextState, reasons: &[BreakReason], lang: Lang) -> String {
    let (en, zh) = match next {
        NextState::Ready => AVAILABLE,
        NextState::OutboundOnly => OUTBOUND_ONLY,
        NextState::Offline => GO_OFFLINE,
        NextState::Break { code } => return break_name(code, reasons, lang),
    };
    tr(lang, en, zh).to_owned()
}

/// A label in both languages: `(English, 简体中文)`. Components show it with
/// `Toolbar::t`, so the words live here and nowhere else.
pub type Words = (&'static str, &'static str);

/// Status menu: READY.
pub const AVAILABLE: Words = ("Available", "空闲");
/// Status menu: READY, outbound calls only.
pub const OUTBOUND_ONLY: Words = ("Outbound only", "仅外呼");
/// Status menu: sign in.
pub const GO_ONLINE: Words = ("Go online", "上线");
/// Status menu: sign out.
pub const GO_OFFLINE: Words = ("Offline", "离线");
/// Status menu: heading of the break reasons.
pub const BREAKS: Words = ("Break", "小休");
/// The status button's accessible name prefix.
pub const CHANGE_STATUS: Words = ("Change your status", "切换状态");
/// Status menu: the entry that is the agent's state now.
pub const CURRENT: Words = ("This is your status now.", "这是您当前的状态。");
/// Status menu: the search field.
pub const SEARCH_REASONS: Words = ("Search reasons…", "搜索原因…");
/// Status menu: nothing matches the search.
pub const NO_MATCH: Words = ("No reason matches.", "没有匹配的原因。");
/// Call card: the call is ringing.
pub const INCOMING_CALL: Words = ("Incoming call", "来电");
/// Call card: dialling.
pub const CALLING: Words = ("Calling…", "正在呼叫…");
/// Call card: decline a ringing call.
pub const DECLINE: Words = ("Decline", "拒接");
/// Call card: cancel an outbound call.
pub const CANCEL_CALL: Words = ("Cancel", "取消");
/// Call card: hang up.
pub const END_CALL: Words = ("End", "挂断");
/// Call card: after-call work.
pub const WRAP_UP: Words = ("Wrap-up", "话后处理");
/// Call card: the next-state picker.
pub const AFTER_THIS_CALL: Words = ("After this call", "本通话结束后");
/// Next-state picker: nothing chosen.
pub const STAY: Words = ("Stay in after-call work", "保持话后处理");
/// Next-state picker: cancel the choice.
pub const CANCEL_NEXT: Words = ("Cancel next status", "取消预设状态");
/// Next-state picker: the choice is being saved.
pub const SAVING: Words = ("Saving…", "正在保存…");
/// The region of the call card.
pub const CURRENT_CALL: Words = ("Current call", "当前通话");
/// The call card's Transfer and Keypad group.
pub const MORE_CALL_CONTROLS: Words = ("More call controls", "更多通话操作");
/// Call card: opens the transfer panel.
pub const TRANSFER: Words = ("Transfer", "转接");
/// Call card: opens the keypad.
pub const KEYPAD: Words = ("Keypad", "拨号盘");
/// Transfer panel: its name.
pub const TRANSFER_CALL: Words = ("Transfer the call", "转接通话");
/// Transfer panel: the search field.
pub const TRANSFER_SEARCH: Words = (
    "Search agents, groups, or type a number",
    "搜索坐席、技能组或输入号码",
);
/// Transfer panel: the search field's placeholder (short for 360 px).
pub const TRANSFER_PLACEHOLDER: Words = ("Name, group or number", "姓名、技能组或号码");
/// Transfer panel: the results list.
pub const TRANSFER_TARGETS: Words = ("Transfer targets", "转接目标");
/// Transfer panel: the directory is being asked.
pub const SEARCHING: Words = ("Searching…", "正在搜索…");
/// Transfer panel: nothing matches.
pub const NO_TARGET: Words = (
    "Nobody matches. Type a number to call out.",
    "没有匹配项。可输入号码转外线。",
);
/// Transfer panel: the directory could not be read.
pub const DIRECTORY_FAILED: Words = ("The directory could not be loaded.", "无法加载通讯录。");
/// Transfer panel: blind transfer.
pub const BLIND: Words = ("Transfer now", "直接转接");
/// Transfer panel: consult first.
pub const CONSULT: Words = ("Consult first", "先咨询");
/// Transfer panel: Blind/Consult before a target is picked.
pub const PICK_TARGET: Words = ("Pick who to transfer to first.", "请先选择转接目标。");
/// Transfer panel: the caller id a number target sees.
pub const CALLER_ID: Words = ("Caller ID shown to the customer", "外显号码");
/// Transfer panel: CCC's own caller id.
pub const DEFAULT_CALLER_ID: Words = ("Default caller ID", "默认外显号码");
/// Transfer panel: a favourite (operator's quick connect).
pub const FAVOURITE: Words = ("Favourite", "常用");
/// Transfer panel: a skill group.
pub const SKILL_GROUP: Words = ("Group", "技能组");
/// Transfer panel: an external number.
pub const EXTERNAL_NUMBER: Words = ("Number", "外线号码");
/// Transfer button while a consult is up.
pub const FINISH_CONSULT: Words = ("Finish the consultation first.", "请先结束咨询。");
/// Consult card: its name.
pub const CONSULTATION: Words = ("Consultation", "咨询");
/// Consult card: the target rings.
pub const CONSULT_RINGING: Words = ("Ringing… the customer is on hold", "振铃中…客户保持中");
/// Consult card: talking to the target.
pub const CONSULT_TALKING: Words = ("Talking, the customer is on hold", "咨询中，客户保持中");
/// Consult card: all three talk.
pub const CONFERENCE_ON: Words = ("Conference: all three of you talk", "三方通话中");
/// Consult card: Conference before the target answered.
pub const WAIT_ANSWER: Words = ("Only once they answer.", "需对方接听后可用。");
/// Keypad: its name.
pub const KEYPAD_KEYS: Words = ("Keypad: keys go to the customer", "拨号盘：按键发送给客户");
/// Keypad: the keys sent so far.
pub const KEYS_SENT: Words = ("Keys sent", "已发送按键");
/// Directory states.
pub const AGENT_READY: Words = ("Ready", "空闲");
/// Directory states.
pub const AGENT_ON_CALL: Words = ("On a call", "通话中");
/// Directory states.
pub const AGENT_ACW: Words = ("After-call work", "话后处理");
/// Directory states.
pub const AGENT_BREAK: Words = ("On a break", "小休");
/// Directory states.
pub const AGENT_OFFLINE: Words = ("Offline", "离线");
/// Settings button and drawer.
pub const SETTINGS: Words = ("Settings", "设置");
/// Settings: close.
pub const CLOSE: Words = ("Close", "关闭");
/// Settings: work mode section.
pub const WORK_MODE: Words = ("Work mode", "工作模式");
/// Settings: language section.
pub const LANGUAGE: Words = ("Language", "语言");
/// Settings: the stuck-state section.
pub const TROUBLESHOOTING: Words = ("Stuck?", "状态异常？");
/// Settings: what reset does.
pub const RESET_HINT: Words = (
    "Reset clears a state Contact Center got stuck in. You will be signed out.",
    "重置可清除联络中心中卡住的状态。您将被下线。",
);
/// Settings: the softphone's devices (filled by the softphone).
pub const AUDIO_DEVICES: Words = ("Audio devices", "音频设备");

/// The work mode in words.
pub fn work_mode_label(mode: &WorkMode, lang: Lang) -> String {
    let (en, zh) = match mode {
        WorkMode::OnSite => ("Softphone", "场内（浏览器）"),
        WorkMode::OffSite => ("Mobile phone", "场外（手机）"),
        WorkMode::OfficePhone => ("Desk phone", "办公电话"),
        WorkMode::Unknown(s) => return s.clone(),
    };
    match lang {
        Lang::En => en.to_owned(),
        Lang::Zh => zh.to_owned(),
    }
}

/// A command's button label, and its label while pending.
pub fn command_label(kind: CommandKind, pending: bool, lang: Lang) -> &'static str {
    let (en, zh, en_p, zh_p) = match kind {
        CommandKind::SignIn => ("Go online", "上线", "Going online…", "正在上线…"),
        CommandKind::SignOut => ("Go offline", "下线", "Going offline…", "正在下线…"),
        CommandKind::Ready => ("Ready", "置闲", "Getting ready…", "正在置闲…"),
        CommandKind::Break => ("Break", "小休", "Starting break…", "正在小休…"),
        CommandKind::WorkMode => ("Switch", "切换", "Switching…", "正在切换…"),
        CommandKind::Reset => ("Reset state", "重置状态", "Resetting…", "正在重置…"),
        CommandKind::Mute => ("Mute", "静音", "Muting…", "正在静音…"),
        CommandKind::Unmute => ("Unmute", "取消静音", "Unmuting…", "正在取消静音…"),
        CommandKind::Answer => ("Answer", "接听", "Answering…", "正在接听…"),
        CommandKind::Hangup => ("Hang up", "挂断", "Hanging up…", "正在挂断…"),
        CommandKind::Dial => ("Call", "呼叫", "Calling…", "正在呼叫…"),
        CommandKind::Hold => ("Hold", "保持", "Holding…", "正在保持…"),
        CommandKind::Retrieve => ("Resume", "取回", "Resuming…", "正在取回…"),
        CommandKind::Transfer => ("Transfer", "转接", "Transferring…", "正在转接…"),
        CommandKind::CompleteTransfer => (
            "Complete transfer",
            "完成转接",
            "Completing…",
            "正在完成转接…",
        ),
        CommandKind::CancelTransfer => (
            "Back to customer",
            "取消咨询",
            "Returning…",
            "正在返回客户…",
        ),
        CommandKind::Conference => ("Conference", "三方通话", "Joining…", "正在加入三方…"),
        CommandKind::LeaveConference => ("Leave", "退出三方", "Leaving…", "正在退出…"),
        CommandKind::Dtmf => ("Send keys", "发送按键", "Sending keys…", "正在发送按键…"),
    };
    if pending {
        tr(lang, en_p, zh_p)
    } else {
        tr(lang, en, zh)
    }
}

/// The call's direction in words.
pub fn call_type_label(t: &CallType, lang: Lang) -> String {
    let (en, zh) = match t {
        CallType::Inbound => ("Inbound", "呼入"),
        CallType::Outbound => ("Outbound", "呼出"),
        CallType::Internal => ("Internal", "内部"),
        CallType::Consultant => ("Consultation", "咨询"),
        CallType::Conference => ("Conference", "会议"),
        CallType::Monitor => ("Monitoring", "监听"),
        CallType::Predictive => ("Predictive", "预测外呼"),
        other => return other.as_str().to_owned(),
    };
    tr(lang, en, zh).to_owned()
}

/// The softphone's registration in plain words (status line).
pub fn registration_label(reg: Registration, lang: Lang) -> &'static str {
    match reg {
        Registration::Off => tr(lang, "Softphone off", "软电话未启用"),
        Registration::Connecting => tr(lang, "Softphone connecting…", "软电话连接中…"),
        Registration::Registered => tr(
            lang,
            "Softphone ready: calls ring here",
            "软电话已注册：来电在此振铃",
        ),
        Registration::Failed(_) => tr(lang, "Softphone not registered", "软电话未注册"),
    }
}

/// Why the softphone is not registered, in words an agent can act on.
pub fn not_registered(why: NotRegistered, lang: Lang) -> &'static str {
    match why {
        NotRegistered::Credentials => tr(
            lang,
            "The phone server did not accept this browser's sign-in. Reload the page; if it stays, ask your administrator.",
            "电话服务器未接受本浏览器的登录信息。请刷新页面；如仍如此，请联系管理员。",
        ),
        NotRegistered::Forbidden => tr(
            lang,
            "The phone server does not allow your extension to use a browser softphone. Ask your administrator.",
            "电话服务器不允许您的分机使用浏览器软电话。请联系管理员。",
        ),
        NotRegistered::Timeout => tr(
            lang,
            "The phone server does not answer. Trying again…",
            "电话服务器无响应，正在重试…",
        ),
        NotRegistered::Server => tr(
            lang,
            "The phone server reported an error. Trying again…",
            "电话服务器出错，正在重试…",
        ),
        NotRegistered::RelayDown => tr(
            lang,
            "The connection for calls was lost. Reconnecting…",
            "通话连接已断开，正在重新连接…",
        ),
        NotRegistered::Unsupported => tr(
            lang,
            "This browser cannot make calls. Use a current Chrome, Edge or Firefox.",
            "此浏览器无法通话。请使用新版 Chrome、Edge 或 Firefox。",
        ),
    }
}

/// A microphone problem, and what to do about it.
pub fn mic_problem_text(p: MicProblem, lang: Lang) -> &'static str {
    match p {
        MicProblem::Denied => tr(
            lang,
            "The microphone is blocked. Allow it for this site (the icon in the address bar), then press Answer again.",
            "麦克风被禁止。请在地址栏图标中允许本网站使用麦克风，然后再次点击接听。",
        ),
        MicProblem::Missing => tr(
            lang,
            "No microphone found. Connect a headset or pick another microphone.",
            "未找到麦克风。请连接耳机或选择其他麦克风。",
        ),
        MicProblem::Busy => tr(
            lang,
            "The microphone is in use by another program or failed. Close the other program or pick another microphone.",
            "麦克风被其他程序占用或出错。请关闭其他程序或选择其他麦克风。",
        ),
        MicProblem::Other => tr(
            lang,
            "The microphone could not be opened.",
            "无法打开麦克风。",
        ),
    }
}

/// The softphone call's state, for the status line.
pub fn phone_call_label(call: PhoneCall, lang: Lang) -> &'static str {
    match call {
        PhoneCall::Idle => "",
        PhoneCall::Ringing => tr(lang, "Incoming call on the softphone", "软电话来电"),
        PhoneCall::Answering => tr(lang, "Connecting audio…", "正在接通语音…"),
        PhoneCall::Talking => tr(lang, "Audio connected", "语音已接通"),
    }
}

/// Why a control is disabled, in words (the decision is
/// `logic::controls::why_not`).
pub fn why_not_text(why: &WhyNot, lang: Lang) -> String {
    let (en, zh) = match why {
        WhyNot::NoStateYet => (
            "Waiting for your state from Contact Center…",
            "正在获取您的状态…",
        ),
        WhyNot::CommandPending => (
            "Waiting for the answer to the last command…",
            "正在等待上一操作的结果…",
        ),
        WhyNot::AlreadyOnline => ("You're already online.", "您已在线。"),
        WhyNot::AlreadyOffline => ("You're already offline.", "您已离线。"),
        WhyNot::OnlyDuringCall => ("Only during a call.", "仅在通话中可用。"),
        WhyNot::OnlyWhileRinging => ("Only while a call is ringing.", "仅在来电振铃时可用。"),
        WhyNot::SignInFirst => ("Sign in first.", "请先上线。"),
        WhyNot::NotDuringCall => ("Not during a call.", "通话中不可用。"),
        WhyNot::NotWhile(s) => {
            return match lang {
                Lang::En => ["Not possible while ", &state_label(s, lang), "."].concat(),
                Lang::Zh => [&state_label(s, lang), "状态下不可用。"].concat(),
            }
        }
    };
    tr(lang, en, zh).to_owned()
}

/// The proxy's own error codes in words.
pub fn proxy_code_text(code: ProxyCode, lang: Lang) -> &'static str {
    let (en, zh) = match code {
        ProxyCode::Unauthenticated => (
            "Your sign-in has expired. Reload the page to sign in again.",
            "登录已失效，请刷新页面重新登录。",
        ),
        ProxyCode::Forbidden => (
            "The toolbar server refused this request. Reload the page.",
            "工具条服务拒绝了此请求，请刷新页面。",
        ),
        ProxyCode::InvalidBreakCode => (
            "This break reason is not offered. Pick another one.",
            "不支持该小休原因，请选择其他原因。",
        ),
        ProxyCode::InvalidWorkMode => ("This work mode is not offered.", "不支持该工作模式。"),
        ProxyCode::MobileRequired => (
            "Enter your mobile number to work off-site.",
            "场外模式需要填写手机号。",
        ),
        ProxyCode::InvalidMobile => (
            "The mobile number must be 3 to 20 digits (a leading + is fine).",
            "手机号须为 3 到 20 位数字（可以 + 开头）。",
        ),
        ProxyCode::BadRequest => (
            "The toolbar sent a request the server did not accept. Reload the page.",
            "工具条发送的请求无效，请刷新页面。",
        ),
        ProxyCode::NotFound => (
            "The toolbar server does not know this request. Reload the page.",
            "工具条服务不支持此请求，请刷新页面。",
        ),
        ProxyCode::NoCall => ("There is no call right now.", "当前没有通话。"),
        ProxyCode::InvalidNumber => (
            "This number can't be dialled: use digits, *, # and a leading + (at most 32).",
            "无法拨打该号码：只能使用数字、*、# 和开头的 +（最多 32 位）。",
        ),
        ProxyCode::NumberNotAllowed => (
            "Your contact center does not allow calls to this number. Ask your administrator.",
            "联络中心不允许拨打该号码，请联系管理员。",
        ),
        ProxyCode::InvalidCallerId => (
            "This caller ID is not offered to you. Pick another one.",
            "不能使用该外显号码，请选择其他号码。",
        ),
        ProxyCode::RateLimited => (
            "Too many changes in a short time. Wait a moment and try again.",
            "操作过于频繁，请稍后重试。",
        ),
        ProxyCode::DialLimited => (
            "Too many calls in a short time. Wait a little before dialling again.",
            "拨打过于频繁，请稍候再拨。",
        ),
        ProxyCode::PayloadTooLarge => (
            "The toolbar sent more than the server accepts. Reload the page.",
            "工具条发送的内容过大，请刷新页面。",
        ),
        ProxyCode::BodyTimeout => (
            "The request took too long to arrive. Check your network and try again.",
            "请求发送超时，请检查网络后重试。",
        ),
        ProxyCode::UpstreamUnavailable => (
            "Contact Center can't be reached right now. Try again in a moment.",
            "暂时无法连接联络中心，请稍后重试。",
        ),
        ProxyCode::UpstreamTimeout => (
            "Contact Center did not answer in time. Try again.",
            "联络中心响应超时，请重试。",
        ),
        ProxyCode::ShuttingDown => (
            "The toolbar server is restarting. Try again in a moment.",
            "工具条服务正在重启，请稍后重试。",
        ),
        ProxyCode::NotInCall => (
            "A next state can be picked only during a call or its wrap-up.",
            "仅在通话或话后处理中可以选择下一状态。",
        ),
        ProxyCode::SoftphoneOff => (
            "The browser softphone works in Softphone mode: switch the work mode in Settings.",
            "浏览器软电话仅在软电话模式下可用：请在设置中切换工作模式。",
        ),
        ProxyCode::TooManySoftphones => (
            "Too many softphones are open for you. Close the toolbar in another browser.",
            "您打开的软电话过多，请关闭其他浏览器中的工具条。",
        ),
        ProxyCode::SipServerUnreachable => (
            "The phone server cannot be reached. The softphone will try again.",
            "无法连接电话服务器，软电话将自动重试。",
        ),
        ProxyCode::NoConsult => (
            "There is no consultation to complete, cancel or turn into a conference.",
            "当前没有进行中的咨询，无法完成、取消或转为三方通话。",
        ),
        ProxyCode::ConsultInProgress => (
            "A consultation is still going on: complete it or go back to the customer first.",
            "咨询仍在进行中：请先完成转接或返回客户。",
        ),
        ProxyCode::NoConference => ("This call is not a conference.", "当前通话不是三方通话。"),
        ProxyCode::InvalidTarget => (
            "This transfer target can't be used: pick an agent, a group or a number from the list.",
            "无法转接到该目标：请从列表中选择坐席、技能组或号码。",
        ),
        ProxyCode::InvalidDtmf => (
            "Keypad keys must be 0–9, * or # (at most 32 at once).",
            "按键只能是 0–9、* 或 #（每次最多 32 个）。",
        ),
        ProxyCode::NoSipServer => (
            "Contact Center named no phone server for you. Ask your administrator.",
            "联络中心未为您分配电话服务器，请联系管理员。",
        ),
    };
    tr(lang, en, zh)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_from_browser_tags() {
        assert_eq!(Lang::from_tag("zh-CN"), Lang::Zh);
        assert_eq!(Lang::from_tag("zh"), Lang::Zh);
        assert_eq!(Lang::from_tag("ZH_hans"), Lang::Zh);
        assert_eq!(Lang::from_tag("en-US"), Lang::En);
        assert_eq!(Lang::from_tag(""), Lang::En);
    }

    #[test]
    fn every_state_has_a_label_in_both_languages() {
        for s in UserState::ALL {
            assert!(!state_label(s, Lang::En).is_empty());
            assert_ne!(state_label(s, Lang::En), state_label(s, Lang::Zh));
        }
        assert_eq!(
            state_label(&UserState::Unknown("NEW".into()), Lang::Zh),
            "NEW"
        );
    }

    /// Every decision and every proxy code the model defines has words in
    /// both languages: a new variant cannot ship without them.
    #[test]
    fn every_decision_and_proxy_code_has_words_in_both_languages() {
        for why in WhyNot::ALL {
            let (en, zh) = (why_not_text(why, Lang::En), why_not_text(why, Lang::Zh));
            assert!(!en.is_empty() && !zh.is_empty(), "{why:?}");
            assert_ne!(en, zh, "{why:?}");
        }
        for code in ProxyCode::ALL {
            let (en, zh) = (
                proxy_code_text(*code, Lang::En),
                proxy_code_text(*code, Lang::Zh),
            );
            assert!(!en.is_empty() && !zh.is_empty(), "{code}");
            assert_ne!(en, zh, "{code}");
        }
        assert_eq!(
            why_not_text(&WhyNot::NotWhile(UserState::Working), Lang::En),
            "Not possible while After-call work."
        );
    }

    #[test]
    fn break_reasons_by_display_name_else_the_code() {
        let reasons = vec![
            BreakReason {
                code: "lunch".into(),
                en: Some("Lunch".into()),
                zh_cn: Some("午餐".into()),
            },
            BreakReason {
                code: "coaching".into(),
                en: Some("Coaching".into()),
                zh_cn: None,
            },
        ];
        assert_eq!(break_name("lunch", &reasons, Lang::En), "Lunch");
        assert_eq!(break_name("lunch", &reasons, Lang::Zh), "午餐");
        assert_eq!(break_name("coaching", &reasons, Lang::Zh), "Coaching");
        assert_eq!(break_name("meeting", &reasons, Lang::En), "meeting");
        assert_eq!(break_name("Warm-up", &reasons, Lang::En), "Warming up");
        let lunch = NextState::Break {
            code: "lunch".into(),
        };
        assert_eq!(next_state_label(&lunch, &reasons, Lang::Zh), "午餐");
        assert_eq!(
            next_state_label(&NextState::Ready, &reasons, Lang::En),
            "Available"
        );
    }

    #[test]
    fn system_break_codes_have_their_own_labels() {
        assert_eq!(break_label("Warm-up", Lang::En), "Warming up");
        assert_eq!(break_label("RingingTimeout", Lang::Zh), "振铃超时");
        assert_eq!(break_label("lunch", Lang::En), "lunch");
    }
}
