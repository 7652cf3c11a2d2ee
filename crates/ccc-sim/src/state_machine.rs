//! The agent state machine of ccc-api.md §2, as plain Rust.
//!
//! Every transition takes the current time (epoch ms) as a parameter, so the
//! tests are deterministic and need no clock. Refusals use
//! [`AgentAction::check`] (the table shared with the widget) and every error
//! is a [`CccError`] built from the documented [`ErrorCode`]s.

use ccc_model::{
    break_codes, AgentAction, CallContext, CallType, CccError, ChannelContext, ChannelFlag,
    ChannelState, ErrorCode, UserContext, UserState, WorkMode,
};

/// Who ended a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangupBy {
    /// The customer hung up.
    Customer,
    /// The agent hung up (ReleaseCall, or the admin API on its behalf).
    Agent,
}

/// What a hang-up did to the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangupOutcome {
    /// The call had been answered: the agent is in WORKING (after-call work)
    /// and goes READY when the after-call time is over.
    AfterCall,
    /// The customer gave up while it was ringing: the agent is READY again.
    Abandoned,
    /// The agent rejected the ringing call: BREAK / `RejectCall`.
    Rejected,
    /// An outbound attempt ended before the customer answered (cancelled,
    /// declined, or not answered in time): the agent is back in the state
    /// it dialled from (inference), WORKING included.
    NotConnected,
}

/// What the simulated customer does when dialled, by the number's ending
/// (documented in docs/simulator.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialOutcome {
    /// Answers after the dial-answer delay.
    Answers,
    /// Ends in `0000`: MakeCall answers `UserBusy` and nothing changes.
    Busy,
    /// Ends in `9999`: never answers; the attempt is released after
    /// `TimeoutSeconds` (or the configured default).
    NoAnswer,
}

impl DialOutcome {
    /// The outcome of dialling `callee`.
    pub fn of(callee: &str) -> Self {
        if callee.ends_with("0000") {
            DialOutcome::Busy
        } else if callee.ends_with("9999") {
            DialOutcome::NoAnswer
        } else {
            DialOutcome::Answers
        }
    }
}

/// A call the agent is part of. The customer channel is index 0, the
/// agent's channel index 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The call's `JobId` (`job-<digits>`).
    pub job_id: String,
    /// The CallContext as PollUserStatus shows it.
    pub context: CallContext,
    /// For an outbound call: the state (and break code) the agent dialled
    /// from, where it returns if the customer never answers.
    pub dialled_from: Option<(UserState, Option<String>)>,
    /// The agent whose view of the call this is (its own leg carries this
    /// `UserId`; a consult puts other agents' legs in the same call).
    pub owner: String,
    /// Issue 18: how the agent came to this call, the `scenario` of its
    /// agent events (`BLIND_TRANSFER`, `CONSULTED`, ...); `None`: the call
    /// type.
    pub scenario: Option<String>,
    /// Issue 18: the consult or conference this call is part of.
    pub link: Option<Link>,
}

/// Issue 18: the other party of a consult or a conference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// An agent, by `UserId`.
    Agent(String),
    /// An external number.
    Number(String),
}

/// Issue 18: a consult (attended transfer) or the conference it became, as
/// one agent's call holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// True on the transferor's call, false on the consulted agent's.
    pub initiator: bool,
    /// The other party.
    pub peer: Peer,
    /// The consulted party's leg (its `ChannelId`).
    pub peer_channel: String,
    /// The skill group the consult was routed through.
    pub skill_group: Option<String>,
    /// Switched to a three-party conference.
    pub conference: bool,
    /// The call type before the consult, restored when it ends.
    pub base_type: CallType,
}

impl Call {
    /// An inbound call from `caller` ringing the agent.
    pub fn inbound(agent: &Agent, job_id: &str, caller: &str, now: i64) -> Self {
        let ext = &agent.extension;
        let customer = ChannelContext {
            index: 0,
            channel_id: format!("ch:customer:{caller}->{ext}:{now}:{job_id}"),
            channel_state: ChannelState::Answered,
            call_type: Some(CallType::Inbound),
            originator: Some(caller.to_owned()),
            destination: Some(ext.clone()),
            job_id: Some(job_id.to_owned()),
            timestamp: Some(now),
            ..ChannelContext::default()
        };
        let user = ChannelContext {
            index: 1,
            channel_id: format!("ch:user:{caller}->{ext}:{now}:{job_id}"),
            channel_state: ChannelState::Ringing,
            call_type: Some(CallType::Inbound),
            originator: Some(caller.to_owned()),
            destination: Some(ext.clone()),
            user_id: Some(agent.user_id.clone()),
            user_extension: Some(ext.clone()),
            job_id: Some(job_id.to_owned()),
            timestamp: Some(now),
            ..ChannelContext::default()
        };
        Call {
            job_id: job_id.to_owned(),
            context: CallContext {
                instance_id: agent.instance_id.clone(),
                job_id: job_id.to_owned(),
                call_type: Some(CallType::Inbound),
                channel_contexts: vec![customer, user],
                call_variables: None,
            },
            dialled_from: None,
            owner: agent.user_id.clone(),
            scenario: None,
            link: None,
        }
    }

    /// An outbound call from the agent to `callee`, presenting `caller`
    /// (CCC's default, here the agent's extension, when `None`). The agent's
    /// leg is created first (index 0); both legs start in `NONE`, as
    /// MakeCall's documented answer shows.
    pub fn outbound(
        agent: &Agent,
        job_id: &str,
        callee: &str,
        caller: Option<&str>,
        now: i64,
    ) -> Self {
        let ext = &agent.extension;
        let leg = |index, channel_id: String, originator: &str, user: bool| ChannelContext {
            index,
            channel_id,
            channel_state: ChannelState::None,
            call_type: Some(CallType::Outbound),
            originator: Some(originator.to_owned()),
            destination: Some(callee.to_owned()),
            user_id: user.then(|| agent.user_id.clone()),
            user_extension: user.then(|| ext.clone()),
            job_id: Some(job_id.to_owned()),
            timestamp: Some(now),
            ..ChannelContext::default()
        };
        let shown = caller.unwrap_or(ext);
        Call {
            job_id: job_id.to_owned(),
            context: CallContext {
                instance_id: agent.instance_id.clone(),
                job_id: job_id.to_owned(),
                call_type: Some(CallType::Outbound),
                channel_contexts: vec![
                    leg(
                        0,
                        format!("ch:user:{ext}->{callee}:{now}:{job_id}"),
                        ext,
                        true,
                    ),
                    leg(
                        1,
                        format!("ch:customer:{shown}->{callee}:{now}:{job_id}"),
                        shown,
                        false,
                    ),
                ],
                call_variables: None,
            },
            dialled_from: Some((agent.state.clone(), agent.break_code.clone())),
            owner: agent.user_id.clone(),
            scenario: None,
            link: None,
        }
    }

