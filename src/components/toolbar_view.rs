//! The whole toolbar: root element with the DOM contract attributes, status
//! row, controls, error line, call panel, live region.

use leptos::prelude::*;

use crate::{
    components::{action_button::yes_no, *},
    state::Toolbar,
};

/// Colour theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    /// Light (default).
    #[default]
    Light,
    /// Dark.
    Dark,
    /// Follow `prefers-color-scheme`.
    Auto,
}

impl Theme {
    /// Parses `light`, `dark`, `auto` (anything else: light).
    pub fn parse(s: &str) -> Self {
        match s {
            "dark" => Theme::Dark,
            "auto" => Theme::Auto,
            _ => Theme::Light,
        }
    }

    /// `data-theme` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
            Theme::Auto => "auto",
        }
    }

    /// The theme's CSS modifier class (`""` for light).
    fn class(self) -> &'static str {
        match self {
            Theme::Dark => " ccc-toolbar--dark",
            Theme::Auto => " ccc-toolbar--auto",
            Theme::Light => "",
        }
    }
}

/// The toolbar. Provides `toolbar` as context to its parts.
#[component]
pub fn ToolbarView(
    /// The state and its actions.
    toolbar: Toolbar,
    /// Full softphone-tab layout instead of the compact bar.
    #[prop(optional)]
    standalone: bool,
    /// Colour theme.
    #[prop(optional)]
    theme: Theme,
) -> impl IntoView {
    provide_context(toolbar);
    let tb = toolbar;
    let agent = Signal::derive(move || {
        tb.snapshot
            .with(|s| s.as_ref().map(|s| s.agent.clone()).unwrap_or_default())
    });
    let elapsed = Signal::derive(move || tb.time_in_state());
    let lang = Signal::derive(move || tb.lang.get());
    let layout = if standalone {
        "ccc-toolbar ccc-toolbar--standalone"
    } else {
        "ccc-toolbar ccc-toolbar--bar"
    };
    // Dynamic values are `Signal`s of a few types (not a closure each), so
    // every binding of one type shares one render path in the wasm.
    let name = Signal::derive(move || {
        tb.session
            .with(|s| s.as_ref().map(|s| s.display_name.clone()))
    });
    let user = Signal::derive(move || tb.session.with(|s| s.as_ref().map(|s| s.user_id.clone())));
    let header = standalone.then(|| {
        view! {
            <header class="ccc-header">
                <span class="ccc-header__name" data-testid="agent-name">
                    {name}
                </span>
                <span class="ccc-header__user">{user}</span>
            </header>
        }
    });
    view! {
        <div
            class=[layout, theme.class()].concat()
            data-testid="ccc-toolbar"
            data-theme=theme.as_str()
            data-state=Signal::derive(move || {
                tb.snapshot.with(|s| s.as_ref().map(|s| s.agent.state.as_str().to_owned()))
            })
            data-connection=Signal::derive(move || tb.connection().as_str())
            data-muted=Signal::derive(move || {
                yes_no(tb.snapshot.with(|s| s.as_ref().is_some_and(|s| s.muted)))
            })
            data-held=Signal::derive(move || {
                yes_no(tb.snapshot.with(|s| s.as_ref().is_some_and(|s| s.held)))
            })
            lang=Signal::derive(move || tb.lang.get().tag())
            role="region"
            aria-label=tb.text("Contact center agent toolbar", "联络中心坐席工具条")
        >
            {header}
            <div class="ccc-row ccc-row--status">
                <StateBadge agent=agent lang=lang />
                <StateTimer elapsed=elapsed />
                <ConnectionStatus />
                <LangSwitch />
            </div>
            <TakeoverBanner />
            <PresenceNotice />
            <div
                class="ccc-row ccc-row--controls"
                role="group"
                aria-label=tb.text("Agent state", "坐席状态")
            >
                <SignInOut />
                <ReadyButton />
                <BreakPicker />
                <CallControls />
                <MuteButton />
                <WorkModePicker />
                <ResetButton />
            </div>
            <div class="ccc-row ccc-row--dial">
                <DialPad />
            </div>
            <ErrorMessage />
            <SoftphonePanel />
            <CallInfo />
            <RecentCalls />
            <LiveRegion />
        </div>
    }
}
