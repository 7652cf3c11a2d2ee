//! One call from the simulator to the agent's device: the SIP dialog's
//! identifiers and the requests the simulator sends in it (INVITE, ACK,
//! CANCEL, BYE), as plain values.

use ccc_sip::{Message, Method, NameAddr, Via};

use super::media::Mix;
use super::{new_tag, SharedPeer};

/// The `sent-by` of the simulator's Via and Contact (RFC 7118 §5.2: a
/// WebSocket server has no address to put there).
pub const HOST: &str = "ccc-sim.invalid";

/// Where a SIP call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The media peer is being created; the INVITE is not sent yet.
    Offering,
    /// INVITE sent, no final answer.
    Inviting,
    /// 2xx received and ACKed.
    Established,
    /// CANCEL sent; waiting for the INVITE's final answer.
    Cancelling,
    /// The device refused; kept so the call is not offered again.
    Failed,
}

impl Phase {
    /// Its name in the media report (`sipPhase`).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Offering => "offering",
            Phase::Inviting => "inviting",
            Phase::Established => "established",
            Phase::Cancelling => "cancelling",
            Phase::Failed => "failed",
        }
    }
}

/// One call to the agent's device (a SIP dialog and its media).
#[derive(Debug)]
pub struct SipCall {
    pub(crate) job_id: String,
    pub(crate) user_id: String,
    pub(crate) conn: u64,
    pub(crate) outbound: bool,
    /// The dialled number (outbound) for the customer's answer timer.
    pub(crate) callee: Option<String>,
    pub(crate) phase: Phase,
    pub(crate) call_id: String,
    /// Our `From` (with our tag).
    pub(crate) from: String,
    /// The `To` we sent (no tag).
    pub(crate) to: String,
    pub(crate) remote_tag: Option<String>,
    /// The binding's Contact: the INVITE's Request-URI.
    pub(crate) request_uri: String,
    /// The Contact of the 2xx: in-dialog requests go there.
    pub(crate) remote_target: Option<String>,
    pub(crate) branch: String,
    pub(crate) cseq: u32,
    pub(crate) media: Option<SharedPeer>,
    pub(crate) mix: Mix,
    pub(crate) auto_answer: bool,
    pub(crate) caller: String,
}

impl SipCall {
    pub(crate) fn base(&self, method: Method, uri: &str, branch: &str, cseq: u32) -> Message {
        let to = match &self.remote_tag {
            Some(tag) => NameAddr::parse(&self.to)
                .map(|n| n.with_param("tag", Some(tag)).to_string())
                .unwrap_or_else(|| self.to.clone()),
            None => self.to.clone(),
        };
        let name = method.as_str().to_owned();
        Message::request(method, uri)
            .with("Via", Via::new("WS", HOST, branch).to_string())
            .with("Max-Forwards", "70")
            .with("From", self.from.clone())
            .with("To", to)
            .with("Call-ID", self.call_id.clone())
            .with("CSeq", format!("{cseq} {name}"))
    }

    pub(crate) fn invite(&self, sdp: &str, domain: &str) -> Message {
        let mut m = self
            .base(Method::Invite, &self.request_uri, &self.branch, self.cseq)
            .with("Contact", format!("<sip:ccc-sim@{HOST};transport=ws>"))
            .with("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO")
            .with("X-CCC-JobId", self.job_id.clone())
            .with("User-Agent", "ccc-sim");
        if self.auto_answer {
            // Agreed with the widget's user agent: answer at once.
            m.push("Call-Info", format!("<sip:{domain}>;answer-after=0"));
        }
        m.with_body("application/sdp", sdp)
    }

    /// ACK for a 2xx (a new transaction to the remote target).
    pub(crate) fn ack_2xx(&self) -> Message {
        let uri = self.remote_target.as_deref().unwrap_or(&self.request_uri);
        self.base(Method::Ack, uri, &new_tag(), self.cseq)
    }

    /// ACK for a non-2xx final answer (same transaction as the INVITE).
    pub(crate) fn ack_failure(&self, response: &Message) -> Message {
        let mut m = self.base(Method::Ack, &self.request_uri, &self.branch, self.cseq);
        if let Some(to) = response.header("To") {
            m.set("To", to.to_owned());
        }
        m
    }

    pub(crate) fn cancel(&self) -> Message {
        let mut m = self.base(Method::Cancel, &self.request_uri, &self.branch, self.cseq);
        m.set("CSeq", format!("{} CANCEL", self.cseq));
        m
    }

    pub(crate) fn bye(&mut self) -> Message {
        self.cseq += 1;
        let uri = self
            .remote_target
            .clone()
            .unwrap_or_else(|| self.request_uri.clone());
        self.base(Method::Bye, &uri, &new_tag(), self.cseq)
    }

    pub(crate) fn local_tag(&self) -> Option<String> {
        NameAddr::parse(&self.from).and_then(|n| n.tag().map(str::to_owned))
    }
}