    /// The customer's number: who called (inbound) or who is called
    /// (outbound).
    pub fn counter_party(&self) -> Option<&str> {
        let customer = self.context.customer_channel()?;
        let base = self.link.as_ref().map(|l| &l.base_type);
        match base.or(self.context.call_type.as_ref()) {
            Some(CallType::Outbound) => customer.destination.as_deref(),
            _ => customer.originator.as_deref(),
        }
    }

    /// The agent's own channel (the one with its `UserId`).
    pub fn agent_channel_mut(&mut self) -> &mut ChannelContext {
        let owner = self.owner.as_str();
        let i = self
            .context
            .channel_contexts
            .iter()
            .position(|c| c.user_id.as_deref() == Some(owner))
            .unwrap_or(0);
        &mut self.context.channel_contexts[i]
    }

    /// The agent's own channel.
    pub fn agent_channel(&self) -> Option<&ChannelContext> {
        self.context.channel_of(&self.owner)
    }

    /// Marks every channel RELEASED by `by` at `now`.
    pub fn release_all(&mut self, by: HangupBy, now: i64) {
        for ch in &mut self.context.channel_contexts {
            ch.channel_state = ChannelState::Released;
            ch.timestamp = Some(now);
            ch.release_initiator = Some(match by {
                HangupBy::Customer => "customer".to_owned(),
                HangupBy::Agent => "agent".to_owned(),
            });
            ch.release_reason = Some("200 - Okay".to_owned());
        }
    }
}

/// One agent: identity from configuration plus its live state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// `name@instance`.
    pub user_id: String,
    /// The instance.
    pub instance_id: String,
    /// Display name (GetLoginDetails).
    pub display_name: String,
    /// 8-digit extension.
    pub extension: String,
    /// Personal phone for OFF_SITE.
    pub mobile: Option<String>,
    /// Current state.
    pub state: UserState,
    /// Break code while in BREAK (and `Warm-up` after a reset).
    pub break_code: Option<String>,
    /// Work mode (ON_SITE by default).
    pub work_mode: WorkMode,
    /// The one active device, if signed in.
    pub device_id: Option<String>,
    /// Last operation time (epoch ms).
    pub heartbeat: i64,
    /// When the current call was routed to the agent (epoch ms).
    pub reserved: Option<i64>,
    /// Outbound-only mode (ReadyForService `OutboundScenario`).
    pub outbound_scenario: bool,
    /// Signed-in skill groups.
    pub skill_groups: Vec<String>,
    /// The current call (RINGING or TALKING).
    pub call: Option<Call>,
    /// The call whose after-call work (WORKING) is running, for the timer.
    pub after_call_of: Option<String>,
    /// Increases on every change of this agent (PollUserStatus `ContextId`).
    pub context_id: i64,
    /// When the agent entered its state (or break code), epoch ms.
    pub state_time: i64,
}

const WORK_MODES: &str = "ON_SITE,OFF_SITE,OFFICE_PHONE";

fn blank(v: Option<&str>) -> bool {
    v.is_none_or(|s| s.trim().is_empty())
}

pub(crate) fn refuse(action: AgentAction, state: &UserState) -> Result<(), CccError> {
    action.check(state).map_err(|r| r.to_ccc_error())
}

impl Agent {
    /// A new agent, OFFLINE, created at `now`.
    pub fn new(
        user_id: impl Into<String>,
        instance_id: impl Into<String>,
        display_name: impl Into<String>,
        extension: impl Into<String>,
        now: i64,
    ) -> Self {
        Agent {
            user_id: user_id.into(),
            instance_id: instance_id.into(),
            display_name: display_name.into(),
            extension: extension.into(),
            mobile: None,
            state: UserState::Offline,
            break_code: None,
            work_mode: WorkMode::OnSite,
            device_id: None,
            heartbeat: now,
            reserved: None,
            outbound_scenario: false,
            skill_groups: Vec::new(),
            call: None,
            after_call_of: None,
            context_id: 0,
            state_time: now,
        }
    }

    /// Records an operation: new `Heartbeat`, next `ContextId`.
    pub(crate) fn touch(&mut self, now: i64) {
        self.heartbeat = now;
        self.context_id += 1;
    }

    fn enter(&mut self, state: UserState, break_code: Option<&str>, now: i64) {
        if self.state != state || self.break_code.as_deref() != break_code {
            self.state_time = now;
        }
        self.state = state;
        self.break_code = break_code.map(str::to_owned);
        self.after_call_of = None;
        self.touch(now);
    }

    /// The UserContext as CCC returns it.
    pub fn user_context(&self) -> UserContext {
        UserContext {
            user_id: self.user_id.clone(),
            instance_id: self.instance_id.clone(),
            user_state: self.state.clone(),
            break_code: self.break_code.clone(),
            work_mode: Some(self.work_mode.clone()),
            device_id: self.device_id.clone(),
            extension: Some(self.extension.clone()),
            heartbeat: Some(self.heartbeat),
            reserved: self.reserved,
            job_id: self.call.as_ref().map(|c| c.job_id.clone()),
            mobile: self.mobile.clone(),
            outbound_scenario: self.outbound_scenario,
            signed_skill_group_id_list: self.skill_groups.clone(),
        }
    }

    /// The current CallContext, if in a call.
    pub fn call_context(&self) -> Option<CallContext> {
        self.call.as_ref().map(|c| c.context.clone())
    }

    /// SignInGroup. From OFFLINE, or from another device (takeover): BREAK /
    /// `Warm-up` with the new device. From the same device while already
    /// online: the state is kept (only skill groups are updated).
    /// Returns the previous device when this was a takeover.
    pub fn sign_in(
        &mut self,
        device_id: Option<&str>,
        skill_groups: Option<Vec<String>>,
        now: i64,
    ) -> Result<Option<String>, CccError> {
        let Some(device) = device_id.filter(|d| !d.trim().is_empty()) else {
            return Err(ErrorCode::MissingParameter.with_params(["DeviceId"]));
        };
        refuse(AgentAction::SignIn, &self.state)?;
        if let Some(groups) = skill_groups {
            self.skill_groups = groups;
        }
        let previous = self.device_id.clone();
        let same_device = previous.as_deref() == Some(device);
        if self.state == UserState::Offline || !same_device {
            self.device_id = Some(device.to_owned());
            self.enter(UserState::Break, Some(break_codes::WARM_UP), now);
        } else {
            self.touch(now);
        }
        let takeover = self.state != UserState::Offline && !same_device;
        Ok(previous.filter(|_| takeover))
    }

