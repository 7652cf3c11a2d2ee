//! The toolbar's state: signals holding the last server truth, and the two
//! things that change it, snapshots ([`Toolbar::apply`], fed by
//! [`crate::sync`]) and commands ([`Toolbar::run`]).
//!
//! Where snapshots come from is kept out of here on purpose: today every tab
//! long-polls the proxy itself; with a leader tab (one poller per browser,
//! the others fed over a `BroadcastChannel`), followers call the same
//! [`Toolbar::apply`], [`Toolbar::sync_succeeded`] and [`Toolbar::sync_failed`].

use std::rc::Rc;

use ccc_model::{
    api::{AgentSnapshot, BreakReason, Call, ConsultLeg, NextState, Session, TransferRequest},
    dial::DialNumber,
    UserState, WorkMode,
};
use leptos::{prelude::*, task::spawn_local};
use reactive_stores::{KeyMap, Patch, PatchField, Store, StorePath};

use crate::{
    api::AgentApi,
    browser::{now_ms, Notify},
    i18n::{break_name, tr, why_not_text, Lang, Words},
    logic::{
        breaks,
        clock::{elapsed_since, skew_offset},
        command::{Command, CommandKind, Pending},
        controls::{why_not, ControlContext},
        dial::DialNotice,
        explain_command, explain_failure, takeover, ConnectionState, Failure, SyncHealth,
    },
    softphone_status::PhoneStatus,
};

/// A value patched as a whole: replaced (and its readers notified) only
/// when it differs. For the model's types, which have no field-by-field
/// [`PatchField`] of their own (they live in `ccc-model`, which stays
/// free of the reactive crates).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Whole<T>(pub T);

impl<T: PartialEq> PatchField for Whole<T> {
    fn patch_field(
        &mut self,
        new: Self,
        path: &StorePath,
        notify: &mut dyn FnMut(&StorePath),
        _keys: Option<&KeyMap>,
    ) {
        if new != *self {
            *self = new;
            notify(path);
        }
    }
}

/// The server truth the parts show: the last snapshot and the session,
/// flattened into the fields the parts read. Kept in a
/// [`reactive_stores::Store`] and patched from every answer, so a part
/// re-renders only when its own fields change (a heartbeat does not touch
/// the call card; a mute does not touch the status menu).
#[derive(Debug, Clone, Default, PartialEq, Store, Patch)]
pub struct Truth {
    /// A snapshot has arrived.
    pub known: bool,
    /// The agent's state (`OFFLINE` until known).
    pub state: Whole<UserState>,
    /// The break reason (BREAK only).
    pub break_code: Option<String>,
    /// READY for outbound calls only.
    pub outbound_only: bool,
    /// How calls reach the agent.
    pub work_mode: Whole<Option<WorkMode>>,
    /// Personal phone for OFF_SITE.
    pub mobile: Option<String>,
    /// The extension.
    pub extension: Option<String>,
    /// The start of the current state (server epoch ms).
    pub heartbeat: Option<i64>,
    /// The current call.
    pub call: Whole<Option<Call>>,
    /// The agent's leg is MUTED.
    pub muted: bool,
    /// The customer is on HOLD.
    pub held: bool,
    /// The state asked for after this call (the proxy's truth).
    pub next_state: Whole<Option<NextState>>,
    /// The consult leg (issue 18): who, ringing or talking.
    pub consult: Whole<Option<ConsultLeg>>,
    /// The call is a three-party conference.
    pub conference: bool,
    /// Break codes the agent may pick (session), configured order.
    pub break_codes: Vec<String>,
    /// Their display names (session).
    pub break_reasons: Whole<Vec<BreakReason>>,
    /// Work modes the agent may pick (session; empty: all).
    pub work_modes: Whole<Vec<WorkMode>>,
}

