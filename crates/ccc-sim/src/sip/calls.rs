//! Calls to the agent's registered device, kept in step with the state
//! machine by a reconciler, and the SIP the device sends back.
//!
//! | the world | SIP |
//! |---|---|
//! | an ON_SITE agent with a device starts RINGING | INVITE with an SDP offer (the customer's media peer) |
//! | MakeCall (DIALING) | INVITE with `Call-Info: <sip:…>;answer-after=0`; the customer is dialled when the device answers |
//! | the ringing call ends (timeout, customer hangs up, ReleaseCall) | CANCEL |
//! | an answered call ends (customer, ReleaseCall, admin) | BYE |
//! | MuteCall / HoldCall | the media's mix changes |
//!
//! | the device | the world |
//! |---|---|
//! | 180 | nothing: the agent is RINGING already |
//! | 200 to an inbound INVITE | AnswerCall: TALKING, same events |
//! | 200 to MakeCall's INVITE | the customer's answer timer starts |
//! | 486/603/other refusal | ReleaseCall: a ringing call is rejected (BREAK / `RejectCall`), an outbound attempt ends |
//! | BYE | ReleaseCall: WORKING (after-call work) |
//! | re-INVITE | answered from the media peer; the state is unchanged |
//! | its socket closes | an answered call is released by the agent |

use std::sync::Arc;

use ccc_model::{ChannelFlag, UserState, WorkMode};
use ccc_sip::{Message, Method, NameAddr};

use crate::softphone::dialog::{Phase, SipCall, HOST};
use crate::softphone::media::{MediaPeer, Mix};
use crate::softphone::{new_tag, Softphone};
use crate::state_machine::{DialOutcome, HangupBy};
use crate::{now_ms, SimState};

/// What the reconciler saw of an agent.
#[derive(Debug)]
struct Seen {
    state: UserState,
    on_site: bool,
    job: Option<String>,
    counter_party: Option<String>,
    mix: Mix,
}

fn seen(state: &SimState, user_id: &str) -> Option<Seen> {
    let world = state.world();
    let a = world.agents.get(user_id)?;
    let call = a.call.as_ref();
    let channels = call.map(|c| c.context.channel_contexts.as_slice());
    let has_flag = |user: bool, flag: ChannelFlag| {
        channels.is_some_and(|chs| {
            chs.iter()
                .any(|c| c.user_id.is_some() == user && c.channel_flags.contains(&flag))
        })
    };
    Some(Seen {
        state: a.state.clone(),
        on_site: a.work_mode == WorkMode::OnSite,
        job: call.map(|c| c.job_id.clone()),
        counter_party: call.and_then(|c| c.counter_party().map(str::to_owned)),
        mix: Mix {
            ringback: a.state == UserState::Dialing,
            muted: has_flag(true, ChannelFlag::Muted),
            held: has_flag(false, ChannelFlag::Hold),
        },
    })
}

/// Runs while any SIP socket is open: after every change of the world,
/// brings the SIP calls in step with it.
pub(crate) async fn reconciler(state: SimState) {
    loop {
        reconcile(&state);
        let phone = state.softphone();
        if phone.reconciler_may_stop() {
            return;
        }
        phone.next_change().await;
    }
}

