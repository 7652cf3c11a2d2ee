//! A scripted stand-in for the proxy, for the browser tests: a tiny agent
//! state machine (refusing with CCC's own `InvalidOperation.UserState` from
//! `AgentAction::check`), call counters and controllable failures. Dialling
//! goes to DIALING with an OUTBOUND call to the number; [`FakeApi::answer`]
//! is the customer picking up; hold sets `HOLD` on the customer's leg.

use std::{
    cell::{Cell, RefCell},
    collections::VecDeque,
    rc::Rc,
};

use ccc_model::{
    api::{
        AgentSnapshot, ApiError, Call, Channel, ConsultLeg, ConsultPhase, Directory,
        DirectoryEntry, NextState, Session, TransferKind,
    },
    break_codes, CallType, ChannelFlag, ChannelState, UserState, WorkMode,
};

use crate::{
    api::{AgentApi, LocalFuture},
    browser::{now_ms, Notify},
    logic::{Command, Failure},
};

/// The fake proxy. Share it as `Rc<FakeApi>` (it implements [`AgentApi`] through `Rc`).
#[derive(Debug, Default)]
pub struct FakeApi {
    /// The server's current snapshot.
    pub server: RefCell<AgentSnapshot>,
    /// What `session()` answers.
    pub session: RefCell<Session>,
    /// Failures the next `agent()` calls answer with, in order.
    pub agent_failures: RefCell<VecDeque<Failure>>,
    /// A failure the next command answers with (instead of running it).
    pub command_failure: RefCell<Option<Failure>>,
    /// While true, commands wait for [`FakeApi::release`].
    pub hold_commands: Cell<bool>,
    /// Local times of every `agent()` call, and its `since`.
    pub agent_calls: RefCell<Vec<(f64, Option<i64>)>>,
    /// Every command received.
    pub commands: RefCell<Vec<Command>>,
    /// Every next state asked for (`PUT /api/v1/agent/next-state`).
    pub next_states: RefCell<Vec<Option<NextState>>>,
    /// What `directory()` searches (by name, id or extension).
    pub directory: RefCell<Vec<DirectoryEntry>>,
    /// Every directory query, in order.
    pub directory_queries: RefCell<Vec<String>>,
    /// `session()` calls.
    pub session_calls: Cell<u32>,
    /// The fake server's clock minus this browser's (ms).
    pub skew_ms: Cell<f64>,
    /// The base path toolbars on this fake elect their leader tab under
    /// (tests of several "tabs" in one page give each test its own).
    pub base_path: RefCell<String>,
    changed: Notify,
    released: Notify,
    device: String,
}

impl FakeApi {
    /// The fake server's clock (epoch ms).
    pub fn server_now(&self) -> i64 {
        (now_ms() + self.skew_ms.get()) as i64
    }

    /// An agent OFFLINE at context 1, with four break codes and all work modes.
    pub fn new() -> Rc<Self> {
        let api = FakeApi {
            device: "web-test-device".into(),
            ..Default::default()
        };
        *api.session.borrow_mut() = Session {
            user_id: "agent1@ccc-demo".into(),
            display_name: "Ada Li".into(),
            extension: Some("80010001".into()),
            instance_id: "ccc-demo".into(),
            break_codes: ["default", "lunch", "meeting", "training"]
                .map(String::from)
                .to_vec(),
            work_modes: WorkMode::ALL.to_vec(),
            caller_ids: Vec::new(),
            ..Session::default()
        };
        {
            let mut s = api.server.borrow_mut();
            s.context_id = 1;
            s.agent.extension = Some("80010001".into());
            s.agent.work_mode = Some(WorkMode::OnSite);
            s.agent.heartbeat = Some(now_ms() as i64);
            s.server_time = now_ms() as i64;
        }
        Rc::new(api)
    }

    /// This fake's device id.
    pub fn our_device(&self) -> &str {
        &self.device
    }

    /// Changes the server's snapshot (bumping `contextId`) and answers long-polls.
    pub fn update(&self, f: impl FnOnce(&mut AgentSnapshot)) {
        {
            let mut s = self.server.borrow_mut();
            f(&mut s);
            s.context_id += 1;
        }
        self.changed.notify();
    }

