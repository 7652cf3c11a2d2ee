//! The one-at-a-time bookkeeping that makes a double click send one command.
//! The commands themselves (`POST /api/v1/agent/{name}`) are the API
//! contract, shared with the proxy: [`ccc_model::api::Command`].

pub use ccc_model::api::{Command, CommandBody, CommandKind};

/// One command in flight at a time: a second one (a double click, a
/// shortcut during a click) is refused until the first is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pending {
    current: Option<CommandKind>,
}

impl Pending {
    /// The command in flight.
    pub fn current(&self) -> Option<CommandKind> {
        self.current
    }

    /// Starts `kind` unless another command is in flight; true when started.
    pub fn try_start(&mut self, kind: CommandKind) -> bool {
        if self.current.is_some() {
            return false;
        }
        self.current = Some(kind);
        true
    }

    /// The command was answered (either way).
    pub fn finish(&mut self) {
        self.current = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_command_at_a_time() {
        let mut p = Pending::default();
        assert!(p.try_start(CommandKind::Ready));
        assert!(!p.try_start(CommandKind::Ready), "double click ignored");
        assert!(!p.try_start(CommandKind::Break));
        assert_eq!(p.current(), Some(CommandKind::Ready));
        p.finish();
        assert!(p.try_start(CommandKind::Break));
    }
}
