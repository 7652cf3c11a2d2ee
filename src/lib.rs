//! The CCC agent toolbar: a Leptos widget that shows the agent's CCC state and
//! drives it through the same-origin proxy.
//!
//! `main.rs` only mounts [`App`]; every component is public here so that
//! `tests/web.rs` can mount it in a real browser.

pub mod components;
pub mod i18n;

use ccc_model::api::Agent;
use leptos::prelude::*;

use crate::components::StateBadge;

/// The whole toolbar.
#[component]
pub fn App() -> impl IntoView {
    let agent = RwSignal::new(Agent::default());
    view! {
        <div class="ccc-toolbar" data-testid="ccc-toolbar" data-state=move || agent.with(|a| a.state.as_str().to_owned())>
            <StateBadge agent=agent />
        </div>
    }
}