fn reconcile(state: &SimState) {
    let phone = state.softphone();
    let now = now_ms();
    let (bindings, users_in_calls) = {
        let mut hub = phone.hub();
        let bindings = hub.registrar.bindings(now).to_vec();
        let users: Vec<String> = hub.calls.values().map(|c| c.user_id.clone()).collect();
        (bindings, users)
    };
    // Each agent with a device or a SIP call, as the world has it now.
    let mut users: Vec<String> = bindings.iter().map(|b| b.user_id.clone()).collect();
    users.extend(users_in_calls);
    users.sort();
    users.dedup();
    let seen: Vec<(String, Option<Seen>)> = users
        .into_iter()
        .map(|u| {
            let s = seen(state, &u);
            (u, s)
        })
        .collect();

    let mut to_invite = Vec::new();
    let mut hub = phone.hub();
    // Calls whose job the agent no longer has: CANCEL or BYE. (A call is
    // keyed by its job, or `job/user` for a second agent of the same job:
    // issue 18's consult and transfer targets.)
    let jobs: Vec<String> = hub.calls.keys().cloned().collect();
    for job in jobs {
        let Some(call) = hub.calls.get(&job) else {
            continue;
        };
        let agent = seen
            .iter()
            .find(|(u, _)| *u == call.user_id)
            .and_then(|(_, s)| s.as_ref());
        let current = agent.is_some_and(|s| s.job.as_deref() == Some(call.job_id.as_str()));
        if current {
            let mix = agent.map(|s| s.mix).unwrap_or_default();
            if let Some(call) = hub.calls.get_mut(&job) {
                if call.mix != mix {
                    call.mix = mix;
                    if let Some(m) = &call.media {
                        m.set_mix(mix);
                    }
                }
            }
            continue;
        }
        let Some(mut call) = hub.calls.remove(&job) else {
            continue;
        };
        match call.phase {
            Phase::Inviting => {
                let cancel = call.cancel();
                tracing::info!(job, "call no longer rings the device: CANCEL");
                Softphone::send(&hub, call.conn, &cancel);
                call.phase = Phase::Cancelling;
                hub.calls.insert(job, call);
            }
            Phase::Established => {
                let bye = call.bye();
                tracing::info!(job, "call ended: BYE to the device");
                Softphone::send(&hub, call.conn, &bye);
            }
            // Offering: the INVITE task finds the call gone and stops.
            // Cancelling: kept until the INVITE's final answer.
            Phase::Cancelling => {
                hub.calls.insert(job, call);
            }
            Phase::Offering | Phase::Failed => {}
        }
    }
    // Agents with a device whose ringing or dialing call has no SIP call yet.
    for (user, s) in &seen {
        let Some(s) = s else { continue };
        let Some(job) = s.job.as_ref() else { continue };
        let rings = s.state == UserState::Ringing || s.state == UserState::Dialing;
        let has_call = hub
            .calls
            .values()
            .any(|c| &c.job_id == job && &c.user_id == user);
        if !s.on_site || !rings || has_call {
            continue;
        }
        let key = if hub.calls.contains_key(job) {
            format!("{job}/{user}")
        } else {
            job.clone()
        };
        let Some(binding) = bindings
            .iter()
            .filter(|b| &b.user_id == user)
            .max_by_key(|b| b.registered_at)
        else {
            continue;
        };
        if !hub.conns.contains_key(&binding.conn) {
            continue;
        }
        let outbound = s.state == UserState::Dialing;
        let caller = s
            .counter_party
            .clone()
            .unwrap_or_else(|| "anonymous".to_owned());
        let domain = ccc_sip::SipUri::parse(&binding.aor)
            .map(|u| u.host)
            .unwrap_or_else(|| HOST.to_owned());
        let call = SipCall {
            job_id: job.clone(),
            user_id: user.clone(),
            conn: binding.conn,
            outbound,
            callee: outbound.then(|| caller.clone()),
            phase: Phase::Offering,
            call_id: format!("{}@{HOST}", new_tag()),
            from: NameAddr::new(format!("sip:{caller}@{domain}"))
                .with_display(caller.clone())
                .with_param("tag", Some(&new_tag()))
                .to_string(),
            to: NameAddr::new(binding.aor.clone()).to_string(),
            remote_tag: None,
            request_uri: binding.contact.clone(),
            remote_target: None,
            branch: format!("{}{}", ccc_sip::header::BRANCH_COOKIE, new_tag()),
            cseq: 1,
            media: None,
            mix: s.mix,
            auto_answer: outbound,
            caller,
        };
        hub.calls.insert(key.clone(), call);
        to_invite.push((key, domain, s.mix));
    }
    drop(hub);
    for (job, domain, mix) in to_invite {
        tokio::spawn(invite(state.clone(), job, domain, mix));
    }
}

