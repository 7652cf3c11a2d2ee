//! The status menu: one button showing the agent's state (colour, label,
//! break reason, time in state) that opens the list of states the agent can
//! go to — Available, Outbound only, each break reason by its display name,
//! Offline (and Go online while offline). Entries CCC does not allow now are
//! disabled and say why (tooltip, and inline on the active entry). With many
//! break reasons a search field filters them, recently used first.
//!
//! Keyboard: Enter/Space/↓ on the button opens it; ↑/↓, Home/End move;
//! Enter picks; Escape closes and gives the focus back to the button; typing
//! in the search field filters.

use ccc_model::{api::Agent, UserState};
use leptos::{ev::KeyboardEvent, html, prelude::*};
use wasm_bindgen::JsCast;

use crate::{
    components::{action_button::unique_id, yes_no, StateBadge, StateTimer},
    hooks::Ringer,
    i18n::{self, command_label, tr},
    logic::{
        breaks,
        status::{offers_go_online, StatusChoice},
        CommandKind,
    },
    state::{Toolbar, TruthStoreFields},
};

/// More break reasons than this and the menu gets a search field.
pub const SEARCH_FROM: usize = 6;

/// The colour class of a state's dot.
pub fn dot_class(state: &UserState) -> &'static str {
    match state {
        UserState::Offline => "ccc-dot ccc-dot--offline",
        UserState::Ready => "ccc-dot ccc-dot--ready",
        UserState::Break => "ccc-dot ccc-dot--break",
        UserState::Dialing | UserState::Ringing => "ccc-dot ccc-dot--alerting",
        UserState::Talking => "ccc-dot ccc-dot--talking",
        UserState::Working => "ccc-dot ccc-dot--working",
        UserState::Unknown(_) => "ccc-dot ccc-dot--unknown",
    }
}

/// The state an entry leads to (for its dot).
fn choice_state(c: &StatusChoice) -> UserState {
    match c {
        StatusChoice::GoOnline | StatusChoice::Break(_) => UserState::Break,
        StatusChoice::Available | StatusChoice::OutboundOnly => UserState::Ready,
        StatusChoice::Offline => UserState::Offline,
    }
}