impl Truth {
    /// The fields of `snap` and `session`.
    pub fn new(snap: Option<&AgentSnapshot>, session: Option<&Session>) -> Self {
        let mut t = Truth::default();
        if let Some(s) = snap {
            let a = &s.agent;
            t.known = true;
            t.state = Whole(a.state.clone());
            t.break_code = a.break_code.clone();
            t.outbound_only = a.outbound_scenario;
            t.work_mode = Whole(a.work_mode.clone());
            t.mobile = a.mobile.clone();
            t.extension = a.extension.clone();
            t.heartbeat = a.heartbeat;
            t.call = Whole(s.call.clone());
            t.muted = s.muted;
            t.held = s.held;
            t.next_state = Whole(s.next_state.clone());
            t.consult = Whole(s.consult.clone());
            t.conference = s.conference;
        }
        if let Some(s) = session {
            t.break_codes = s.break_codes.clone();
            t.break_reasons = Whole(s.break_reasons.clone());
            t.work_modes = Whole(s.work_modes.clone());
        }
        t
    }
}

/// localStorage key of the recently used break codes.
pub const RECENT_BREAKS_KEY: &str = "ccc-toolbar.recent-breaks";

/// Timings of the sync loop (tests shorten them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyncConfig {
    /// Long-poll `wait` (seconds).
    pub wait_secs: u32,
    /// First retry delay (ms); doubles per failure.
    pub backoff_base_ms: f64,
    /// Longest retry delay (ms).
    pub backoff_cap_ms: f64,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            wait_secs: 25,
            backoff_base_ms: 1_000.0,
            backoff_cap_ms: 30_000.0,
        }
    }
}

/// A problem shown in the `error-message` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A request failed.
    Failed(Failure),
    /// Setting or cancelling the next state failed.
    NextState(Failure),
    /// The server's mute state is not what was asked for.
    MuteMismatch {
        /// What was asked.
        wanted: bool,
    },
}

/// What the `error-message` element shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownError {
    /// The command that failed (`None`: the sync).
    pub command: Option<CommandKind>,
    /// What went wrong.
    pub problem: Problem,
    /// Increases with every error, so the same error twice is announced twice.
    pub seq: u32,
}

impl ShownError {
    /// The error code (API code, `Widget.*`).
    pub fn code(&self) -> String {
        match &self.problem {
            Problem::Failed(f) | Problem::NextState(f) => f.code(),
            Problem::MuteMismatch { .. } => "Widget.MuteMismatch".into(),
        }
    }

    /// In plain words.
    pub fn text(&self, lang: Lang) -> String {
        match &self.problem {
            Problem::Failed(f) => explain_command(self.command, f, lang),
            Problem::NextState(f) => [
                tr(
                    lang,
                    "Your status after this call was not saved: ",
                    "未能保存通话结束后的状态：",
                ),
                &explain_failure(f, lang),
            ]
            .concat(),
            Problem::MuteMismatch { wanted: true } => tr(
                lang,
                "Contact Center still reports the call as NOT muted.",
                "联络中心显示通话仍未静音。",
            )
            .to_owned(),
            Problem::MuteMismatch { wanted: false } => tr(
                lang,
                "Contact Center still reports the call as muted.",
                "联络中心显示通话仍处于静音。",
            )
            .to_owned(),
        }
    }
}

/// A command the softphone carries out itself (see [`Toolbar::run`]).
pub(crate) type Intercept = Rc<dyn Fn(&Command) -> bool>;