    /// The customer answers the outbound call: TALKING.
    pub fn answer(&self) {
        let now = self.server_now();
        self.update(|s| {
            s.agent.state = UserState::Talking;
            s.agent.heartbeat = Some(now);
            if let Some(c) = s.call.as_mut() {
                for ch in &mut c.channels {
                    ch.state = ChannelState::Answered;
                }
            }
        });
    }

    /// The consulted party answers: the consult leg is talking.
    pub fn consult_answers(&self) {
        self.update(|s| {
            if let Some(c) = s.consult.as_mut() {
                c.phase = ConsultPhase::Talking;
            }
        });
    }

    /// Lets held commands through.
    pub fn release(&self) {
        self.hold_commands.set(false);
        self.released.notify();
    }

    fn apply(&self, cmd: &Command) -> Result<(), Failure> {
        let state = self.server.borrow().agent.state.clone();
        if let Err(r) = cmd.kind().action().check(&state) {
            return Err(Failure::Api {
                status: 400,
                error: ApiError::from(&r.to_ccc_error()),
            });
        }
        let now = self.server_now();
        let device = self.device.clone();
        let user_id = self.session.borrow().user_id.clone();
        self.update(|s| {
            let a = &mut s.agent;
            let enter = |a: &mut ccc_model::api::Agent, st: UserState, code: Option<&str>| {
                a.state = st;
                a.break_code = code.map(str::to_owned);
                a.heartbeat = Some(now);
            };
            match cmd {
                Command::SignIn => {
                    a.device_id = Some(device);
                    enter(a, UserState::Break, Some(break_codes::WARM_UP));
                }
                Command::SignOut | Command::Reset => {
                    a.device_id = None;
                    s.call = None;
                    s.muted = false;
                    enter(a, UserState::Offline, None);
                }
                Command::Ready { outbound_only } => {
                    a.outbound_scenario = *outbound_only;
                    enter(a, UserState::Ready, None);
                }
                Command::Break { code } => enter(a, UserState::Break, Some(code)),
                Command::WorkMode { mode, mobile } => {
                    a.work_mode = Some(mode.clone());
                    if mobile.is_some() {
                        a.mobile = mobile.clone();
                    }
                }
                Command::Dial { number, caller_id } => {
                    enter(a, UserState::Dialing, None);
                    let job = ["job-out-", itoa::Buffer::new().format(s.context_id)].concat();
                    a.job_id = Some(job.clone());
                    s.call = Some(Call {
                        job_id: job,
                        call_type: Some(CallType::Outbound),
                        channels: vec![
                            Channel {
                                channel_id: "ch-customer".into(),
                                state: ChannelState::Ringing,
                                originator: caller_id.clone().or_else(|| a.extension.clone()),
                                destination: Some(number.as_str().to_owned()),
                                timestamp: Some(now),
                                ..Default::default()
                            },
                            Channel {
                                channel_id: "ch-agent".into(),
                                state: ChannelState::Answered,
                                user_id: Some(user_id),
                                timestamp: Some(now),
                                ..Default::default()
                            },
                        ],
                    });
                }
                Command::Hold | Command::Retrieve => {
                    let hold = matches!(cmd, Command::Hold);
                    s.held = hold;
                    if let Some(ch) = s.call.as_mut().and_then(|c| c.channels.first_mut()) {
                        ch.flags.retain(|f| *f != ChannelFlag::Hold);
                        if hold {
                            ch.flags.push(ChannelFlag::Hold);
                        }
                        ch.timestamp = Some(now);
                    }
                }
                Command::Transfer(t) => match t.kind {
                    // The call is the target's; the agent in after-call work.
                    TransferKind::Blind => {
                        s.call = None;
                        s.muted = false;
                        s.held = false;
                        enter(a, UserState::Working, None);
                    }
                    TransferKind::Consult => {
                        let name = self
                            .directory
                            .borrow()
                            .iter()
                            .find(|e| e.target == t.target)
                            .map(|e| e.name.clone());
                        s.consult = Some(ConsultLeg {
                            target: t.target.clone(),
                            name,
                            phase: ConsultPhase::Ringing,
                        });
                        s.held = true;
                    }
                },
                Command::CancelTransfer => {
                    s.consult = None;
                    s.held = false;
                }
                Command::Conference => {
                    s.conference = true;
                    s.held = false;
                }
                Command::CompleteTransfer | Command::LeaveConference => {
                    s.call = None;
                    s.consult = None;
                    s.conference = false;
                    s.muted = false;
                    s.held = false;
                    enter(a, UserState::Working, None);
                }
                Command::Dtmf(_) => {}
                Command::Mute => s.muted = true,
                Command::Unmute => s.muted = false,
                Command::Answer => enter(a, UserState::Talking, None),
                Command::Hangup => {
                    s.call = None;
                    s.consult = None;
                    s.conference = false;
                    s.muted = false;
                    s.held = false;
                    if a.state == UserState::Ringing {
                        enter(a, UserState::Break, Some(break_codes::REJECT_CALL));
                    } else {
                        enter(a, UserState::Working, None);
                        // The proxy applies the next state the moment the
                        // call is over.
                        match s.next_state.take() {
                            Some(NextState::Ready) => enter(a, UserState::Ready, None),
                            Some(NextState::OutboundOnly) => {
                                a.outbound_scenario = true;
                                enter(a, UserState::Ready, None);
                            }
                            Some(NextState::Break { code }) => {
                                enter(a, UserState::Break, Some(&code))
                            }
                            Some(NextState::Offline) => {
                                a.device_id = None;
                                enter(a, UserState::Offline, None);
                            }
                            None => {}
                        }
                    }
                }
            }
        });
        Ok(())
    }
}

