//! The whole toolbar: root element with the DOM contract attributes, status
//! row, controls, error line, call panel, live region.

use leptos::prelude::*;

use crate::{
    components::{action_button::yes_no, *},
    state::{Toolbar, TruthStoreFields},
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
    toolbar.patch_truth();
    let tb = toolbar;
    let layout = if standalone {
        "ccc-toolbar ccc-toolbar--standalone"
    } else {
        "ccc-toolbar ccc-toolbar--bar"
    };
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
    let truth = tb.truth;
    view! {
        <div
            class=[layout, theme.class()].concat()
            data-testid="ccc-toolbar"
            data-theme=theme.as_str()
            data-state=Signal::derive(move || {
                truth.known().get().then(|| truth.state().with(|s| s.0.as_str().to_owned()))
            })
            data-connection=Signal::derive(move || tb.connection().as_str())
            data-muted=Signal::derive(move || yes_no(truth.muted().get()))
            data-held=Signal::derive(move || yes_no(truth.held().get()))
            lang=Signal::derive(move || tb.lang.get().tag())
            role="region"
            aria-label=tb.text("Contact center agent toolbar", "联络中心坐席工具条")
        >
            {header}
            <div class="ccc-top">
                <StatusMenu />
                <ConnectionStatus />
                <Settings devices=ChildrenFn::to_children(|| view! { <DevicePickers /> }) />
            </div>
            <TakeoverBanner />
            <PresenceNotice />
            <ErrorMessage />
            <SoftphonePanel />
            <div class="ccc-main">
                <CallCard />
                <div class="ccc-dialer">
                    <DialPad />
                    <RecentCalls />
                </div>
            </div>
            <LiveRegion />
        </div>
    }
}