    /// SignOutGroup: OFFLINE, no device.
    pub fn sign_out(&mut self, now: i64) -> Result<(), CccError> {
        refuse(AgentAction::SignOut, &self.state)?;
        self.device_id = None;
        self.enter(UserState::Offline, None, now);
        Ok(())
    }

    /// ReadyForService: READY, only from BREAK, READY, WORKING.
    pub fn ready(&mut self, outbound_scenario: bool, now: i64) -> Result<(), CccError> {
        refuse(AgentAction::Ready, &self.state)?;
        if let Some(ch) = self.call.as_ref().and_then(Call::agent_channel) {
            // A leftover live channel blocks going READY (inference).
            if !matches!(
                ch.channel_state,
                ChannelState::Released | ChannelState::Retired
            ) {
                return Err(ErrorCode::ChannelState
                    .with_params([ch.channel_state.as_str(), "RELEASED,RETIRED"]));
            }
        }
        self.call = None;
        self.reserved = None;
        self.outbound_scenario = outbound_scenario;
        self.enter(UserState::Ready, None, now);
        Ok(())
    }

    /// TakeBreak with a free-form code (blank: `Parameter.Blank`).
    pub fn take_break(&mut self, code: Option<&str>, now: i64) -> Result<(), CccError> {
        if blank(code) {
            return Err(ErrorCode::ParameterBlank.with_params(["Code"]));
        }
        refuse(AgentAction::Break, &self.state)?;
        self.enter(UserState::Break, code.map(str::trim), now);
        Ok(())
    }

    /// ChangeWorkMode: validates the enumeration; OFF_SITE needs a mobile
    /// number (given now or configured). Not allowed during a call.
    pub fn change_work_mode(
        &mut self,
        work_mode: Option<&str>,
        mobile: Option<&str>,
        skill_groups: Option<Vec<String>>,
        now: i64,
    ) -> Result<(), CccError> {
        if blank(work_mode) {
            return Err(ErrorCode::ParameterBlank.with_params(["WorkMode"]));
        }
        let mode = WorkMode::parse(work_mode.unwrap_or_default().trim());
        if !mode.is_known() {
            return Err(ErrorCode::ParameterEnumeration.with_params(["WorkMode", WORK_MODES]));
        }
        refuse(AgentAction::ChangeWorkMode, &self.state)?;
        let mobile = mobile.filter(|m| !m.trim().is_empty());
        if mode == WorkMode::OffSite && mobile.is_none() && self.mobile.is_none() {
            return Err(ErrorCode::ParameterBlank.with_params(["Mobile"]));
        }
        if let Some(m) = mobile {
            self.mobile = Some(m.trim().to_owned());
        }
        if let Some(groups) = skill_groups {
            self.skill_groups = groups;
        }
        self.work_mode = mode;
        self.touch(now);
        Ok(())
    }

    /// ResetAgentState: from any state to OFFLINE / `Warm-up`; a call is dropped.
    pub fn reset(&mut self, now: i64) {
        self.call = None;
        self.reserved = None;
        self.device_id = None;
        self.enter(UserState::Offline, Some(break_codes::WARM_UP), now);
    }

    /// An inbound call rings the agent (only when READY).
    pub fn ring(&mut self, job_id: &str, caller: &str, now: i64) -> Result<(), CccError> {
        if self.state != UserState::Ready {
            return Err(ErrorCode::UserState.with_params([self.state.as_str(), "READY"]));
        }
        self.call = Some(Call::inbound(self, job_id, caller, now));
        self.reserved = Some(now);
        self.enter(UserState::Ringing, None, now);
        Ok(())
    }

    /// Issue 18: a transferred or consult call rings the agent (only when
    /// READY); `call` is the agent's view of it, built by the transfer.
    pub fn ring_with(&mut self, call: Call, now: i64) -> Result<(), CccError> {
        if self.state != UserState::Ready {
            return Err(ErrorCode::UserState.with_params([self.state.as_str(), "READY"]));
        }
        self.call = Some(call);
        self.reserved = Some(now);
        self.enter(UserState::Ringing, None, now);
        Ok(())
    }

    /// Finds the current call by `JobId` (and optional `ChannelId`, which
    /// must be the agent's own channel).
    fn own_call(&self, job_id: Option<&str>, channel_id: Option<&str>) -> Result<(), CccError> {
        let Some(job) = job_id.filter(|j| !j.trim().is_empty()) else {
            return Err(ErrorCode::MissingParameter.with_params(["JobId"]));
        };
        let Some(call) = self.call.as_ref().filter(|c| c.job_id == job.trim()) else {
            return Err(ErrorCode::NoJob.with_params([job]));
        };
        if let Some(ch) = channel_id.filter(|c| !c.trim().is_empty()) {
            if call
                .agent_channel()
                .is_none_or(|own| own.channel_id != ch.trim())
            {
                return Err(ErrorCode::NoChannel.with_params([ch, job]));
            }
        }
        Ok(())
    }

    /// AnswerCall: RINGING → TALKING.
    pub fn answer(
        &mut self,
        job_id: Option<&str>,
        channel_id: Option<&str>,
        now: i64,
    ) -> Result<(), CccError> {
        self.own_call(job_id, channel_id)?;
        refuse(AgentAction::Answer, &self.state)?;
        if let Some(call) = self.call.as_mut() {
            let ch = call.agent_channel_mut();
            ch.channel_state = ChannelState::Answered;
            ch.timestamp = Some(now);
        }
        self.enter(UserState::Talking, None, now);
        Ok(())
    }

    /// MuteCall / UnmuteCall: toggles `MUTED` on the agent's own channel,
    /// only while TALKING.
    pub fn set_muted(
        &mut self,
        muted: bool,
        job_id: Option<&str>,
        channel_id: Option<&str>,
        now: i64,
    ) -> Result<(), CccError> {
        self.own_call(job_id, channel_id)?;
        let action = if muted {
            AgentAction::Mute
        } else {
            AgentAction::Unmute
        };
        refuse(action, &self.state)?;
        if let Some(call) = self.call.as_mut() {
            let ch = call.agent_channel_mut();
            ch.channel_flags.retain(|f| *f != ChannelFlag::Muted);
            if muted {
                ch.channel_flags.push(ChannelFlag::Muted);
            }
            ch.timestamp = Some(now);
        }
        self.touch(now);
        Ok(())
    }