/// Creates the media peer and sends the INVITE (unless the call ended
/// meanwhile).
async fn invite(state: SimState, job: String, domain: String, mix: Mix) {
    let peer = MediaPeer::offer(mix).await;
    let phone = state.softphone();
    let mut hub = phone.hub();
    let Some(call) = hub.calls.get_mut(&job) else {
        return; // ended while the peer was being made
    };
    let (peer, sdp) = match peer {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(job, error = %e, "no media peer: the call is not offered to the device");
            call.phase = Phase::Failed;
            return;
        }
    };
    if let Some(mut keys) = peer.dtmf_keys() {
        // The keypad in-band: recorded with SendDtmfSignaling's keys.
        let (state, job_id, user_id) = (state.clone(), call.job_id.clone(), call.user_id.clone());
        tokio::spawn(async move {
            while let Some(key) = keys.recv().await {
                state.record_rtp_dtmf(&job_id, &user_id, key);
            }
        });
    }
    call.media = Some(Arc::new(peer));
    call.phase = Phase::Inviting;
    let msg = call.invite(&sdp, &domain);
    let conn = call.conn;
    tracing::info!(
        job,
        conn,
        caller = call.caller,
        "INVITE to the agent's device"
    );
    if !Softphone::send(&hub, conn, &msg) {
        hub.calls.remove(&job);
    }
}

/// What to do with the world after a SIP message, once the hub is unlocked.
enum Then {
    Nothing,
    Answered {
        job: String,
        outbound: bool,
        user_id: String,
        callee: Option<String>,
    },
    Refused {
        job: String,
        user_id: String,
    },
}

/// A response from the device.
pub(crate) async fn on_response(state: &SimState, conn: u64, msg: &Message) {
    let Some(code) = msg.status() else { return };
    let Ok(cseq) = msg.cseq() else { return };
    if cseq.method != Method::Invite {
        return; // answers to BYE, CANCEL: nothing to do
    }
    let Ok(call_id) = msg.call_id() else { return };
    let phone = state.softphone();
    let mut answer_sdp = None;
    let then = {
        let mut hub = phone.hub();
        let Some(job) = hub
            .calls
            .iter()
            .find(|(_, c)| c.conn == conn && c.call_id == call_id)
            .map(|(j, _)| j.clone())
        else {
            return;
        };
        let Some(call) = hub.calls.get_mut(&job) else {
            return;
        };
        let (job_id, user_id) = (call.job_id.clone(), call.user_id.clone());
        match (code, call.phase) {
            (100..=199, _) => {
                if code == 180 || code == 183 {
                    tracing::info!(job, code, "the agent's device rings");
                }
                Then::Nothing
            }
            (200..=299, Phase::Inviting) => {
                call.remote_tag = msg.to().ok().and_then(|t| t.tag().map(str::to_owned));
                call.remote_target = msg.contact().map(|c| c.uri);
                call.phase = Phase::Established;
                let ack = call.ack_2xx();
                answer_sdp = call.media.clone().map(|m| (m, msg.body.clone()));
                let then = Then::Answered {
                    job: job_id.clone(),
                    outbound: call.outbound,
                    user_id: call.user_id.clone(),
                    callee: call.callee.clone(),
                };
                Softphone::send(&hub, conn, &ack);
                tracing::info!(job, "the agent's device answered");
                then
            }
            (200..=299, Phase::Established) => {
                // A retransmitted 2xx: ACK again.
                let ack = call.ack_2xx();
                Softphone::send(&hub, conn, &ack);
                Then::Nothing
            }
            (200..=299, _) => {
                // Answered after the call ended (CANCEL crossed the 200).
                call.remote_tag = msg.to().ok().and_then(|t| t.tag().map(str::to_owned));
                call.remote_target = msg.contact().map(|c| c.uri);
                let ack = call.ack_2xx();
                let bye = call.bye();
                hub.calls.remove(&job);
                Softphone::send(&hub, conn, &ack);
                Softphone::send(&hub, conn, &bye);
                Then::Nothing
            }
            (_, phase) => {
                let ack = call.ack_failure(msg);
                Softphone::send(&hub, conn, &ack);
                if phase == Phase::Inviting {
                    tracing::info!(job, code, "the agent's device refused the call");
                    if let Some(c) = hub.calls.get_mut(&job) {
                        c.phase = Phase::Failed;
                        c.media = None;
                    }
                    Then::Refused {
                        job: job_id,
                        user_id,
                    }
                } else {
                    hub.calls.remove(&job);
                    Then::Nothing
                }
            }
        }
    };
    if let Some((media, sdp)) = answer_sdp {
        if let Err(e) = media.accept_answer(&sdp).await {
            tracing::warn!(error = %e, "the device's SDP answer was refused");
        }
    }
    match then {
        Then::Answered {
            job,
            outbound: false,
            user_id,
            ..
        } => {
            // The device's 200 OK is the agent's answer.
            if let Err(e) = state.answer_as(&user_id, &job) {
                tracing::info!(job, error = %e, "answered on the device, but the call moved on");
            }
        }
        Then::Answered {
            job,
            outbound: true,
            user_id,
            callee,
        } => {
            // MakeCall: the agent's leg is up; now the customer is dialled.
            let timings = state.dial_timings();
            let answers = callee
                .as_deref()
                .is_some_and(|c| DialOutcome::of(c) == DialOutcome::Answers);
            if let Some(ms) = timings.answer_ms.filter(|_| answers) {
                state.after(ms, &user_id, &job, |a, job, now| {
                    a.customer_answers(job, now);
                });
            }
        }
        Then::Refused { job, user_id } => {
            // A refusal on the device is the agent's: ringing → rejected,
            // dialing → the attempt ends.
            let _ = state.hang_up_as(&user_id, &job, HangupBy::Agent);
        }
        Then::Nothing => {}
    }
    phone.changed();
}

