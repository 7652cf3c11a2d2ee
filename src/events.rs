//! Typed, versioned events for the host page: `CustomEvent`s on the host
//! element (`ccc:state`, `ccc:call`, `ccc:ringing`, `ccc:mute`, `ccc:error`,
//! `ccc:connection`, `ccc:pending`, `ccc:transfer`) and, in iframe mode, the same `detail`
//! posted to the parent window at its configured origin (never `*`).
//! Commands come back from that origin only.

use ccc_model::{
    api::{TransferKind, TransferTarget},
    UserState, WorkMode,
};
use leptos::{prelude::*, reactive::effect::RenderEffect};
use send_wrapper::SendWrapper;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CustomEvent, CustomEventInit, EventTarget, MessageEvent};

use crate::{
    hooks::use_event_listener,
    logic::call::direction,
    logic::call::{call_start, other_party},
    logic::host::{HostCommand, HostRequest, SCHEMA_VERSION},
    logic::transfer::{consult_change, ConsultView, TransferPhase},
    state::Toolbar,
};

/// Where events go.
#[derive(Debug, Clone, Default)]
pub struct Emitter {
    /// The element events are dispatched on.
    pub host: Option<EventTarget>,
    /// Iframe mode: the parent's origin.
    pub parent_origin: Option<String>,
}

impl Emitter {
    /// Dispatches `ccc:<kind>` with `detail` (and posts it in iframe mode).
    pub fn emit<T: Serialize>(&self, kind: &str, detail: &T) {
        self.emit_js(kind, to_js(detail));
    }

    fn emit_js(&self, kind: &str, detail: JsValue) {
        if let Some(host) = &self.host {
            let init = CustomEventInit::new();
            init.set_bubbles(true);
            init.set_detail(&detail);
            if let Ok(ev) = CustomEvent::new_with_event_init_dict(&["ccc:", kind].concat(), &init) {
                let _ = host.dispatch_event(&ev);
            }
        }
        if let Some(origin) = &self.parent_origin {
            if let Some(parent) = web_sys::window().and_then(|w| w.parent().ok().flatten()) {
                let _ = parent.post_message(&detail, origin);
            }
        }
    }
}

/// The `detail` of an event as the plain JS object its JSON would give:
/// one serde type per event, encoded by derive (`null` for a missing value,
/// fields in declaration order).
fn to_js<T: Serialize>(detail: &T) -> JsValue {
    detail
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::NULL)
}

/// `ccc:state` detail.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateEvent {
    /// Schema version (1).
    pub version: u32,
    /// `"state"`.
    pub r#type: &'static str,
    /// CCC `UserState`.
    pub state: String,
    /// Break code in BREAK.
    pub break_code: Option<String>,
    /// Work mode.
    pub work_mode: Option<String>,
    /// Extension.
    pub extension: Option<String>,
    /// Start of the state (server epoch ms).
    pub since: Option<i64>,
    /// The active device.
    pub device_id: Option<String>,
}

/// `ccc:call` detail.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallEvent {
    /// Schema version (1).
    pub version: u32,
    /// `"call"`.
    pub r#type: &'static str,
    /// The call, `null` when there is none.
    pub call: Option<CallDetail>,
}

/// `ccc:ringing` detail: once per ringing call, in every tab.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RingingEvent {
    /// Schema version (1).
    pub version: u32,
    /// `"ringing"`.
    pub r#type: &'static str,
    /// The ringing call (as in `ccc:call`).
    pub call: Option<CallDetail>,
    /// This tab is the one that rings (tone, title, notification).
    pub leader: bool,
}

/// A call in events.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallDetail {
    /// CCC job id.
    pub job_id: String,
    /// `INBOUND`, `OUTBOUND`, ...
    pub call_type: Option<String>,
    /// `INBOUND` or `OUTBOUND` (dialled from the toolbar or the host page).
    pub direction: Option<&'static str>,
    /// The customer's number.
    pub other_party: Option<String>,
    /// Server epoch ms of the first leg.
    pub started_at: Option<i64>,
}

/// `ccc:mute` detail.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MuteEvent {
    /// Schema version (1).
    pub version: u32,
    /// `"mute"`.
    pub r#type: &'static str,
    /// Server truth.
    pub muted: bool,
}

/// `ccc:error` detail.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorEvent {
    /// Schema version (1).
    pub version: u32,
    /// `"error"`.
    pub r#type: &'static str,
    /// API code (`InvalidOperation.UserState`, `Proxy.*`) or `Widget.*`.
    pub code: String,
    /// In plain words (toolbar language).
    pub message: String,
    /// The command that failed; `null` for the sync.
    pub command: Option<&'static str>,
}