/// The toolbar's state and actions; `Copy`, shared through context.
#[derive(Debug, Clone, Copy)]
pub struct Toolbar {
    /// Last server snapshot (`None` until the first sync).
    pub snapshot: RwSignal<Option<AgentSnapshot>>,
    /// The session (`None` until fetched).
    pub session: RwSignal<Option<Session>>,
    /// Sync health (connection indicator).
    pub health: RwSignal<SyncHealth>,
    /// Server clock minus local clock (ms).
    pub offset: RwSignal<f64>,
    /// Local clock, ticking every second while mounted.
    pub now: RwSignal<f64>,
    /// The command in flight.
    pub pending: RwSignal<Pending>,
    /// The error shown.
    pub error: RwSignal<Option<ShownError>>,
    /// Display language.
    pub lang: RwSignal<Lang>,
    /// Recently used break codes, most recent first.
    pub recent_breaks: RwSignal<Vec<String>>,
    /// The server truth the parts show, patched from `snapshot` and
    /// `session` (see [`Truth`]).
    pub truth: Store<Truth>,
    /// The status menu is open (the break shortcut opens it too).
    pub status_menu_open: RwSignal<bool>,
    /// The settings drawer is open.
    pub settings_open: RwSignal<bool>,
    /// A next-state change is in flight.
    pub next_pending: RwSignal<bool>,
    /// True in the one tab of this browser that long-polls and rings (the
    /// leader); false in follower tabs, which render what the leader
    /// broadcasts. A page alone in its browser is the leader.
    pub leader: RwSignal<bool>,
    /// The dial box's text (the host page and redial fill it too).
    pub dial_input: RwSignal<String>,
    /// A note under the dial box.
    pub dial_notice: RwSignal<Option<DialNotice>>,
    /// The softphone's state (`ON_SITE`): run by the leader tab, shared
    /// with followers ([`crate::softphone`]).
    pub phone: RwSignal<PhoneStatus>,
    /// The last transfer the proxy accepted from this tab, with the call's
    /// job id and a sequence number (the `ccc:transfer` event of a blind
    /// transfer; a consult shows in the snapshot).
    pub last_transfer: RwSignal<Option<(u32, Option<String>, TransferRequest)>>,
    /// The name of the last target picked in the transfer panel, for the
    /// consult card when the snapshot's consult leg has none.
    pub target_name: RwSignal<Option<(ccc_model::api::TransferTarget, String)>>,
    /// Set by [`crate::softphone::use_softphone`]: takes a command that the
    /// softphone carries out itself (Answer while its INVITE rings) and
    /// returns true; Mute/Unmute also mute the microphone track, then go on.
    pub(crate) softphone: StoredValue<Option<Intercept>, LocalStorage>,
    device_id: StoredValue<String>,
    pub(crate) api: StoredValue<Rc<dyn AgentApi>, LocalStorage>,
    pub(crate) wake: StoredValue<Rc<Notify>, LocalStorage>,
    pub(crate) config: StoredValue<SyncConfig>,
}

impl Toolbar {
    /// A toolbar talking to `api`.
    pub fn new(api: Rc<dyn AgentApi>, config: SyncConfig, lang: Lang) -> Self {
        let recent = crate::browser::load(RECENT_BREAKS_KEY)
            .map(|s| breaks::parse_recent(&s))
            .unwrap_or_default();
        Toolbar {
            snapshot: RwSignal::new(None),
            session: RwSignal::new(None),
            health: RwSignal::new(SyncHealth::default()),
            offset: RwSignal::new(0.0),
            now: RwSignal::new(now_ms()),
            leader: RwSignal::new(true),
            pending: RwSignal::new(Pending::default()),
            error: RwSignal::new(None),
            lang: RwSignal::new(lang),
            recent_breaks: RwSignal::new(recent),
            truth: Store::new(Truth::default()),
            status_menu_open: RwSignal::new(false),
            settings_open: RwSignal::new(false),
            next_pending: RwSignal::new(false),
            dial_input: RwSignal::new(String::new()),
            dial_notice: RwSignal::new(None),
            phone: RwSignal::new(PhoneStatus::default()),
            last_transfer: RwSignal::new(None),
            target_name: RwSignal::new(None),
            softphone: StoredValue::new_local(None),
            device_id: StoredValue::new(api.device_id()),
            api: StoredValue::new_local(api),
            wake: StoredValue::new_local(Rc::new(Notify::default())),
            config: StoredValue::new(config),
        }
    }