/// A request from the device other than REGISTER.
pub(crate) async fn on_request(state: &SimState, conn: u64, msg: &Message) {
    let Some(method) = msg.method() else { return };
    let phone = state.softphone();
    let call_id = msg.call_id().unwrap_or_default().to_owned();
    let reply = |code: u16| msg.reply(code, Some(&new_tag()));
    match method {
        Method::Options => {
            let r = reply(200).with("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO");
            Softphone::send(&phone.hub(), conn, &r);
        }
        Method::Ack => {} // for our 200 to a re-INVITE
        Method::Bye => {
            let found = {
                let mut hub = phone.hub();
                let key = hub
                    .calls
                    .iter()
                    .find(|(_, c)| c.conn == conn && c.call_id == call_id)
                    .map(|(j, _)| j.clone());
                let code = if key.is_some() { 200 } else { 481 };
                let found = key
                    .and_then(|k| hub.calls.remove(&k))
                    .map(|c| (c.user_id, c.job_id));
                Softphone::send(&hub, conn, &msg.reply(code, None));
                found
            };
            if let Some((user_id, job)) = found {
                tracing::info!(job, "BYE from the agent's device: released");
                let _ = state.hang_up_as(&user_id, &job, HangupBy::Agent);
                phone.changed();
            }
        }
        Method::Invite => {
            let found = {
                let hub = phone.hub();
                hub.calls
                    .values()
                    .find(|c| c.conn == conn && c.call_id == call_id)
                    .map(|c| (c.media.clone(), c.local_tag()))
            };
            match found {
                Some((Some(media), tag)) => {
                    // re-INVITE: a new offer for the same call.
                    let r = match media.accept_offer(&msg.body).await {
                        Ok(sdp) => msg
                            .reply(200, tag.as_deref())
                            .with("Contact", format!("<sip:ccc-sim@{HOST};transport=ws>"))
                            .with_body("application/sdp", sdp),
                        Err(e) => {
                            tracing::info!(error = %e, "re-INVITE refused");
                            msg.reply(488, tag.as_deref())
                        }
                    };
                    Softphone::send(&phone.hub(), conn, &r);
                }
                Some((None, tag)) => {
                    Softphone::send(&phone.hub(), conn, &msg.reply(491, tag.as_deref()));
                }
                None => {
                    // Calls start with MakeCall, not from the device.
                    let mut r = reply(403);
                    if let ccc_sip::StartLine::Response { reason, .. } = &mut r.start {
                        *reason = "Forbidden (dial with MakeCall)".to_owned();
                    }
                    Softphone::send(&phone.hub(), conn, &r);
                }
            }
        }
        Method::Cancel => {
            Softphone::send(&phone.hub(), conn, &reply(481));
        }
        Method::Info | Method::Message | Method::Notify => {
            Softphone::send(&phone.hub(), conn, &reply(200));
        }
        _ => {
            let r = reply(405).with("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO");
            Softphone::send(&phone.hub(), conn, &r);
        }
    }
}
