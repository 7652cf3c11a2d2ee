//! The transfer panel (issue 18): one search box over the proxy's
//! directory (`GET /api/v1/directory?q=`, asked 250 ms after the last
//! keystroke), listing favourites, ready agents, skill groups, the other
//! agents with their state ("On a call"), and a typed number as a number
//! target; then **Transfer now** (blind) or **Consult first**. A combobox
//! with a listbox: ↑/↓ move, Enter picks, Escape closes and gives the focus
//! back to the Transfer button.

use ccc_model::api::{DirectoryEntry, DirectoryState, TargetType, TransferKind, TransferTarget};
use leptos::{html, prelude::*, task::spawn_local};

use crate::{
    browser::sleep,
    components::{action_button::unique_id, yes_no, ActionButton},
    i18n::{self, Words},
    logic::{
        transfer::{choices, request},
        Command, CommandKind,
    },
    state::Toolbar,
};

/// Wait after the last keystroke before asking the directory (ms).
pub const SEARCH_DEBOUNCE_MS: f64 = 250.0;

/// `data-type` of a target.
pub fn target_type(kind: TargetType) -> &'static str {
    match kind {
        TargetType::Agent => "agent",
        TargetType::SkillGroup => "skill-group",
        TargetType::Number => "number",
    }
}

/// An agent's directory state: `data-state` and its words.
fn state_words(state: DirectoryState) -> (&'static str, Words) {
    match state {
        DirectoryState::Ready => ("ready", i18n::AGENT_READY),
        DirectoryState::OnCall => ("oncall", i18n::AGENT_ON_CALL),
        DirectoryState::Acw => ("acw", i18n::AGENT_ACW),
        DirectoryState::Break => ("break", i18n::AGENT_BREAK),
        DirectoryState::Offline => ("offline", i18n::AGENT_OFFLINE),
    }
}