/// The status button and its menu.
#[component]
pub fn StatusMenu() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let truth = tb.truth;
    let open = tb.status_menu_open;
    let query = RwSignal::new(String::new());
    let active = RwSignal::new(0usize);
    let button = NodeRef::<html::Button>::new();
    let search = NodeRef::<html::Input>::new();
    let list = NodeRef::<html::Ul>::new();
    let menu_id = unique_id("status");
    let opt_prefix = StoredValue::new(unique_id("st"));
    let option_id = move |i: usize| opt_prefix.with_value(|p| format!("{p}-{i}"));

    let agent = Signal::derive(move || {
        tb.snapshot
            .with(|s| s.as_ref().map(|s| s.agent.clone()).unwrap_or_default())
    });
    let state = Memo::new(move |_| truth.state().with(|s| s.0.clone()));
    let known = Memo::new(move |_| truth.known().get());
    let many = Memo::new(move |_| truth.break_codes().with(Vec::len) >= SEARCH_FROM);
    let entries = Memo::new(move |_| {
        let configured = truth.break_codes().get();
        let ordered = tb.recent_breaks.with(|r| breaks::ordered(&configured, r));
        let q = query.get();
        let matching = breaks::filter(&ordered, &q, |c| tb.break_name(c))
            .into_iter()
            .map(|c| StatusChoice::Break(c.clone()));
        if !q.trim().is_empty() {
            return matching.collect::<Vec<_>>();
        }
        let mut out = Vec::new();
        let other_device = tb.other_device().is_some();
        if offers_go_online(known.get().then(|| state.get()).as_ref(), other_device) {
            out.push(StatusChoice::GoOnline);
        }
        out.push(StatusChoice::Available);
        out.push(StatusChoice::OutboundOnly);
        out.extend(matching);
        out.push(StatusChoice::Offline);
        out
    });
    // Why an entry can't be picked now (`None`: it can).
    let why_not = move |c: &StatusChoice, agent: &Agent| -> Option<String> {
        tb.why_not(c.kind()).or_else(|| {
            c.is_current(agent)
                .then(|| tr(tb.lang.get(), i18n::CURRENT.0, i18n::CURRENT.1).to_owned())
        })
    };
    let close = move |refocus: bool| {
        open.set(false);
        query.set(String::new());
        if refocus {
            if let Some(b) = button.get_untracked() {
                let _ = b.focus();
            }
        }
    };
    // "Go online" is the gesture on which the toolbar asks for the
    // notification permission and unlocks audio for the ring tone.
    let ringer = StoredValue::new_local(use_context::<Ringer>());
    let choose = move |c: StatusChoice| {
        let ok = agent.with_untracked(|a| untrack(|| why_not(&c, a)).is_none());
        if ok {
            if c == StatusChoice::GoOnline {
                ringer.with_value(|r| {
                    if let Some(r) = r {
                        r.prime();
                    }
                });
            }
            close(true);
            tb.run(c.command());
        }
    };
    // Opening starts at the first entry that can be picked, and puts the
    // focus in the search field or on the list.
    Effect::new(move || {
        if open.get() {
            let first = untrack(|| {
                let a = agent.get();
                entries.with(|e| e.iter().position(|c| why_not(c, &a).is_none()))
            });
            active.set(first.unwrap_or(0));
            request_animation_frame(move || {
                let target: Option<web_sys::HtmlElement> = match search.get_untracked() {
                    Some(s) if many.get_untracked() => Some(s.unchecked_into()),
                    _ => list.get_untracked().map(|l| l.unchecked_into()),
                };
                if let Some(t) = target {
                    let _ = t.focus();
                }
            });
        }
    });
    let on_key = move |ev: KeyboardEvent| {
        let n = entries.with_untracked(Vec::len);
        match ev.key().as_str() {
            "ArrowDown" => {
                ev.prevent_default();
                if n > 0 {
                    active.update(|a| *a = (*a + 1) % n);
                }
            }
            "ArrowUp" => {
                ev.prevent_default();
                if n > 0 {
                    active.update(|a| *a = (*a + n - 1) % n);
                }
            }
            "Home" => {
                ev.prevent_default();
                active.set(0);
            }
            "End" => {
                ev.prevent_default();
                active.set(n.saturating_sub(1));
            }
            "Enter" | " " if ev.key() == "Enter" || !many.get_untracked() => {
                ev.prevent_default();
                let c = entries.with_untracked(|e| e.get(active.get_untracked()).cloned());
                if let Some(c) = c {
                    choose(c);
                }
            }
            "Escape" => {
                ev.prevent_default();
                close(true);
            }
            "Tab" => close(false),
            _ => {}
        }
    };
    let on_button_key = move |ev: KeyboardEvent| {
        if ev.key() == "ArrowDown" && !open.get_untracked() {
            ev.prevent_default();
            open.set(true);
        }
    };
    // Pending: the button says what is on its way ("Starting break…").
    let pending_label = Signal::derive(move || {
        tb.pending
            .with(|p| p.current())
            .filter(|k| {
                matches!(
                    k,
                    CommandKind::SignIn
                        | CommandKind::SignOut
                        | CommandKind::Ready
                        | CommandKind::Break
                )
            })
            .map(|k| command_label(k, true, tb.lang.get()))
    });
    let elapsed = Signal::derive(move || tb.time_in_state());
    let reasons = Signal::derive(move || truth.break_reasons().with(|r| r.0.clone()));
    let lang = Signal::derive(move || tb.lang.get());
    let menu_id2 = menu_id.clone();
    let list_label = tb.t(i18n::CHANGE_STATUS);
    view! {
        <div
            class="ccc-status"
            on:focusout=move |ev: leptos::ev::FocusEvent| {
                // Focus left the menu and its button: close it.
                let inside = ev
                    .related_target()
                    .and_then(|t| t.dyn_into::<web_sys::Node>().ok())
                    .zip(ev.current_target().and_then(|t| t.dyn_into::<web_sys::Node>().ok()))
                    .is_some_and(|(t, me)| me.contains(Some(&t)));
                if !inside && open.get_untracked() {
                    close(false);
                }
            }
        >
            <button
                type="button"
                node_ref=button
                class=Signal::derive(move || {
                    if known.get() { "ccc-status__button" } else { "ccc-status__button ccc-status__button--unknown" }
                })
                data-testid="status-menu-button"
                aria-haspopup="menu"
                aria-expanded=Signal::derive(move || yes_no(open.get()))
                aria-controls=menu_id.clone()
                aria-busy=Signal::derive(move || yes_no(pending_label.with(Option::is_some)))
                title=list_label
                on:click=move |_| {
                    if open.get_untracked() { close(true) } else { open.set(true) }
                }
                on:keydown=on_button_key
            >
                <span class=Signal::derive(move || dot_class(&state.get())) aria-hidden="true"></span>
                <StateBadge agent=agent lang=lang reasons=reasons brief=true />
                <span class="ccc-status__pending" data-testid="status-pending">
                    {pending_label}
                </span>
                <StateTimer elapsed=elapsed />
                <span class="ccc-status__caret" aria-hidden="true">"▾"</span>
            </button>
            <div
                class="ccc-popup ccc-status__popup"
                data-testid="status-menu"
                hidden=Signal::derive(move || !open.get())
                on:keydown=on_key
            >
                <Show when=move || many.get()>
                    <input
                        node_ref=search
                        class="ccc-input"
                        type="text"
                        role="combobox"
                        autocomplete="off"
                        data-testid="break-search"
                        aria-autocomplete="list"
                        aria-expanded=Signal::derive(move || yes_no(open.get()))
                        aria-controls=menu_id2.clone()
                        aria-activedescendant=Signal::derive(move || Some(option_id(active.get())))
                        aria-label=tb.text("Break reason", "小休原因")
                        placeholder=tb.t(i18n::SEARCH_REASONS)
                        prop:value=query
                        on:input=move |ev| {
                            query.set(event_target_value(&ev));
                            active.set(0);
                        }
                    />
                </Show>
                <ul
                    node_ref=list
                    class="ccc-menu"
                    role="menu"
                    id=menu_id
                    tabindex="-1"
                    aria-label=list_label
                    aria-activedescendant=Signal::derive(move || Some(option_id(active.get())))
                >
                    {move || {
                        let lang = tb.lang.get();
                        let a = agent.get();
                        let list = entries.get();
                        if list.is_empty() {
                            let none = tr(lang, i18n::NO_MATCH.0, i18n::NO_MATCH.1);
                            return view! {
                                <li role="none" class="ccc-menu__empty">{none}</li>
                            }
                                .into_any();
                        }
                        let pending = tb.pending.with(|p| p.current());
                        list.into_iter()
                            .enumerate()
                            .map(|(i, c)| {
                                let reason = why_not(&c, &a);
                                let current = c.is_current(&a);
                                let words = match &c {
                                    StatusChoice::GoOnline => i18n::GO_ONLINE,
                                    StatusChoice::Available => i18n::AVAILABLE,
                                    StatusChoice::OutboundOnly => i18n::OUTBOUND_ONLY,
                                    StatusChoice::Offline => i18n::GO_OFFLINE,
                                    StatusChoice::Break(_) => ("", ""),
                                };
                                let label = match &c {
                                    StatusChoice::Break(code) => tb.break_name(code),
                                    _ => tr(lang, words.0, words.1).to_owned(),
                                };
                                let first_break = matches!(c, StatusChoice::Break(_))
                                    && (i == 0 || !matches!(entries.with_untracked(|e| e.get(i - 1).cloned()), Some(StatusChoice::Break(_))));
                                let separated = first_break || matches!(c, StatusChoice::Offline);
                                let code = match &c {
                                    StatusChoice::Break(code) => Some(code.clone()),
                                    _ => None,
                                };
                                let dot = dot_class(&choice_state(&c));
                                let testid = c.testid();
                                let busy = yes_no(pending == Some(c.kind()));
                                let disabled = yes_no(reason.is_some());
                                let why = reason.clone();
                                let why_id = option_id(i) + "-why";
                                let described_by = why_id.clone();
                                view! {
                                    <li
                                        role="menuitemradio"
                                        id=option_id(i)
                                        class="ccc-menu__item"
                                        class:ccc-menu__item--sep=separated
                                        class:ccc-menu__item--active=Signal::derive(move || active.get() == i)
                                        aria-checked=yes_no(current)
                                        aria-disabled=disabled
                                        aria-busy=busy
                                        data-pending=busy
                                        title=reason
                                        aria-describedby=described_by
                                        data-testid=testid
                                        data-code=code
                                        on:mousedown=|ev| ev.prevent_default()
                                        on:mousemove=move |_| {
                                            if active.get_untracked() != i {
                                                active.set(i);
                                            }
                                        }
                                        on:click={
                                            let c = c.clone();
                                            move |_| choose(c.clone())
                                        }
                                    >
                                        <span class=dot aria-hidden="true"></span>
                                        <span class="ccc-menu__label">{label}</span>
                                        <span class="ccc-menu__check" aria-hidden="true">
                                            {if current { "✓" } else { "" }}
                                        </span>
                                        <span
                                            class="ccc-sr-only"
                                            id=why_id
                                            data-testid=format!("{testid}-reason")
                                        >
                                            {why}
                                        </span>
                                    </li>
                                }
                                    .into_any()
                            })
                            .collect_view()
                            .into_any()
                    }}
                </ul>
                // Why the active entry can't be picked: one reserved line,
                // so moving through the menu never changes its height.
                <p class="ccc-menu__why" data-testid="status-why" aria-hidden="true">
                    {move || {
                        let a = agent.get();
                        entries
                            .with(|e| e.get(active.get()).cloned())
                            .and_then(|c| why_not(&c, &a))
                            .unwrap_or_default()
                    }}
                </p>
            </div>
        </div>
    }
}