impl AgentApi for Rc<FakeApi> {
    fn session(&self) -> LocalFuture<'_, Result<Session, Failure>> {
        self.session_calls.set(self.session_calls.get() + 1);
        let s = self.session.borrow().clone();
        Box::pin(async move { Ok(s) })
    }

    fn agent(
        &self,
        since: Option<i64>,
        _wait_secs: u32,
    ) -> LocalFuture<'_, Result<AgentSnapshot, Failure>> {
        self.agent_calls.borrow_mut().push((now_ms(), since));
        let failure = self.agent_failures.borrow_mut().pop_front();
        Box::pin(async move {
            if let Some(f) = failure {
                return Err(f);
            }
            while since.is_some() && since == Some(self.server.borrow().context_id) {
                self.changed.notified().await;
            }
            let mut s = self.server.borrow().clone();
            s.server_time = self.server_now();
            Ok(s)
        })
    }

    fn command(&self, cmd: Command) -> LocalFuture<'_, Result<AgentSnapshot, Failure>> {
        self.commands.borrow_mut().push(cmd.clone());
        Box::pin(async move {
            while self.hold_commands.get() {
                self.released.notified().await;
            }
            if let Some(f) = self.command_failure.borrow_mut().take() {
                return Err(f);
            }
            self.apply(&cmd)?;
            let mut s = self.server.borrow().clone();
            s.server_time = self.server_now();
            Ok(s)
        })
    }

    fn next_state(
        &self,
        next: Option<NextState>,
    ) -> LocalFuture<'_, Result<AgentSnapshot, Failure>> {
        self.next_states.borrow_mut().push(next.clone());
        Box::pin(async move {
            while self.hold_commands.get() {
                self.released.notified().await;
            }
            if let Some(f) = self.command_failure.borrow_mut().take() {
                return Err(f);
            }
            self.update(|s| s.next_state = next);
            let mut s = self.server.borrow().clone();
            s.server_time = self.server_now();
            Ok(s)
        })
    }

    fn directory(&self, query: &str) -> LocalFuture<'_, Result<Directory, Failure>> {
        self.directory_queries.borrow_mut().push(query.to_owned());
        let q = query.to_lowercase();
        let entries = self
            .directory
            .borrow()
            .iter()
            .filter(|e| {
                q.is_empty()
                    || e.name.to_lowercase().contains(&q)
                    || e.target.id.to_lowercase().contains(&q)
                    || e.extension.as_deref().is_some_and(|x| x.contains(&q))
            })
            .cloned()
            .collect();
        Box::pin(async move { Ok(Directory { entries }) })
    }

    fn device_id(&self) -> String {
        self.device.clone()
    }

    fn base_path(&self) -> String {
        self.base_path.borrow().clone()
    }
}
