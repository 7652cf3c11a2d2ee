//! At most one relay socket per device (and a few per agent).
//!
//! A second socket of the same device **replaces** the first: the first is
//! told to close (WebSocket close code [`CLOSE_REPLACED`]). Refusing the
//! newcomer instead would lock an agent out after a reload or a leader-tab
//! change until the old, possibly half-dead connection timed out; and a
//! new REGISTER replaces the old binding at the SIP server anyway.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use tokio::sync::watch;

/// Close code sent to a socket replaced by a newer one of its device.
pub const CLOSE_REPLACED: u16 = 4001;

#[derive(Debug)]
struct Entry {
    id: u64,
    replaced: watch::Sender<bool>,
}

#[derive(Debug, Default)]
struct Table {
    next_id: u64,
    /// `(user, device)` → the live socket.
    live: HashMap<(String, String), Entry>,
}

/// The relay sockets of this process.
#[derive(Debug, Clone, Default)]
pub struct Sockets {
    table: Arc<Mutex<Table>>,
}

/// The agent already holds `max` sockets on other devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooMany;

/// A claimed slot; dropping it frees the slot (unless a newer socket of
/// the device took it over already).
#[derive(Debug)]
pub struct Slot {
    table: Arc<Mutex<Table>>,
    key: (String, String),
    id: u64,
    /// Turns true when a newer socket of the device replaced this one.
    pub replaced: watch::Receiver<bool>,
}

impl Sockets {
    /// Claims `device`'s slot for `user`, replacing a live socket of the
    /// same device; refuses when `user` holds `max` sockets on other devices.
    pub fn claim(&self, user: &str, device: &str, max: usize) -> Result<Slot, TooMany> {
        let mut t = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (user.to_owned(), device.to_owned());
        if !t.live.contains_key(&key) {
            let others = t.live.keys().filter(|(u, _)| u == user).count();
            if others >= max {
                return Err(TooMany);
            }
        }
        t.next_id += 1;
        let id = t.next_id;
        let (tx, rx) = watch::channel(false);
        if let Some(old) = t.live.insert(key.clone(), Entry { id, replaced: tx }) {
            old.replaced.send_replace(true);
        }
        Ok(Slot {
            table: self.table.clone(),
            key,
            id,
            replaced: rx,
        })
    }

    /// Whether `user` holds a live socket on `device`.
    pub fn holds(&self, user: &str, device: &str) -> bool {
        let t = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        t.live.contains_key(&(user.to_owned(), device.to_owned()))
    }

    /// Live sockets of `user`.
    pub fn count(&self, user: &str) -> usize {
        let t = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        t.live.keys().filter(|(u, _)| u == user).count()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut t = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        if t.live.get(&self.key).is_some_and(|e| e.id == self.id) {
            t.live.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_socket_of_a_device_replaces_the_first() {
        let s = Sockets::default();
        let first = s.claim("a@i", "dev1", 2).unwrap();
        assert!(!*first.replaced.borrow());
        let second = s.claim("a@i", "dev1", 2).unwrap();
        assert!(*first.replaced.borrow(), "the first is told to close");
        assert!(!*second.replaced.borrow());
        drop(first);
        assert_eq!(s.count("a@i"), 1, "the old slot's drop keeps the new one");
        drop(second);
        assert_eq!(s.count("a@i"), 0);
    }

    #[test]
    fn devices_per_agent_are_capped() {
        let s = Sockets::default();
        let _a = s.claim("a@i", "d1", 2).unwrap();
        let _b = s.claim("a@i", "d2", 2).unwrap();
        assert_eq!(s.claim("a@i", "d3", 2).unwrap_err(), TooMany);
        // Replacing an existing device is not a new one; other agents are apart.
        assert!(s.claim("a@i", "d2", 2).is_ok());
        assert!(s.claim("b@i", "d1", 2).is_ok());
    }
}