    /// A label in the toolbar's language, following language switches: one
    /// signal type for every static label, attribute or text.
    pub fn text(&self, en: &'static str, zh: &'static str) -> Signal<&'static str> {
        let lang = self.lang;
        Signal::derive(move || tr(lang.get(), en, zh))
    }

    /// Words from [`crate::i18n`] in the toolbar's language.
    pub fn t(&self, words: Words) -> Signal<&'static str> {
        self.text(words.0, words.1)
    }

    /// Patches [`Toolbar::truth`] from `snapshot` and `session` now and
    /// whenever either changes (whoever set it: an answer, the sync loop or
    /// the leader tab), for as long as the current owner lives.
    pub fn patch_truth(&self) {
        let (snapshot, session, truth) = (self.snapshot, self.session, self.truth);
        leptos::reactive::effect::ImmediateEffect::new_scoped(move || {
            let t = snapshot.with(|snap| session.with(|s| Truth::new(snap.as_ref(), s.as_ref())));
            truth.patch(t);
        });
    }

    /// A break code by its display name (session names, system codes,
    /// else the code), in the toolbar's language.
    pub fn break_name(&self, code: &str) -> String {
        let lang = self.lang.get();
        self.truth
            .break_reasons()
            .with(|r| break_name(code, &r.0, lang))
    }

    /// Asks the proxy to put the agent in `next` when the call is over
    /// (`None` cancels). The picker shows the server's answer
    /// (`snapshot.next_state`); on failure it stays as it was and the error
    /// is explained. Ignored (false) while another change is in flight.
    pub fn set_next_state(&self, next: Option<NextState>) -> bool {
        if self.next_pending.get_untracked() {
            return false;
        }
        self.next_pending.set(true);
        self.error.set(None);
        let this = *self;
        let api = self.api.get_value();
        spawn_local(async move {
            match api.next_state(next).await {
                Ok(snap) => this.apply(snap, now_ms()),
                Err(f) => this.show(None, Problem::NextState(f)),
            }
            this.next_pending.set(false);
        });
        true
    }

    /// This browser's device id.
    pub fn device_id(&self) -> String {
        self.device_id.get_value()
    }

    /// The connection indicator's state.
    pub fn connection(&self) -> ConnectionState {
        self.health.with(SyncHealth::state)
    }

    /// Applies a server snapshot received at local time `received_ms`, unless
    /// it is older than the one shown.
    pub fn apply(&self, snap: AgentSnapshot, received_ms: f64) {
        self.offset.set(skew_offset(snap.server_time, received_ms));
        // The clock ticks once a second: bring it up to this answer, so the
        // first time in state shown after a load is not up to a second old.
        if received_ms > self.now.get_untracked() {
            self.now.set(received_ms);
        }
        let older = self
            .snapshot
            .with_untracked(|s| s.as_ref().is_some_and(|s| s.context_id > snap.context_id));
        if older {
            return;
        }
        if self.snapshot.with_untracked(|s| s.as_ref() != Some(&snap)) {
            self.snapshot.set(Some(snap));
        }
    }

    /// The device that took the agent over, if any.
    pub fn other_device(&self) -> Option<String> {
        let ours = self.device_id();
        self.snapshot.with(|s| {
            s.as_ref()
                .and_then(|s| takeover::other_device(s, &ours))
                .map(str::to_owned)
        })
    }

    /// Why `kind` cannot be sent now (`None`: it can).
    pub fn why_not(&self, kind: CommandKind) -> Option<String> {
        let pending = self.pending.with(Pending::current);
        let other_device = self.other_device().is_some();
        let lang = self.lang.get();
        self.snapshot.with(|s| {
            why_not(
                kind,
                ControlContext {
                    state: s.as_ref().map(|s| &s.agent.state),
                    pending,
                    other_device,
                },
            )
            .map(|why| why_not_text(&why, lang))
        })
    }

    /// Time in the current state (ms), skew-corrected; `None` without a heartbeat.
    pub fn time_in_state(&self) -> Option<i64> {
        let hb = self.snapshot.with(|s| s.as_ref()?.agent.heartbeat)?;
        Some(elapsed_since(hb, self.now.get(), self.offset.get()))
    }

    fn show(&self, command: Option<CommandKind>, problem: Problem) {
        let seq = self
            .error
            .with_untracked(|e| e.as_ref().map_or(1, |e| e.seq + 1));
        self.error.set(Some(ShownError {
            command,
            problem,
            seq,
        }));
    }

    /// Sends `cmd` unless another command is in flight (then it is ignored and
    /// `false` returned). The control shows pending until the proxy answers;
    /// then the server's snapshot is shown, or, on failure, the previous state
    /// stays and the error is explained.
    pub fn run(&self, cmd: Command) -> bool {
        if self
            .softphone
            .with_value(|s| s.as_ref().is_some_and(|s| s(&cmd)))
        {
            return true;
        }
        let kind = cmd.kind();
        let mut started = false;
        self.pending.update(|p| started = p.try_start(kind));
        if !started {
            return false;
        }
        self.error.set(None);
        let this = *self;
        let api = self.api.get_value();
        spawn_local(async move {
            let result = api.command(cmd.clone()).await;
            match result {
                Ok(snap) => {
                    let muted = snap.muted;
                    if let Command::Transfer(t) = &cmd {
                        let job = this.snapshot.with_untracked(|s| {
                            s.as_ref()?.call.as_ref().map(|c| c.job_id.clone())
                        });
                        let seq = this
                            .last_transfer
                            .with_untracked(|l| l.as_ref().map_or(1, |l| l.0 + 1));
                        this.last_transfer.set(Some((seq, job, t.clone())));
                    }
                    this.apply(snap, now_ms());
                    match &cmd {
                        Command::Break { code } => this.remember_break(code),
                        Command::Mute | Command::Unmute => {
                            let wanted = matches!(cmd, Command::Mute);
                            if muted != wanted {
                                this.show(Some(kind), Problem::MuteMismatch { wanted });
                            }
                        }
                        _ => {}
                    }
                }
                Err(f) => this.show(Some(kind), Problem::Failed(f)),
            }
            this.pending.update(Pending::finish);
        });
        true
    }

    /// Dials `number` for the host page (`handle.dial`, a `tel:` link, an
    /// iframe message) or a redial: at once when dialling is possible now;
    /// otherwise (in a call, offline, a command in flight) the number waits
    /// in the dial box with a note saying why. True when dialled.
    pub fn dial_or_keep(&self, number: DialNumber, caller_id: Option<String>) -> bool {
        self.dial_input.set(number.as_str().to_owned());
        if untrack(|| self.why_not(CommandKind::Dial)).is_some() {
            self.dial_notice.set(Some(DialNotice::Kept {
                number: number.as_str().to_owned(),
            }));
            return false;
        }
        self.dial_notice.set(None);
        self.run(Command::Dial { number, caller_id })
    }

    fn remember_break(&self, code: &str) {
        self.recent_breaks.update(|r| breaks::remember(r, code));
        let joined = self.recent_breaks.with_untracked(|r| r.join("\n"));
        crate::browser::store(RECENT_BREAKS_KEY, &joined);
    }

    /// Syncs now: ends a sleeping backoff or a long-poll and fetches a fresh snapshot.
    pub fn resync(&self) {
        self.wake.with_value(|w| w.notify());
    }

    /// A sync brought `snap` at local time `now`: show it, mark the
    /// connection healthy, clear a sync error.
    pub fn sync_succeeded(&self, snap: AgentSnapshot, now: f64) {
        self.apply(snap, now);
        self.health.update(|h| h.success(now));
        if self.error.with_untracked(|e| {
            e.as_ref()
                .is_some_and(|e| e.command.is_none() && matches!(e.problem, Problem::Failed(_)))
        }) {
            self.error.set(None);
        }
    }

    /// A sync failed: the connection degrades; a lost identity is explained.
    pub fn sync_failed(&self, f: Failure) {
        self.health.update(SyncHealth::failure);
        if f.is_unauthenticated() {
            self.show(None, Problem::Failed(f));
        }
    }

    /// Sets whether the browser says it is offline.
    pub fn set_browser_offline(&self, offline: bool) {
        self.health.update(|h| h.browser_offline = offline);
    }
}
