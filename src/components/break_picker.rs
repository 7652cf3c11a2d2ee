//! Break with a reason: a button opening a searchable listbox of the
//! configured codes, recently used first. Arrow keys, Enter, Escape, typing
//! filters.

use leptos::{ev::KeyboardEvent, html, prelude::*};

use crate::{
    components::{action_button::unique_id, yes_no, ActionButton},
    i18n::break_label,
    logic::{breaks, Command, CommandKind},
    state::Toolbar,
};

/// `<prefix>-<i>`: the id of the `i`-th option.
fn option_id(prefix: &str, i: usize) -> String {
    [prefix, "-", itoa::Buffer::new().format(i)].concat()
}

/// The break-reason picker.
#[component]
pub fn BreakPicker() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let open = tb.break_menu_open;
    let query = RwSignal::new(String::new());
    let active = RwSignal::new(0usize);
    let search = NodeRef::<html::Input>::new();
    let list_id = unique_id("breaks");
    let opt_prefix = StoredValue::new(unique_id("opt"));
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
    // The search box gets focus when the menu opens (also by shortcut).
    Effect::new(move || {
        if open.get() {
            if let Some(input) = search.get() {
                let _ = input.focus();
            }
        }
    });
    // A state where break is not allowed closes the menu.
    Effect::new(move || {
        if tb.why_not(CommandKind::Break).is_some() && open.get_untracked() {
            close();
        }
    });
    let on_key = move |ev: KeyboardEvent| {
        let n = options.with_untracked(Vec::len);
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
                let code = options.with_untracked(|o| o.get(active.get_untracked()).cloned());
                if let Some(code) = code {
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
    let label = tb.text("Break ▾", "小休 ▾");
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
            <div
                class="ccc-popup"
                hidden=Signal::derive(move || !open.get())
                data-testid="break-menu"
            >
                <input
                    node_ref=search
                    class="ccc-input"
                    type="text"
                    role="combobox"
                    autocomplete="off"
                    data-testid="break-search"
                    aria-autocomplete="list"
                    aria-expanded=Signal::derive(move || yes_no(open.get()))
                    aria-controls=list_id.clone()
                    aria-activedescendant=Signal::derive(move || {
                        Some(opt_prefix.with_value(|p| option_id(p, active.get())))
                    })
                    aria-label=tb.text("Break reason", "小休原因")
                    placeholder=tb.text("Search reasons…", "搜索原因…")
                    prop:value=query
                    on:input=move |ev| {
                        query.set(event_target_value(&ev));
                        active.set(0);
                    }
                    on:keydown=on_key
                />
                <ul class="ccc-listbox" role="listbox" id=list_id>
                    // A handful of options, rebuilt when the filter changes: a
                    // plain list of views (a keyed <For> costs ~15 KB of wasm
                    // for no visible gain here).
                    {move || {
                        let lang = tb.lang.get();
                        options
                            .get()
                            .into_iter()
                            .enumerate()
                            .map(|(i, code)| {
                                let label = break_label(&code, lang);
                                let picked = code.clone();
                                view! {
                                    <li
                                        role="option"
                                        id=opt_prefix.with_value(|p| option_id(p, i))
                                        class="ccc-option"
                                        class:ccc-option--active=Signal::derive(move || active.get() == i)
                                        aria-selected=Signal::derive(move || yes_no(active.get() == i))
                                        data-testid="break-option"
                                        data-code=code
                                        on:mousedown=|ev| ev.prevent_default()
                                        on:click=move |_| choose(picked.clone())
                                    >
                                        {label}
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