/// `ccc:connection` detail.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionEvent {
    /// Schema version (1).
    pub version: u32,
    /// `"connection"`.
    pub r#type: &'static str,
    /// `connected`, `reconnecting`, `offline`.
    pub connection: &'static str,
    /// Local epoch ms of the last good sync.
    pub last_sync_at: Option<f64>,
}

/// `ccc:pending` detail.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingEvent {
    /// Schema version (1).
    pub version: u32,
    /// `"pending"`.
    pub r#type: &'static str,
    /// The command in flight, `null` when none.
    pub command: Option<&'static str>,
}

/// `ccc:transfer` detail: a blind transfer accepted, or a step of a
/// consult (ringing, talking, conference, completed, cancelled, left).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferEvent {
    /// Schema version (1).
    pub version: u32,
    /// `"transfer"`.
    pub r#type: &'static str,
    /// `blind`, `consult-ringing`, `consult-talking`, `conference`,
    /// `completed`, `cancelled`, `left`.
    pub phase: &'static str,
    /// `blind` or `consult`.
    pub kind: TransferKind,
    /// The call's job id (the customer's call).
    pub job_id: Option<String>,
    /// Where to: `{type: "agent" | "skill-group" | "number", id}`.
    pub target: TransferTarget,
    /// The target's name when known.
    pub name: Option<String>,
}

impl TransferEvent {
    fn new(
        phase: TransferPhase,
        job_id: Option<String>,
        target: TransferTarget,
        name: Option<String>,
    ) -> Self {
        TransferEvent {
            version: SCHEMA_VERSION,
            r#type: "transfer",
            phase: phase.as_str(),
            kind: phase.kind(),
            job_id,
            target,
            name,
        }
    }
}

/// The payloads of the current state, compared with the last ones emitted.
#[derive(Debug, Default, PartialEq)]
struct Emitted {
    state: Option<StateEvent>,
    call: Option<CallEvent>,
    /// The job id while RINGING (`""` without a call).
    ringing: Option<String>,
    mute: Option<MuteEvent>,
    error_seq: Option<u32>,
    connection: Option<&'static str>,
    pending: Option<Option<&'static str>>,
    /// The consult as last seen, and the call's job id.
    consult: ConsultView,
    job_id: Option<String>,
    /// The sequence number of the last blind transfer announced.
    blind_seq: Option<u32>,
}

