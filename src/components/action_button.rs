//! A command button: enabled only where CCC allows the command, says why not
//! (`title` and a described-by text), shows pending until the proxy answers.

use std::{
    rc::Rc,
    sync::atomic::{AtomicUsize, Ordering},
};

use leptos::prelude::*;
use web_sys::Element;

use crate::{
    dom::{add, effect, el, on, set_attr, set_text},
    i18n::command_label,
    logic::CommandKind,
    state::Toolbar,
};

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// A page-unique element id (`ccc-<prefix>-<n>`).
pub fn unique_id(prefix: &str) -> String {
    format!("ccc-{prefix}-{}", NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

/// A reactive value read by a button.
pub type Val<T> = Rc<dyn Fn() -> T>;

/// What an [`action_button`] shows and does.
pub struct ActionButton {
    /// The command: decides enabled / why not / pending.
    pub kind: Val<CommandKind>,
    /// `data-testid` of the button; its reason text gets `<testid>-reason`.
    pub testid: &'static str,
    /// Runs on a press of the enabled button.
    pub on_press: Rc<dyn Fn()>,
    /// Label (default: the command's own label).
    pub label: Option<Val<String>>,
    /// A further reason to stay disabled (e.g. nothing chosen yet).
    pub blocked: Option<Val<Option<String>>>,
    /// `aria-pressed`, for toggle buttons.
    pub pressed: Option<Val<bool>>,
    /// Extra CSS classes.
    pub class: &'static str,
}

impl std::fmt::Debug for ActionButton {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionButton")
            .field("testid", &self.testid)
            .finish()
    }
}

impl ActionButton {
    /// A button for a fixed command that runs `on_press`.
    pub fn new(kind: CommandKind, testid: &'static str, on_press: impl Fn() + 'static) -> Self {
        ActionButton {
            kind: Rc::new(move || kind),
            testid,
            on_press: Rc::new(on_press),
            label: None,
            blocked: None,
            pressed: None,
            class: "",
        }
    }

    /// With extra CSS classes.
    pub fn class(mut self, class: &'static str) -> Self {
        self.class = class;
        self
    }
}

/// Appends the `<button>` and its reason text to `parent`. Disabled buttons
/// keep focus (they use `aria-disabled`, so keyboard users can reach them and
/// hear why).
pub fn action_button(tb: Toolbar, parent: &Element, b: ActionButton) {
    let id = unique_id("why");
    let button = el(
        "button",
        &[
            ("type", "button"),
            ("class", &format!("ccc-btn {}", b.class)),
            ("data-testid", b.testid),
            ("aria-describedby", &id),
        ],
    );
    let why = el(
        "span",
        &[
            ("id", &id),
            ("class", "ccc-sr-only"),
            ("data-testid", &format!("{}-reason", b.testid)),
        ],
    );
    add(parent, &button);
    add(parent, &why);
    let ActionButton {
        kind,
        on_press,
        label,
        blocked,
        pressed,
        ..
    } = b;
    let reason = {
        let kind = kind.clone();
        Rc::new(move || {
            tb.why_not(kind())
                .or_else(|| blocked.as_ref().and_then(|b| b()))
        })
    };
    let why_now = reason.clone();
    let (btn, span) = (button.clone(), why);
    effect(move || {
        let kind = kind();
        let reason = reason();
        let pending = tb.pending.with(|p| p.current() == Some(kind));
        let text = match &label {
            Some(l) if !pending => l(),
            _ => command_label(kind, pending, tb.lang.get()).to_owned(),
        };
        let yes_no = |v: bool| Some(if v { "true" } else { "false" });
        set_attr(&btn, "aria-disabled", yes_no(reason.is_some()));
        set_attr(&btn, "aria-busy", yes_no(pending));
        set_attr(&btn, "data-pending", yes_no(pending));
        set_attr(
            &btn,
            "aria-pressed",
            pressed.as_ref().and_then(|p| yes_no(p())),
        );
        set_attr(&btn, "title", reason.as_deref());
        set_text(&btn, &text);
        set_text(&span, reason.as_deref().unwrap_or_default());
    });
    on(&button, "click", move |_| {
        if untrack(|| why_now().is_none()) {
            on_press();
        }
    });
}
