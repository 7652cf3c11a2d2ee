//! Connected / reconnecting / offline, and "stale since hh:mm:ss".

use leptos::prelude::*;

use crate::{browser::local_clock, i18n::tr, logic::ConnectionState, state::Toolbar};

/// The connection indicator.
#[component]
pub fn ConnectionStatus() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let state = Memo::new(move |_| tb.connection());
    let stale = Memo::new(move |_| tb.health.with(|h| h.stale_since(tb.now.get())));
    view! {
        <div
            class=move || format!("ccc-conn ccc-conn--{}", state.get().as_str())
            data-testid="connection-status"
            data-connection=move || state.get().as_str()
            role="status"
        >
            <span class="ccc-conn__dot" aria-hidden="true"></span>
            <span>
                {move || {
                    let lang = tb.lang.get();
                    match state.get() {
                        ConnectionState::Connected => tr(lang, "Connected", "已连接"),
                        ConnectionState::Reconnecting => tr(lang, "Reconnecting…", "正在重连…"),
                        ConnectionState::Offline => tr(lang, "Offline", "网络断开"),
                    }
                }}
            </span>
            {move || {
                stale
                    .get()
                    .map(|t| {
                        let lang = tb.lang.get();
                        view! {
                            <span class="ccc-conn__stale" data-testid="stale-since">
                                {format!("{} {}", tr(lang, "stale since", "数据停留于"), local_clock(t))}
                            </span>
                        }
                    })
            }}
            <Show when=move || state.get() != ConnectionState::Connected>
                <button
                    type="button"
                    class="ccc-btn ccc-btn--link"
                    data-testid="resync-now"
                    on:click=move |_| tb.resync()
                >
                    {move || tr(tb.lang.get(), "Retry now", "立即重试")}
                </button>
            </Show>
        </div>
    }
}