/// Emits an event for every change while the owner lives (one effect).
pub fn use_host_events(tb: Toolbar, emitter: Emitter) {
    let emitter = SendWrapper::new(emitter);
    let effect = RenderEffect::new(move |prev: Option<Emitted>| {
        let prev = prev.unwrap_or_default();
        let mut next = Emitted::default();
        tb.snapshot.with(|s| {
            if let Some(s) = s {
                next.state = Some(StateEvent {
                    version: SCHEMA_VERSION,
                    r#type: "state",
                    state: s.agent.state.as_str().to_owned(),
                    break_code: s.agent.break_code.clone(),
                    work_mode: s
                        .agent
                        .work_mode
                        .as_ref()
                        .map(|m| WorkMode::as_str(m).to_owned()),
                    extension: s.agent.extension.clone(),
                    since: s.agent.heartbeat,
                    device_id: s.agent.device_id.clone(),
                });
                next.call = Some(CallEvent {
                    version: SCHEMA_VERSION,
                    r#type: "call",
                    call: s.call.as_ref().map(|c| CallDetail {
                        job_id: c.job_id.clone(),
                        call_type: c.call_type.as_ref().map(|t| t.as_str().to_owned()),
                        direction: direction(c, &s.agent.state),
                        other_party: other_party(c),
                        started_at: call_start(c),
                    }),
                });
                if s.agent.state == UserState::Ringing {
                    next.ringing = Some(
                        s.call
                            .as_ref()
                            .map(|c| c.job_id.clone())
                            .unwrap_or_default(),
                    );
                }
                next.consult = ConsultView {
                    consult: s.consult.clone(),
                    conference: s.conference,
                    talking: s.agent.state == UserState::Talking,
                };
                next.job_id = s.call.as_ref().map(|c| c.job_id.clone());
                next.mute = Some(MuteEvent {
                    version: SCHEMA_VERSION,
                    r#type: "mute",
                    muted: s.muted,
                });
            }
        });
        if next.state != prev.state {
            if let Some(d) = &next.state {
                emitter.emit("state", d);
            }
        }
        if next.call != prev.call {
            if let Some(d) = &next.call {
                emitter.emit("call", d);
            }
        }
        if next.ringing.is_some() && next.ringing != prev.ringing {
            emitter.emit(
                "ringing",
                &RingingEvent {
                    version: SCHEMA_VERSION,
                    r#type: "ringing",
                    call: next.call.as_ref().and_then(|c| c.call.clone()),
                    leader: tb.leader.get_untracked(),
                },
            );
        }
        if next.mute != prev.mute {
            if let Some(d) = &next.mute {
                emitter.emit("mute", d);
            }
        }
        if let Some((phase, leg)) = consult_change(&prev.consult, &next.consult) {
            let job = next.job_id.clone().or_else(|| prev.job_id.clone());
            let ev = TransferEvent::new(phase, job, leg.target, leg.name);
            emitter.emit("transfer", &ev);
        }
        tb.last_transfer.with(|t| {
            next.blind_seq = t.as_ref().map(|t| t.0);
            if let Some((seq, job, req)) = t {
                if prev.blind_seq != Some(*seq) && req.kind == TransferKind::Blind {
                    let ev = TransferEvent::new(
                        TransferPhase::Blind,
                        job.clone(),
                        req.target.clone(),
                        None,
                    );
                    emitter.emit("transfer", &ev);
                }
            }
        });
        let connection = tb.connection().as_str();
        next.connection = Some(connection);
        if next.connection != prev.connection {
            emitter.emit(
                "connection",
                &ConnectionEvent {
                    version: SCHEMA_VERSION,
                    r#type: "connection",
                    connection,
                    last_sync_at: tb.health.with_untracked(|h| h.last_success_ms),
                },
            );
        }
        let pending = tb.pending.with(|p| p.current()).map(|c| c.name());
        next.pending = Some(pending);
        if prev.pending.is_some() && next.pending != prev.pending {
            emitter.emit(
                "pending",
                &PendingEvent {
                    version: SCHEMA_VERSION,
                    r#type: "pending",
                    command: pending,
                },
            );
        }
        tb.error.with(|e| {
            next.error_seq = e.as_ref().map(|e| e.seq);
            if let Some(err) = e {
                if next.error_seq != prev.error_seq {
                    emitter.emit(
                        "error",
                        &ErrorEvent {
                            version: SCHEMA_VERSION,
                            r#type: "error",
                            code: err.code(),
                            message: err.text(tb.lang.get_untracked()),
                            command: err.command.map(|c| c.name()),
                        },
                    );
                }
            }
        });
        next
    });
    let held = SendWrapper::new(effect);
    on_cleanup(move || drop(held));
}

/// Runs a host command; `Ok(false)` when it is not allowed now (or another
/// command is in flight), `Err` when it is malformed.
pub fn host_command(tb: Toolbar, cmd: &HostCommand) -> Result<bool, &'static str> {
    let muted = tb
        .snapshot
        .with_untracked(|s| s.as_ref().is_some_and(|s| s.muted));
    match cmd.request(muted)? {
        HostRequest::Resync => {
            tb.resync();
            Ok(true)
        }
        HostRequest::Dial { number, caller_id } => Ok(tb.dial_or_keep(number, caller_id)),
        HostRequest::Command(c) => {
            // One consult per call: a second transfer waits for it to end.
            let consulting = matches!(c, crate::logic::Command::Transfer(_))
                && tb
                    .snapshot
                    .with_untracked(|s| s.as_ref().is_some_and(|s| s.consult.is_some()));
            if consulting || tb.why_not(c.kind()).is_some() {
                return Ok(false);
            }
            Ok(tb.run(c))
        }
    }
}

/// Iframe mode: accepts `{version: 1, command, ...}` messages only from the
/// parent window at `parent_origin`, while the current owner lives.
pub fn use_parent_commands(tb: Toolbar, parent_origin: String) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let target: EventTarget = window.clone().into();
    use_event_listener(&target, "message", move |ev| {
        let Some(msg) = ev.dyn_ref::<MessageEvent>() else {
            return;
        };
        if msg.origin() != parent_origin {
            return;
        }
        let parent = window.parent().ok().flatten();
        let from_parent = match (msg.source(), parent) {
            (Some(src), Some(p)) => js_sys::Object::is(&src, &JsValue::from(p)),
            _ => false,
        };
        if !from_parent {
            return;
        }
        let Ok(cmd) = serde_wasm_bindgen::from_value::<HostCommand>(msg.data()) else {
            return;
        };
        if cmd.version == Some(SCHEMA_VERSION) {
            let _ = host_command(tb, &cmd);
        }
    });
}
