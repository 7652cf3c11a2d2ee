//! The toolbar's components.

pub mod state_badge;

pub use state_badge::StateBadge;