/// The panel. `id` is its element id (the Transfer button's
/// `aria-controls`); `on_close` closes it and gives the focus back.
#[component]
pub fn TransferPanel(
    /// The panel's element id.
    id: String,
    /// Escape or ×.
    #[prop(into)]
    on_close: Callback<()>,
) -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let query = RwSignal::new(String::new());
    let entries = RwSignal::new(Vec::<DirectoryEntry>::new());
    let searching = RwSignal::new(true);
    let failed = RwSignal::new(false);
    let selected = RwSignal::new(None::<TransferTarget>);
    let active = RwSignal::new(0usize);
    let caller_id = RwSignal::new(String::new());
    let generation = StoredValue::new(0u32);
    let input = NodeRef::<html::Input>::new();
    let list_id = unique_id("xfer-list");
    let me = tb
        .session
        .with_untracked(|s| s.as_ref().map(|s| s.user_id.clone()))
        .unwrap_or_default();

    // Only the last query's answer is shown; one left behind by a closed
    // panel goes nowhere.
    let search = move |q: String, delay: f64| {
        generation.update_value(|g| *g += 1);
        let gen = generation.get_value();
        searching.set(true);
        spawn_local(async move {
            if delay > 0.0 {
                sleep(delay).await;
            }
            if generation.try_get_value() != Some(gen) {
                return;
            }
            let api = tb.api.get_value();
            let answer = api.directory(&q).await;
            if generation.try_get_value() != Some(gen) {
                return;
            }
            match answer {
                Ok(d) => {
                    entries.set(d.entries);
                    failed.set(false);
                }
                Err(_) => {
                    entries.set(Vec::new());
                    failed.set(true);
                }
            }
            searching.set(false);
        });
    };
    search(String::new(), 0.0);
    request_animation_frame(move || {
        if let Some(i) = input.get_untracked() {
            let _ = i.focus();
        }
    });

    let list = Memo::new(move |_| {
        let q = query.get();
        entries.with(|e| choices(&q, e, &me))
    });
    // The pick, while the list still shows it.
    let picked = Memo::new(move |_| {
        selected
            .get()
            .filter(|t| list.with(|l| l.iter().any(|e| e.target == *t)))
    });
    let is_number = Signal::derive(move || {
        picked.with(|p| p.as_ref().is_some_and(|t| t.kind == TargetType::Number))
    });
    let caller_ids = Memo::new(move |_| {
        tb.session
            .with(|s| s.as_ref().map(|s| s.caller_ids.clone()).unwrap_or_default())
    });
    let blocked = Signal::derive(move || {
        picked
            .with(Option::is_none)
            .then(|| tb.t(i18n::PICK_TARGET).get().to_owned())
    });
    let send = move |kind: TransferKind| {
        let Some(target) = picked.get_untracked() else {
            return;
        };
        let caller = Some(caller_id.get_untracked());
        // The consult card names the target even when the proxy does not.
        let name = list.with_untracked(|l| {
            l.iter()
                .find(|e| e.target == target)
                .map(|e| e.name.clone())
        });
        if let Some(name) = name {
            tb.target_name.set(Some((target.clone(), name)));
        }
        tb.run(Command::Transfer(request(kind, target, caller)));
    };
    let option_id = {
        let list_id = list_id.clone();
        move |i: usize| format!("{list_id}-{i}")
    };
    let active_id = {
        let option_id = option_id.clone();
        Signal::derive(move || {
            let n = list.with(Vec::len);
            (n > 0).then(|| option_id(active.get().min(n - 1)))
        })
    };
    let status = Signal::derive(move || {
        if failed.get() {
            tb.t(i18n::DIRECTORY_FAILED).get()
        } else if searching.get() {
            tb.t(i18n::SEARCHING).get()
        } else if list.with(Vec::is_empty) {
            tb.t(i18n::NO_TARGET).get()
        } else {
            ""
        }
    });

    let options = move || {
        let lang = tb.lang.get();
        let pick = picked.get();
        let act = active.get();
        list.get()
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                let t = e.target.clone();
                let is_picked = pick.as_ref() == Some(&t);
                let (state_attr, state_text) = match e.state {
                    Some(s) => {
                        let (a, w) = state_words(s);
                        (Some(a), i18n::tr(lang, w.0, w.1))
                    }
                    None => (None, ""),
                };
                let kind_text = match t.kind {
                    TargetType::Agent => e.extension.clone().unwrap_or_default(),
                    TargetType::SkillGroup => {
                        i18n::tr(lang, i18n::SKILL_GROUP.0, i18n::SKILL_GROUP.1).to_owned()
                    }
                    TargetType::Number => i18n::tr(
                        lang,
                        i18n::EXTERNAL_NUMBER.0,
                        i18n::EXTERNAL_NUMBER.1,
                    )
                    .to_owned(),
                };
                let fav = e
                    .favourite
                    .then(|| i18n::tr(lang, i18n::FAVOURITE.0, i18n::FAVOURITE.1));
                let class = if i == act {
                    "ccc-menu__item ccc-xfer__item ccc-menu__item--active"
                } else {
                    "ccc-menu__item ccc-xfer__item"
                };
                view! {
                    <li
                        id=option_id(i)
                        class=class
                        role="option"
                        data-testid="transfer-target"
                        data-type=target_type(t.kind)
                        data-id=t.id.clone()
                        data-state=state_attr
                        aria-selected=yes_no(is_picked)
                        on:click=move |_| {
                            active.set(i);
                            selected.set(Some(t.clone()));
                        }
                    >
                        <span class=["ccc-dot ccc-xfer__dot ccc-xfer__dot--", state_attr.unwrap_or("none")]
                            .concat()></span>
                        <span class="ccc-menu__label">{e.name}</span>
                        <span class="ccc-xfer__meta">{kind_text}</span>
                        <span class="ccc-xfer__state">{state_text}</span>
                        {fav.map(|f| view! { <span class="ccc-xfer__fav" title=f aria-label=f>"★"</span> })}
                    </li>
                }
            })
            .collect_view()
    };

    let on_key = move |ev: web_sys::KeyboardEvent| {
        let n = list.with_untracked(Vec::len);
        match ev.key().as_str() {
            "ArrowDown" if n > 0 => {
                ev.prevent_default();
                active.update(|a| *a = (*a + 1).min(n - 1));
            }
            "ArrowUp" if n > 0 => {
                ev.prevent_default();
                active.update(|a| *a = a.saturating_sub(1));
            }
            "Enter" if n > 0 => {
                ev.prevent_default();
                let i = active.get_untracked().min(n - 1);
                let t = list.with_untracked(|l| l[i].target.clone());
                selected.set(Some(t));
            }
            _ => {}
        }
    };

    view! {
        <div
            id=id
            class="ccc-xfer"
            role="group"
            data-testid="transfer-panel"
            aria-label=tb.t(i18n::TRANSFER_CALL)
            on:keydown=move |ev| {
                if ev.key() == "Escape" && !ev.default_prevented() {
                    ev.prevent_default();
                    on_close.run(());
                }
            }
        >
            <div class="ccc-xfer__top">
                <input
                    node_ref=input
                    type="search"
                    class="ccc-input ccc-xfer__search"
                    data-testid="transfer-search"
                    role="combobox"
                    autocomplete="off"
                    aria-autocomplete="list"
                    aria-expanded="true"
                    aria-controls=list_id.clone()
                    aria-activedescendant=active_id
                    aria-label=tb.t(i18n::TRANSFER_SEARCH)
                    placeholder=tb.t(i18n::TRANSFER_PLACEHOLDER)
                    prop:value=query
                    on:input=move |ev| {
                        let q = event_target_value(&ev);
                        query.set(q.clone());
                        active.set(0);
                        search(q, SEARCH_DEBOUNCE_MS);
                    }
                    on:keydown=on_key
                />
                <button
                    type="button"
                    class="ccc-btn ccc-btn--icon"
                    data-testid="transfer-close"
                    aria-label=tb.t(i18n::CLOSE)
                    on:click=move |_| on_close.run(())
                >
                    "×"
                </button>
            </div>
            <ul
                id=list_id
                class="ccc-menu ccc-xfer__list"
                role="listbox"
                data-testid="transfer-results"
                aria-label=tb.t(i18n::TRANSFER_TARGETS)
            >
                {options}
            </ul>
            <p class="ccc-xfer__status" data-testid="transfer-status" role="status">
                {status}
            </p>
            <Show when=move || is_number.get() && caller_ids.with(|c| !c.is_empty())>
                <select
                    class="ccc-select"
                    data-testid="transfer-caller-id"
                    aria-label=tb.t(i18n::CALLER_ID)
                    on:change=move |ev| caller_id.set(event_target_value(&ev))
                >
                    <option value="">{tb.t(i18n::DEFAULT_CALLER_ID)}</option>
                    {move || {
                        caller_ids
                            .get()
                            .into_iter()
                            .map(|id| {
                                let sel = caller_id.with_untracked(|c| *c == id);
                                let label = id.clone();
                                view! { <option value=id selected=sel>{label}</option> }
                            })
                            .collect_view()
                    }}
                </select>
            </Show>
            <div class="ccc-xfer__actions">
                <ActionButton
                    kind=CommandKind::Transfer
                    testid="transfer-blind"
                    class="ccc-slot ccc-btn--answer"
                    label=tb.t(i18n::BLIND)
                    blocked=blocked
                    on_press=move |_| send(TransferKind::Blind)
                />
                <ActionButton
                    kind=CommandKind::Transfer
                    testid="transfer-consult"
                    class="ccc-slot"
                    label=tb.t(i18n::CONSULT)
                    blocked=blocked
                    on_press=move |_| send(TransferKind::Consult)
                />
            </div>
        </div>
    }
}