    /// MakeCall: the agent dials `callee` (presenting `caller` when given).
    /// Allowed from READY, BREAK, WORKING; the agent goes DIALING with a new
    /// OUTBOUND call `job_id`. A busy number (see [`DialOutcome`]) is
    /// `UserBusy` and changes nothing.
    pub fn dial(
        &mut self,
        job_id: &str,
        callee: Option<&str>,
        caller: Option<&str>,
        now: i64,
    ) -> Result<(), CccError> {
        let Some(callee) = callee.map(str::trim).filter(|c| !c.is_empty()) else {
            return Err(ErrorCode::MissingParameter.with_params(["Callee"]));
        };
        refuse(AgentAction::Dial, &self.state)?;
        if self.extension.trim().is_empty() {
            return Err(ErrorCode::NoExtension.with_params(Vec::<String>::new()));
        }
        if DialOutcome::of(callee) == DialOutcome::Busy {
            return Err(ErrorCode::UserBusy.with_params([callee]));
        }
        let caller = caller.map(str::trim).filter(|c| !c.is_empty());
        self.call = Some(Call::outbound(self, job_id, callee, caller, now));
        self.reserved = None;
        self.enter(UserState::Dialing, None, now);
        Ok(())
    }

    /// The dialled customer answers `job_id`: DIALING → TALKING, both legs
    /// ANSWERED. Returns whether it applied (not if the attempt ended).
    pub fn customer_answers(&mut self, job_id: &str, now: i64) -> bool {
        let dialing = self.state == UserState::Dialing
            && self.call.as_ref().is_some_and(|c| c.job_id == job_id);
        if let Some(call) = self.call.as_mut().filter(|_| dialing) {
            for ch in &mut call.context.channel_contexts {
                ch.channel_state = ChannelState::Answered;
                ch.timestamp = Some(now);
            }
            self.enter(UserState::Talking, None, now);
        }
        dialing
    }

    /// The dial timeout fired: if `job_id` is still DIALING the attempt is
    /// released ([`HangupOutcome::NotConnected`]). `None` when it no longer
    /// applies.
    pub fn dial_timeout(&mut self, job_id: &str, now: i64) -> Option<HangupOutcome> {
        if self.state != UserState::Dialing {
            return None;
        }
        self.hang_up(job_id, HangupBy::Customer, now).ok()
    }

    /// HoldCall / RetrieveCall: sets or clears `HOLD` on the customer's
    /// channel `channel_id` of call `job_id`, only while TALKING.
    pub fn set_held(
        &mut self,
        held: bool,
        job_id: Option<&str>,
        channel_id: Option<&str>,
        now: i64,
    ) -> Result<(), CccError> {
        let Some(job) = job_id.map(str::trim).filter(|j| !j.is_empty()) else {
            return Err(ErrorCode::MissingParameter.with_params(["JobId"]));
        };
        let Some(channel) = channel_id.map(str::trim).filter(|c| !c.is_empty()) else {
            return Err(ErrorCode::MissingParameter.with_params(["ChannelId"]));
        };
        let Some(call) = self.call.as_mut().filter(|c| c.job_id == job) else {
            return Err(ErrorCode::NoJob.with_params([job]));
        };
        // Only a customer's leg can be held (inference: the agent's own
        // leg is "not a channel to hold").
        let Some(i) = call
            .context
            .channel_contexts
            .iter()
            .position(|c| c.user_id.is_none() && c.channel_id == channel)
        else {
            return Err(ErrorCode::NoChannel.with_params([channel, job]));
        };
        let action = if held {
            AgentAction::Hold
        } else {
            AgentAction::Retrieve
        };
        refuse(action, &self.state)?;
        let ch = &mut call.context.channel_contexts[i];
        ch.channel_flags.retain(|f| *f != ChannelFlag::Hold);
        if held {
            ch.channel_flags.push(ChannelFlag::Hold);
        }
        ch.timestamp = Some(now);
        self.touch(now);
        Ok(())
    }

    /// True when the agent is in the after-call work of `job_id` (the
    /// after-call timer must be started).
    pub fn in_after_call_of(&self, job_id: &str) -> bool {
        self.state == UserState::Working && self.after_call_of.as_deref() == Some(job_id)
    }

    /// ReleaseCall by the agent: see [`Agent::hang_up`].
    pub fn release(
        &mut self,
        job_id: Option<&str>,
        channel_id: Option<&str>,
        now: i64,
    ) -> Result<HangupOutcome, CccError> {
        self.own_call(job_id, channel_id)?;
        let job = self
            .call
            .as_ref()
            .map(|c| c.job_id.clone())
            .unwrap_or_default();
        self.hang_up(&job, HangupBy::Agent, now)
    }

    /// The call ends. TALKING → WORKING (after-call work); RINGING and the
    /// customer gives up → READY; RINGING and the agent rejects → BREAK /
    /// `RejectCall`; DIALING (cancelled by the agent, declined or not
    /// answered by the customer) → the state the agent dialled from.
    pub fn hang_up(
        &mut self,
        job_id: &str,
        by: HangupBy,
        now: i64,
    ) -> Result<HangupOutcome, CccError> {
        if self.call.as_ref().is_none_or(|c| c.job_id != job_id) {
            return Err(ErrorCode::NoJob.with_params([job_id]));
        }
        let was = self.state.clone();
        let dialled_from = self.call.as_mut().and_then(|call| {
            call.release_all(by, now);
            call.dialled_from.take()
        });
        self.call = None;
        self.reserved = None;
        let outcome = match (was, by) {
            (UserState::Ringing, HangupBy::Customer) => {
                self.enter(UserState::Ready, None, now);
                HangupOutcome::Abandoned
            }
            (UserState::Ringing, HangupBy::Agent) => {
                self.enter(UserState::Break, Some(break_codes::REJECT_CALL), now);
                HangupOutcome::Rejected
            }
            (UserState::Dialing, _) => {
                let (state, code) = dialled_from.unwrap_or((UserState::Ready, None));
                self.enter(state, code.as_deref(), now);
                if self.state == UserState::Working {
                    // Back to after-call work, with a fresh timer.
                    self.after_call_of = Some(job_id.to_owned());
                }
                HangupOutcome::NotConnected
            }
            _ => {
                self.enter(UserState::Working, None, now);
                self.after_call_of = Some(job_id.to_owned());
                HangupOutcome::AfterCall
            }
        };
        Ok(outcome)
    }

    /// The ringing timer fired: if `job_id` still rings, BREAK /
    /// `RingingTimeout` and the call leaves the agent. Returns whether it applied.
    pub fn ringing_timeout(&mut self, job_id: &str, now: i64) -> bool {
        let ringing = self.state == UserState::Ringing
            && self.call.as_ref().is_some_and(|c| c.job_id == job_id);
        if ringing {
            self.call = None;
            self.reserved = None;
            self.enter(UserState::Break, Some(break_codes::RINGING_TIMEOUT), now);
        }
        ringing
    }

