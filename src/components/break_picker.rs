//! Break with a reason: a button opening a searchable listbox of the
//! configured codes, recently used first. Arrow keys, Enter, Escape, typing
//! filters.

use leptos::{html, prelude::*};

use crate::{
    components::{action_button::unique_id, ActionButton},
    i18n::{break_label, tr},
    logic::{breaks, Command, CommandKind},
    state::Toolbar,
};

/// The break-reason picker.
#[component]
pub fn BreakPicker() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let open = tb.break_menu_open;
    let query = RwSignal::new(String::new());
    let active = RwSignal::new(0usize);
    let search = NodeRef::<html::Input>::new();
    let list_id = unique_id("breaks");
    let opt_prefix = unique_id("opt");
    let options = Memo::new(move |_| {
        let configured = tb.session.with(|s| {
            s.as_ref()
                .map(|s| s.break_codes.clone())
                .unwrap_or_default()
        });
        let ordered = tb.recent_breaks.with(|r| breaks::ordered(&configured, r));
        let lang = tb.lang.get();
        query.with(|q| {
            breaks::filter(&ordered, q, |c| break_label(c, lang))
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    let close = move || {
        open.set(false);
        query.set(String::new());
        active.set(0);
    };
    let choose = move |code: String| {
        close();
        tb.run(Command::Break { code });
    };
    // Focus the search box when the menu opens (also by shortcut).
    Effect::new(move |_| {
        if open.get() {
            if let Some(input) = search.get() {
                let _ = input.focus();
            }
        }
    });
    // A state where break is not allowed closes the menu.
    Effect::new(move |_| {
        if tb.why_not(CommandKind::Break).is_some() && open.get_untracked() {
            close();
        }
    });
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let n = options.with(Vec::len);
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
            "Home" => active.set(0),
            "End" => active.set(n.saturating_sub(1)),
            "Enter" => {
                ev.prevent_default();
                if let Some(code) = options.with(|o| o.get(active.get_untracked()).cloned()) {
                    choose(code);
                }
            }
            "Escape" => {
                ev.prevent_default();
                close();
            }
            _ => {}
        }
    };
    let label = Signal::derive(move || format!("{} ▾", tr(tb.lang.get(), "Break", "小休")));
    let prefix = opt_prefix.clone();
    let list_id2 = list_id.clone();
    view! {
        <span class="ccc-picker">
            <ActionButton
                kind=CommandKind::Break
                testid="break-picker"
                label=label
                on_press=move |_| {
                    if open.get_untracked() { close() } else { open.set(true) }
                }
            />
            <div class="ccc-popup" hidden=move || !open.get() data-testid="break-menu">
                <input
                    node_ref=search
                    class="ccc-input"
                    type="text"
                    role="combobox"
                    autocomplete="off"
                    data-testid="break-search"
                    aria-autocomplete="list"
                    aria-expanded=move || open.get().to_string()
                    aria-controls=list_id
                    aria-activedescendant=move || format!("{opt_prefix}-{}", active.get())
                    aria-label=move || tr(tb.lang.get(), "Break reason", "小休原因")
                    placeholder=move || tr(tb.lang.get(), "Search reasons…", "搜索原因…")
                    prop:value=move || query.get()
                    on:input=move |ev| {
                        query.set(event_target_value(&ev));
                        active.set(0);
                    }
                    on:keydown=on_key
                />
                <ul class="ccc-listbox" role="listbox" id=list_id2>
                    {move || {
                        let prefix = prefix.clone();
                        let lang = tb.lang.get();
                        options
                            .get()
                            .into_iter()
                            .enumerate()
                            .map(|(i, code)| {
                                let c = code.clone();
                                view! {
                                    <li
                                        role="option"
                                        id=format!("{prefix}-{i}")
                                        class="ccc-option"
                                        class:ccc-option--active=move || active.get() == i
                                        aria-selected=move || (active.get() == i).to_string()
                                        data-testid="break-option"
                                        data-code=code.clone()
                                        on:mousedown=|ev| ev.prevent_default()
                                        on:click=move |_| choose(c.clone())
                                    >
                                        {break_label(&code, lang)}
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ul>
            </div>
        </span>
    }
}
