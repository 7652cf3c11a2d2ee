//! Connected / reconnecting / offline, and "stale since hh:mm:ss".

use leptos::prelude::*;

use crate::{
    browser::local_clock,
    components::OptionalSpan,
    i18n::{tr, Lang},
    logic::ConnectionState,
    state::Toolbar,
};

/// The indicator's CSS classes.
fn class(state: ConnectionState) -> &'static str {
    match state {
        ConnectionState::Connected => "ccc-conn ccc-conn--connected",
        ConnectionState::Reconnecting => "ccc-conn ccc-conn--reconnecting",
        ConnectionState::Offline => "ccc-conn ccc-conn--offline",
    }
}

/// The connection indicator, with a "Retry now" button while not connected.
#[component]
pub fn ConnectionStatus() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let state = Memo::new(move |_| tb.connection());
    let label = Signal::derive(move || {
        let lang = tb.lang.get();
        match state.get() {
            ConnectionState::Connected => tr(lang, "Connected", "已连接"),
            ConnectionState::Reconnecting => tr(lang, "Reconnecting…", "正在重连…"),
            ConnectionState::Offline => tr(lang, "Offline", "网络断开"),
        }
    });
    let stale_since = Signal::derive(move || {
        tb.health
            .with(|h| h.stale_since(tb.now.get()))
            .map(|t| match tb.lang.get() {
                Lang::En => format!("stale since {}", local_clock(t)),
                Lang::Zh => format!("数据停留于 {}", local_clock(t)),
            })
    });
    view! {
        <div
            class=Signal::derive(move || class(state.get()))
            data-testid="connection-status"
            data-connection=Signal::derive(move || state.get().as_str())
            role="status"
        >
            <span class="ccc-conn__dot" aria-hidden="true"></span>
            <span class="ccc-conn__label">{label}</span>
            <OptionalSpan class="ccc-conn__stale" testid="stale-since" text=stale_since />
            <Show when=move || state.get() != ConnectionState::Connected>
                <button
                    type="button"
                    class="ccc-btn ccc-btn--link"
                    data-testid="resync-now"
                    on:click=move |_| tb.resync()
                >
                    {tb.text("Retry now", "立即重试")}
                </button>
            </Show>
        </div>
    }
}