    /// The after-call timer fired: WORKING after `job_id` → READY. Returns
    /// whether it applied (not if the agent did anything else meanwhile).
    pub fn after_call_done(&mut self, job_id: &str, now: i64) -> bool {
        let applies =
            self.state == UserState::Working && self.after_call_of.as_deref() == Some(job_id);
        if applies {
            self.enter(UserState::Ready, None, now);
        }
        applies
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    /// agent1 of the demo, OFFLINE.
    pub(crate) fn agent() -> Agent {
        Agent::new("agent1@ccc-demo", "ccc-demo", "Ada Li", "80010001", T0)
    }

    fn in_state(state: UserState) -> Agent {
        let mut a = agent();
        a.sign_in(Some("dev-1"), None, T0).unwrap();
        match state {
            UserState::Offline => a.reset(T0),
            UserState::Break => {}
            UserState::Ready => a.ready(false, T0).unwrap(),
            UserState::Ringing => {
                a.ready(false, T0).unwrap();
                a.ring("job-1", "13800000000", T0).unwrap();
            }
            UserState::Talking => {
                a.ready(false, T0).unwrap();
                a.ring("job-1", "13800000000", T0).unwrap();
                a.answer(Some("job-1"), None, T0).unwrap();
            }
            UserState::Working => {
                a.ready(false, T0).unwrap();
                a.ring("job-1", "13800000000", T0).unwrap();
                a.answer(Some("job-1"), None, T0).unwrap();
                a.hang_up("job-1", HangupBy::Customer, T0).unwrap();
            }
            UserState::Dialing => {
                a.ready(false, T0).unwrap();
                a.dial("job-1", Some("13812345678"), None, T0).unwrap();
            }
            UserState::Unknown(_) => unreachable!(),
        }
        assert_eq!(a.state, state);
        a
    }

    fn assert_code(r: Result<impl std::fmt::Debug, CccError>, code: ErrorCode, params: &[&str]) {
        let e = r.unwrap_err();
        assert_eq!(e.code, code, "{e}");
        assert_eq!(e.params, params, "{e}");
        assert_eq!(e.http_status, code.http_status());
    }

    #[test]
    fn sign_in_lands_in_warm_up_break() {
        let mut a = agent();
        assert_eq!(
            a.sign_in(Some("dev-1"), Some(vec!["sg1".into()]), T0 + 5),
            Ok(None)
        );
        let uc = a.user_context();
        assert_eq!(uc.user_state, UserState::Break);
        assert_eq!(uc.break_code.as_deref(), Some("Warm-up"));
        assert_eq!(uc.device_id.as_deref(), Some("dev-1"));
        assert_eq!(uc.heartbeat, Some(T0 + 5));
        assert_eq!(uc.signed_skill_group_id_list, vec!["sg1"]);
        assert_eq!(uc.extension.as_deref(), Some("80010001"));
        assert_eq!(uc.job_id, None);
    }

    #[test]
    fn sign_in_needs_a_device() {
        assert_code(
            agent().sign_in(None, None, T0),
            ErrorCode::MissingParameter,
            &["DeviceId"],
        );
        assert_code(
            agent().sign_in(Some(" "), None, T0),
            ErrorCode::MissingParameter,
            &["DeviceId"],
        );
    }

    #[test]
    fn sign_in_again_from_the_same_device_keeps_the_state() {
        let mut a = in_state(UserState::Ready);
        assert_eq!(a.sign_in(Some("dev-1"), None, T0 + 1), Ok(None));
        assert_eq!(a.state, UserState::Ready);
    }

    #[test]
    fn sign_in_from_another_device_takes_over() {
        let mut a = in_state(UserState::Ready);
        let ctx = a.context_id;
        assert_eq!(
            a.sign_in(Some("dev-2"), None, T0 + 1),
            Ok(Some("dev-1".to_owned()))
        );
        assert_eq!(a.device_id.as_deref(), Some("dev-2"));
        assert_eq!(a.state, UserState::Break);
        assert_eq!(a.break_code.as_deref(), Some("Warm-up"));
        assert!(a.context_id > ctx);
    }

    #[test]
    fn sign_in_and_out_refused_during_a_call() {
        for s in [UserState::Ringing, UserState::Talking, UserState::Dialing] {
            let mut a = in_state(s.clone());
            assert_code(
                a.sign_in(Some("dev-2"), None, T0),
                ErrorCode::UserState,
                &[s.as_str(), "OFFLINE,READY,BREAK,WORKING"],
            );
            assert_code(
                a.sign_out(T0),
                ErrorCode::UserState,
                &[s.as_str(), "OFFLINE,READY,BREAK,WORKING"],
            );
        }
    }

    #[test]
    fn sign_out_goes_offline() {
        for s in [UserState::Break, UserState::Ready, UserState::Working] {
            let mut a = in_state(s);
            a.sign_out(T0 + 9).unwrap();
            assert_eq!(a.state, UserState::Offline);
            assert_eq!(a.device_id, None);
            assert_eq!(a.break_code, None);
        }
    }

    #[test]
    fn ready_from_break_ready_working() {
        for s in [UserState::Break, UserState::Ready, UserState::Working] {
            let mut a = in_state(s);
            a.ready(true, T0 + 1).unwrap();
            assert_eq!(a.state, UserState::Ready);
            assert_eq!(a.break_code, None);
            assert!(a.outbound_scenario);
        }
    }

    #[test]
    fn ready_refused_elsewhere_with_documented_params() {
        for s in [
            UserState::Offline,
            UserState::Ringing,
            UserState::Talking,
            UserState::Dialing,
        ] {
            let mut a = in_state(s.clone());
            assert_code(
                a.ready(false, T0),
                ErrorCode::UserState,
                &[s.as_str(), "BREAK,READY,WORKING"],
            );
        }
        let e = agent().ready(false, T0).unwrap_err();
        assert_eq!(
            e.message,
            "The operation is not allowed. User state (OFFLINE) does not meet expectations (BREAK,READY,WORKING)."
        );
    }

    #[test]
    fn ready_refused_while_a_channel_is_live() {
        let mut a = in_state(UserState::Talking);
        a.state = UserState::Working; // inconsistent on purpose
        assert_code(
            a.ready(false, T0),
            ErrorCode::ChannelState,
            &["ANSWERED", "RELEASED,RETIRED"],
        );
    }

    #[test]
    fn take_break_with_free_form_code() {
        for s in [UserState::Ready, UserState::Break, UserState::Working] {
            let mut a = in_state(s);
            a.take_break(Some("lunchtime"), T0 + 1).unwrap();
            assert_eq!(a.state, UserState::Break);
            assert_eq!(a.break_code.as_deref(), Some("lunchtime"));
        }
        let mut a = in_state(UserState::Ready);
        a.take_break(Some("会议"), T0).unwrap();
        assert_eq!(a.break_code.as_deref(), Some("会议"));
    }

    #[test]
    fn take_break_blank_code() {
        let mut a = in_state(UserState::Ready);
        assert_code(a.take_break(None, T0), ErrorCode::ParameterBlank, &["Code"]);
        assert_code(
            a.take_break(Some("  "), T0),
            ErrorCode::ParameterBlank,
            &["Code"],
        );
        // Blank wins over the state check.
        assert_code(
            agent().take_break(Some(""), T0),
            ErrorCode::ParameterBlank,
            &["Code"],
        );
    }

    #[test]
    fn take_break_refused_offline_and_in_call() {
        for s in [
            UserState::Offline,
            UserState::Ringing,
            UserState::Talking,
            UserState::Dialing,
        ] {
            let mut a = in_state(s.clone());
            assert_code(
                a.take_break(Some("default"), T0),
                ErrorCode::UserState,
                &[s.as_str(), "READY,BREAK,WORKING"],
            );
        }
    }

    #[test]
    fn change_work_mode_validates() {
        let mut a = in_state(UserState::Ready);
        assert_code(
            a.change_work_mode(None, None, None, T0),
            ErrorCode::ParameterBlank,
            &["WorkMode"],
        );
        assert_code(
            a.change_work_mode(Some("AT_HOME"), None, None, T0),
            ErrorCode::ParameterEnumeration,
            &["WorkMode", "ON_SITE,OFF_SITE,OFFICE_PHONE"],
        );
        assert_code(
            a.change_work_mode(Some("OFF_SITE"), None, None, T0),
            ErrorCode::ParameterBlank,
            &["Mobile"],
        );
        a.change_work_mode(
            Some("OFF_SITE"),
            Some("13900000000"),
            Some(vec!["g".into()]),
            T0 + 3,
        )
        .unwrap();
        assert_eq!(a.work_mode, WorkMode::OffSite);
        assert_eq!(a.mobile.as_deref(), Some("13900000000"));
        assert_eq!(a.state, UserState::Ready);
        a.change_work_mode(Some("OFFICE_PHONE"), None, None, T0)
            .unwrap();
        assert_eq!(a.work_mode, WorkMode::OfficePhone);
        let mut off = agent();
        off.change_work_mode(Some("ON_SITE"), None, None, T0)
            .unwrap();
    }

    #[test]
    fn change_work_mode_refused_in_call() {
        let mut a = in_state(UserState::Talking);
        assert_code(
            a.change_work_mode(Some("ON_SITE"), None, None, T0),
            ErrorCode::UserState,
            &["TALKING", "OFFLINE,READY,BREAK,WORKING"],
        );
    }

    #[test]
    fn reset_from_any_state() {
        for s in [
            UserState::Offline,
            UserState::Break,
            UserState::Ready,
            UserState::Ringing,
            UserState::Talking,
            UserState::Working,
            UserState::Dialing,
        ] {
            let mut a = in_state(s);
            a.reset(T0 + 7);
            assert_eq!(a.state, UserState::Offline);
            assert_eq!(a.break_code.as_deref(), Some("Warm-up"));
            assert!(a.call.is_none());
            assert_eq!(a.heartbeat, T0 + 7);
        }
    }

    #[test]
    fn full_inbound_call() {
        let mut a = in_state(UserState::Ready);
        a.ring("job-42", "13800000000", T0 + 1).unwrap();
        assert_eq!(a.state, UserState::Ringing);
        assert_eq!(a.reserved, Some(T0 + 1));
        let ctx = a.call_context().unwrap();
        assert_eq!(ctx.channel_contexts.len(), 2);
        let customer = &ctx.channel_contexts[0];
        assert_eq!(
            customer.channel_id,
            format!("ch:customer:13800000000->80010001:{}:job-42", T0 + 1)
        );
        assert_eq!(customer.user_id, None);
        let own = ctx.channel_of("agent1@ccc-demo").unwrap();
        assert_eq!(own.channel_state, ChannelState::Ringing);
        assert!(own.channel_id.starts_with("ch:user:13800000000->80010001:"));
        assert_eq!(a.user_context().job_id.as_deref(), Some("job-42"));

        a.answer(Some("job-42"), None, T0 + 2).unwrap();
        assert_eq!(a.state, UserState::Talking);
        a.set_muted(true, Some("job-42"), None, T0 + 3).unwrap();
        assert!(a.call_context().unwrap().is_muted("agent1@ccc-demo"));
        a.set_muted(false, Some("job-42"), None, T0 + 4).unwrap();
        assert!(!a.call_context().unwrap().is_muted("agent1@ccc-demo"));

        assert_eq!(
            a.release(Some("job-42"), None, T0 + 5),
            Ok(HangupOutcome::AfterCall)
        );
        assert_eq!(a.state, UserState::Working);
        assert!(a.call.is_none());
        assert!(!a.after_call_done("job-other", T0 + 6));
        assert!(a.after_call_done("job-42", T0 + 6));
        assert_eq!(a.state, UserState::Ready);
    }

    #[test]
    fn after_call_timer_ignored_when_agent_moved_on() {
        let mut a = in_state(UserState::Working);
        a.take_break(Some("default"), T0).unwrap();
        assert!(!a.after_call_done("job-1", T0));
        assert_eq!(a.state, UserState::Break);
    }

    #[test]
    fn ring_only_when_ready() {
        for s in [UserState::Offline, UserState::Break, UserState::Talking] {
            let mut a = in_state(s.clone());
            assert_code(
                a.ring("job-9", "1", T0),
                ErrorCode::UserState,
                &[s.as_str(), "READY"],
            );
        }
    }

    #[test]
    fn ringing_timeout_goes_to_break() {
        let mut a = in_state(UserState::Ringing);
        assert!(!a.ringing_timeout("job-other", T0));
        assert!(a.ringing_timeout("job-1", T0 + 30_000));
        assert_eq!(a.state, UserState::Break);
        assert_eq!(a.break_code.as_deref(), Some("RingingTimeout"));
        assert!(a.call.is_none());
        // Answered in time: the timer does nothing.
        let mut b = in_state(UserState::Talking);
        assert!(!b.ringing_timeout("job-1", T0));
        assert_eq!(b.state, UserState::Talking);
    }

    #[test]
    fn hang_up_variants() {
        let mut a = in_state(UserState::Ringing);
        assert_eq!(
            a.hang_up("job-1", HangupBy::Customer, T0),
            Ok(HangupOutcome::Abandoned)
        );
        assert_eq!(a.state, UserState::Ready);

        let mut a = in_state(UserState::Ringing);
        assert_eq!(
            a.release(Some("job-1"), None, T0),
            Ok(HangupOutcome::Rejected)
        );
        assert_eq!(a.state, UserState::Break);
        assert_eq!(a.break_code.as_deref(), Some("RejectCall"));

        let mut a = in_state(UserState::Talking);
        assert_eq!(
            a.hang_up("job-1", HangupBy::Customer, T0),
            Ok(HangupOutcome::AfterCall)
        );
        assert_eq!(a.state, UserState::Working);
        assert_code(
            a.hang_up("job-1", HangupBy::Agent, T0),
            ErrorCode::NoJob,
            &["job-1"],
        );
    }

    #[test]
    fn mute_errors() {
        let mut a = in_state(UserState::Talking);
        assert_code(
            a.set_muted(true, None, None, T0),
            ErrorCode::MissingParameter,
            &["JobId"],
        );
        assert_code(
            a.set_muted(true, Some("job-x"), None, T0),
            ErrorCode::NoJob,
            &["job-x"],
        );
        let customer = a.call.as_ref().unwrap().context.channel_contexts[0]
            .channel_id
            .clone();
        assert_code(
            a.set_muted(true, Some("job-1"), Some(&customer), T0),
            ErrorCode::NoChannel,
            &[customer.as_str(), "job-1"],
        );
        assert_code(
            a.set_muted(false, Some("job-1"), Some("ch:nope"), T0),
            ErrorCode::NoChannel,
            &["ch:nope", "job-1"],
        );
        let own = a
            .call
            .as_ref()
            .unwrap()
            .agent_channel()
            .unwrap()
            .channel_id
            .clone();
        a.set_muted(true, Some("job-1"), Some(&own), T0).unwrap();
        // Muting twice is harmless.
        a.set_muted(true, Some("job-1"), None, T0).unwrap();
        let flags = &a
            .call
            .as_ref()
            .unwrap()
            .agent_channel()
            .unwrap()
            .channel_flags;
        assert_eq!(flags, &vec![ChannelFlag::Muted]);
    }

    #[test]
    fn mute_only_while_talking() {
        let mut a = in_state(UserState::Ringing);
        assert_code(
            a.set_muted(true, Some("job-1"), None, T0),
            ErrorCode::UserState,
            &["RINGING", "TALKING"],
        );
        assert_code(
            a.set_muted(false, Some("job-1"), None, T0),
            ErrorCode::UserState,
            &["RINGING", "TALKING"],
        );
        let mut idle = in_state(UserState::Ready);
        assert_code(
            idle.set_muted(true, Some("job-1"), None, T0),
            ErrorCode::NoJob,
            &["job-1"],
        );
    }

    #[test]
    fn answer_errors() {
        let mut a = in_state(UserState::Talking);
        assert_code(
            a.answer(Some("job-1"), None, T0),
            ErrorCode::UserState,
            &["TALKING", "RINGING"],
        );
        let mut r = in_state(UserState::Ringing);
        assert_code(
            r.answer(Some("job-2"), None, T0),
            ErrorCode::NoJob,
            &["job-2"],
        );
        assert_code(
            r.answer(Some("job-1"), Some("ch:x"), T0),
            ErrorCode::NoChannel,
            &["ch:x", "job-1"],
        );
    }

    #[test]
    fn context_id_increases_on_every_change_and_heartbeat_follows() {
        let mut a = agent();
        let mut last = a.context_id;
        let mut step = |a: &mut Agent, t: i64| {
            assert!(a.context_id > last, "context id did not grow");
            assert_eq!(a.heartbeat, t);
            last = a.context_id;
        };
        a.sign_in(Some("d"), None, T0 + 1).unwrap();
        step(&mut a, T0 + 1);
        a.ready(false, T0 + 2).unwrap();
        step(&mut a, T0 + 2);
        a.ring("job-1", "1", T0 + 3).unwrap();
        step(&mut a, T0 + 3);
        a.answer(Some("job-1"), None, T0 + 4).unwrap();
        step(&mut a, T0 + 4);
        a.set_muted(true, Some("job-1"), None, T0 + 5).unwrap();
        step(&mut a, T0 + 5);
        a.hang_up("job-1", HangupBy::Customer, T0 + 6).unwrap();
        step(&mut a, T0 + 6);
        a.change_work_mode(Some("ON_SITE"), None, None, T0 + 7)
            .unwrap();
        step(&mut a, T0 + 7);
        a.reset(T0 + 8);
        step(&mut a, T0 + 8);
    }

    #[test]
    fn failed_operations_change_nothing() {
        let mut a = agent();
        let before = a.clone();
        let _ = a.ready(false, T0 + 1);
        let _ = a.take_break(Some("x"), T0 + 1);
        let _ = a.set_muted(true, Some("job-1"), None, T0 + 1);
        assert_eq!(a, before);
    }

    fn channel_ids(a: &Agent) -> (String, String) {
        let ctx = a.call_context().unwrap();
        let own = ctx.channel_of(&a.user_id).unwrap().channel_id.clone();
        (own, ctx.customer_channel().unwrap().channel_id.clone())
    }

    #[test]
    fn dial_outcomes_by_number() {
        assert_eq!(DialOutcome::of("13800000000"), DialOutcome::Busy);
        assert_eq!(DialOutcome::of("+8613812349999"), DialOutcome::NoAnswer);
        assert_eq!(DialOutcome::of("13812345678"), DialOutcome::Answers);
        assert_eq!(DialOutcome::of("000"), DialOutcome::Answers);
    }

    #[test]
    fn dial_makes_an_outbound_call_from_ready_break_working() {
        for s in [UserState::Ready, UserState::Break, UserState::Working] {
            let mut a = in_state(s);
            a.dial("job-7", Some(" 13812345678 "), Some("02150001234"), T0 + 1)
                .unwrap();
            assert_eq!(a.state, UserState::Dialing);
            assert_eq!(a.break_code, None);
            assert_eq!(a.user_context().job_id.as_deref(), Some("job-7"));
            let ctx = a.call_context().unwrap();
            assert_eq!(ctx.call_type, Some(CallType::Outbound));
            let own = ctx.channel_of("agent1@ccc-demo").unwrap();
            assert_eq!((own.index, &own.channel_state), (0, &ChannelState::None));
            assert_eq!(own.originator.as_deref(), Some("80010001"));
            assert_eq!(own.destination.as_deref(), Some("13812345678"));
            let customer = ctx.customer_channel().unwrap();
            assert_eq!(customer.index, 1);
            assert_eq!(
                customer.channel_id,
                format!("ch:customer:02150001234->13812345678:{}:job-7", T0 + 1)
            );
            assert_eq!(customer.originator.as_deref(), Some("02150001234"));
            assert_eq!(customer.destination.as_deref(), Some("13812345678"));
            assert_eq!(
                a.call.as_ref().unwrap().counter_party(),
                Some("13812345678")
            );
        }
        // No caller id: CCC's default, here the extension.
        let mut a = in_state(UserState::Ready);
        a.dial("job-8", Some("13812345678"), Some(" "), T0).unwrap();
        let customer = a
            .call_context()
            .unwrap()
            .customer_channel()
            .cloned()
            .unwrap();
        assert_eq!(customer.originator.as_deref(), Some("80010001"));
    }

    #[test]
    fn dial_refusals_change_nothing() {
        for s in [
            UserState::Offline,
            UserState::Ringing,
            UserState::Talking,
            UserState::Dialing,
        ] {
            let mut a = in_state(s.clone());
            let before = a.clone();
            assert_code(
                a.dial("job-9", Some("13812345678"), None, T0),
                ErrorCode::UserState,
                &[s.as_str(), "READY,BREAK,WORKING"],
            );
            assert_eq!(a, before);
        }
        let mut a = in_state(UserState::Ready);
        let before = a.clone();
        assert_code(
            a.dial("job-9", Some(" "), None, T0),
            ErrorCode::MissingParameter,
            &["Callee"],
        );
        assert_code(
            a.dial("job-9", Some("13812340000"), None, T0),
            ErrorCode::UserBusy,
            &["13812340000"],
        );
        assert_eq!(a, before);
        a.extension.clear();
        assert_code(
            a.dial("job-9", Some("13812345678"), None, T0),
            ErrorCode::NoExtension,
            &[],
        );
    }

    #[test]
    fn dialled_customer_answers_then_hold_retrieve_hang_up() {
        let mut a = in_state(UserState::Ready);
        a.dial("job-7", Some("13812345678"), None, T0).unwrap();
        assert!(!a.customer_answers("job-other", T0 + 1));
        assert!(a.customer_answers("job-7", T0 + 1));
        assert_eq!(a.state, UserState::Talking);
        let ctx = a.call_context().unwrap();
        assert!(ctx
            .channel_contexts
            .iter()
            .all(|c| c.channel_state == ChannelState::Answered));
        // Too late: the timer of an answered call does nothing.
        assert_eq!(a.dial_timeout("job-7", T0 + 2), None);
        assert!(!a.customer_answers("job-7", T0 + 2));

        let (_, customer) = channel_ids(&a);
        a.set_held(true, Some("job-7"), Some(&customer), T0 + 3)
            .unwrap();
        assert!(a.call_context().unwrap().is_held());
        assert_eq!(a.state, UserState::Talking);
        // Holding twice is harmless.
        a.set_held(true, Some("job-7"), Some(&customer), T0 + 4)
            .unwrap();
        a.set_held(false, Some("job-7"), Some(&customer), T0 + 5)
            .unwrap();
        assert!(!a.call_context().unwrap().is_held());
        assert_eq!(
            a.release(Some("job-7"), None, T0 + 6),
            Ok(HangupOutcome::AfterCall)
        );
        assert!(a.in_after_call_of("job-7"));
    }

    #[test]
    fn an_attempt_that_never_connects_returns_where_it_dialled_from() {
        let mut a = in_state(UserState::Ready);
        a.take_break(Some("lunch"), T0).unwrap();
        a.dial("job-7", Some("13812349999"), None, T0).unwrap();
        assert_eq!(a.dial_timeout("job-other", T0 + 1), None);
        assert_eq!(
            a.dial_timeout("job-7", T0 + 1),
            Some(HangupOutcome::NotConnected)
        );
        assert_eq!(a.state, UserState::Break);
        assert_eq!(a.break_code.as_deref(), Some("lunch"));
        assert!(a.call.is_none());

        // Cancelled by the agent, from READY.
        let mut a = in_state(UserState::Ready);
        a.dial("job-7", Some("13812345678"), None, T0).unwrap();
        assert_eq!(
            a.release(Some("job-7"), None, T0 + 1),
            Ok(HangupOutcome::NotConnected)
        );
        assert_eq!(a.state, UserState::Ready);

        // Declined by the customer, from WORKING: after-call work again.
        let mut a = in_state(UserState::Working);
        a.dial("job-7", Some("13812345678"), None, T0).unwrap();
        assert_eq!(
            a.hang_up("job-7", HangupBy::Customer, T0 + 1),
            Ok(HangupOutcome::NotConnected)
        );
        assert_eq!(a.state, UserState::Working);
        assert!(a.in_after_call_of("job-7"));
        assert!(a.after_call_done("job-7", T0 + 2));
        assert_eq!(a.state, UserState::Ready);
    }

    #[test]
    fn hold_errors() {
        let mut a = in_state(UserState::Talking);
        let (own, customer) = channel_ids(&a);
        assert_code(
            a.set_held(true, None, Some(&customer), T0),
            ErrorCode::MissingParameter,
            &["JobId"],
        );
        assert_code(
            a.set_held(true, Some("job-1"), Some(" "), T0),
            ErrorCode::MissingParameter,
            &["ChannelId"],
        );
        assert_code(
            a.set_held(true, Some("job-x"), Some(&customer), T0),
            ErrorCode::NoJob,
            &["job-x"],
        );
        assert_code(
            a.set_held(true, Some("job-1"), Some(&own), T0),
            ErrorCode::NoChannel,
            &[own.as_str(), "job-1"],
        );
        assert_code(
            a.set_held(false, Some("job-1"), Some("ch:nope"), T0),
            ErrorCode::NoChannel,
            &["ch:nope", "job-1"],
        );
        for s in [UserState::Ringing, UserState::Dialing] {
            let mut a = in_state(s.clone());
            let (_, customer) = channel_ids(&a);
            let before = a.clone();
            for held in [true, false] {
                assert_code(
                    a.set_held(held, Some("job-1"), Some(&customer), T0),
                    ErrorCode::UserState,
                    &[s.as_str(), "TALKING"],
                );
            }
            assert_eq!(a, before);
        }
        let mut idle = in_state(UserState::Ready);
        assert_code(
            idle.set_held(true, Some("job-1"), Some(&customer), T0),
            ErrorCode::NoJob,
            &["job-1"],
        );
    }
}
