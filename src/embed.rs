//! The JS API: `mount(element, options)` → `ToolbarHandle`, and the
//! auto-start of the standalone page (an element with `data-ccc-toolbar-auto`).

use std::{any::Any, rc::Rc};

use ccc_model::dial::DialNumber;
use js_sys::Reflect;
use leptos::{mount::mount_to, prelude::*};
use wasm_bindgen::prelude::*;
use web_sys::HtmlElement;

use crate::{
    api::{AgentApi, HttpApi},
    browser::{device_id, field},
    components::{Theme, ToolbarView},
    events::{host_command, use_host_events, use_parent_commands, Emitter},
    hooks::{use_ringing, use_shortcuts, use_sync, use_tel_links},
    i18n::Lang,
    logic::{
        dial::number_error_text,
        host::{is_origin, HostCommand},
        ringing::RingOptions,
        shortcuts::{self, Combo, ShortcutAction},
    },
    state::{SyncConfig, Toolbar},
};

/// Everything `mount` accepts, decoded.
#[derive(Debug, Clone, Default)]
pub struct MountOptions {
    /// Prefix of `/api/v1/...` (`""`: same origin root).
    pub base_path: String,
    /// Language (`None`: the browser's).
    pub lang: Option<Lang>,
    /// Theme.
    pub theme: Theme,
    /// Bearer token provider (jwt mode).
    pub token: Option<js_sys::Function>,
    /// Shortcut table (empty: none).
    pub shortcuts: Vec<(ShortcutAction, Combo)>,
    /// Iframe mode: the parent's origin.
    pub parent_origin: Option<String>,
    /// Full softphone-tab layout.
    pub standalone: bool,
    /// Which ringing alerts are on (`notifications`, `ringTone`, `titleBlink`).
    pub ring: RingOptions,
    /// `tel:` links in the host page dial through the toolbar.
    pub tel_links: bool,
}

/// A boolean option that defaults to `true`; anything but a boolean is refused.
fn flag(options: &JsValue, key: &str) -> Result<bool, JsValue> {
    let v = field(options, key);
    if v.is_undefined() {
        return Ok(true);
    }
    v.as_bool().ok_or_else(|| {
        JsValue::from_str(
            &[
                "ccc-toolbar: ",
                key,
                " must be true or false (default true)",
            ]
            .concat(),
        )
    })
}

/// The browser's language.
pub fn browser_lang() -> Lang {
    web_sys::window()
        .and_then(|w| w.navigator().language())
        .map(|t| Lang::from_tag(&t))
        .unwrap_or_default()
}

impl MountOptions {
    /// Decodes the JS options object; refuses iframe mode without a proper origin.
    pub fn from_js(options: &JsValue) -> Result<Self, JsValue> {
        let mut o = MountOptions {
            base_path: field(options, "basePath").as_string().unwrap_or_default(),
            lang: field(options, "lang")
                .as_string()
                .filter(|l| l != "auto")
                .map(|l| Lang::from_tag(&l)),
            theme: field(options, "theme")
                .as_string()
                .map(|t| Theme::parse(&t))
                .unwrap_or_default(),
            token: field(options, "token").dyn_into::<js_sys::Function>().ok(),
            standalone: field(options, "layout").as_string().as_deref() == Some("standalone"),
            ring: RingOptions {
                notifications: flag(options, "notifications")?,
                ring_tone: flag(options, "ringTone")?,
                title_blink: flag(options, "titleBlink")?,
            },
            tel_links: field(options, "telLinks").as_bool() == Some(true),
            ..Default::default()
        };
        let sc = field(options, "shortcuts");
        o.shortcuts = if sc.as_bool() == Some(false) {
            Vec::new()
        } else {
            let overrides: Vec<(String, Option<String>)> = ShortcutAction::DEFAULTS
                .iter()
                .filter_map(|(_, name, _)| {
                    let v = field(&sc, name);
                    if v.is_undefined() {
                        None
                    } else {
                        Some((name.to_string(), v.as_string()))
                    }
                })
                .collect();
            shortcuts::table(&overrides)
        };
        let iframe = field(options, "iframe");
        if !iframe.is_undefined() && !iframe.is_null() && iframe.as_bool() != Some(false) {
            let origin = field(&iframe, "parentOrigin")
                .as_string()
                .unwrap_or_default();
            if !is_origin(&origin) {
                return Err(JsValue::from_str(
                    "ccc-toolbar: iframe mode needs iframe.parentOrigin, an exact origin such as \"https://crm.example.com\" (never \"*\")",
                ));
            }
            o.parent_origin = Some(origin);
        }
        Ok(o)
    }
}

/// A mounted toolbar.
#[wasm_bindgen]
pub struct ToolbarHandle {
    toolbar: Toolbar,
    /// The mounted view (a `leptos::mount::UnmountHandle`): dropping it
    /// unmounts and cleans the owner up.
    mounted: Option<Box<dyn Any>>,
}

impl std::fmt::Debug for ToolbarHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolbarHandle")
            .field("mounted", &self.mounted.is_some())
            .finish()
    }
}

#[wasm_bindgen]
impl ToolbarHandle {
    /// Removes the toolbar and stops its sync, listeners and timers.
    pub fn unmount(&mut self) {
        self.mounted.take();
    }

    /// Runs a command: `name` is `sign-in`, `sign-out`, `ready`, `break`,
    /// `work-mode`, `reset`, `mute`, `unmute`, `toggle-mute`, `answer`, `hangup`,
    /// `dial`, `hold`, `retrieve` or `resync`;
    /// `args` is `{code}`, `{outboundOnly}`, `{mode, mobile}` or `{number, callerId}`. Answers
    /// `true` when sent, `false` when not allowed now; throws on bad input.
    pub fn command(&self, name: &str, args: JsValue) -> Result<bool, JsValue> {
        let mut cmd: HostCommand = if args.is_object() {
            serde_wasm_bindgen::from_value(args).map_err(|e| {
                JsValue::from_str(&format!("ccc-toolbar: bad arguments for \"{name}\": {e}"))
            })?
        } else if args.is_undefined() || args.is_null() {
            HostCommand::default()
        } else {
            return Err(JsValue::from_str(
                "ccc-toolbar: command arguments must be an object",
            ));
        };
        cmd.command = name.to_owned();
        host_command(self.toolbar, &cmd).map_err(JsValue::from_str)
    }

    /// Dials `number` (optionally presenting `callerId`): at once when the
    /// agent may dial now (`true`); otherwise the number waits in the dial
    /// box with a note saying why (`false`). Throws when `number` can't be
    /// dialled (digits, `*`, `#`, a leading `+`; separators are dropped).
    pub fn dial(&self, number: &str, caller_id: Option<String>) -> Result<bool, JsValue> {
        let number = DialNumber::parse(number).map_err(|e| {
            let why = number_error_text(&e, Lang::En);
            JsValue::from_str(&["ccc-toolbar: dial: ", &why].concat())
        })?;
        Ok(self
            .toolbar
            .dial_or_keep(number, caller_id.filter(|c| !c.is_empty())))
    }

    /// The last server state (`UserState`), or `undefined` before the first sync.
    pub fn state(&self) -> Option<String> {
        self.toolbar
            .snapshot
            .with_untracked(|s| s.as_ref().map(|s| s.agent.state.as_str().to_owned()))
    }
}

/// Mounts a toolbar talking to `api` into `element` (used by `mount` and the tests).
pub fn mount_with_api(
    element: HtmlElement,
    api: Rc<dyn AgentApi>,
    options: MountOptions,
    config: SyncConfig,
) -> ToolbarHandle {
    let lang = options.lang.unwrap_or_else(browser_lang);
    let toolbar = Toolbar::new(api, config, lang);
    crate::sync::bootstrap(toolbar);
    let ring_host = element.clone();
    let host: web_sys::EventTarget = element.clone().into();
    let MountOptions {
        shortcuts,
        parent_origin,
        standalone,
        theme,
        ring,
        tel_links,
        ..
    } = options;
    let handle = mount_to(element, move || {
        use_sync(toolbar);
        use_shortcuts(toolbar, shortcuts);
        use_ringing(toolbar, ring, ring_host);
        #[cfg(feature = "softphone")]
        crate::softphone::use_softphone(toolbar);
        use_host_events(
            toolbar,
            Emitter {
                host: Some(host),
                parent_origin: parent_origin.clone(),
            },
        );
        if let Some(origin) = parent_origin {
            use_parent_commands(toolbar, origin);
        }
        if tel_links {
            use_tel_links(toolbar);
        }
        view! { <ToolbarView toolbar=toolbar standalone=standalone theme=theme /> }
    });
    ToolbarHandle {
        toolbar,
        mounted: Some(Box::new(handle)),
    }
}

/// Mounts the toolbar into `element`. Options (all optional): `basePath`
/// (`""`), `lang` (`"en"`, `"zh-CN"`, `"auto"`), `theme` (`"light"`,
/// `"dark"`, `"auto"`), `token` (function returning a string or a Promise of
/// one: jwt mode), `shortcuts` (`false`, or `{mute, ready, break}` combos or
/// `false` each), `iframe: {parentOrigin}`, `layout` (`"bar"`, `"standalone"`),
/// `notifications`, `ringTone`, `titleBlink` (booleans, default `true`: the
/// alerts of a call ringing while the page is hidden or unfocused).
/// `telLinks` (`true`: `tel:` links in the page dial through the toolbar).
#[wasm_bindgen]
pub fn mount(element: HtmlElement, options: JsValue) -> Result<ToolbarHandle, JsValue> {
    let options = MountOptions::from_js(&options)?;
    let api = HttpApi::new(&options.base_path, device_id(), options.token.clone());
    Ok(mount_with_api(
        element,
        Rc::new(api),
        options,
        SyncConfig::default(),
    ))
}

/// The standalone page: mounts into `[data-ccc-toolbar-auto]` if the page has
/// one (attributes `data-base-path`, `data-theme`, `data-lang`; the URL query
/// `?parentOrigin=<origin>` turns on iframe mode). Does nothing otherwise.
#[wasm_bindgen(start)]
pub fn start() {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(Some(el)) = doc.query_selector("[data-ccc-toolbar-auto]") else {
        return;
    };
    let Ok(el) = el.dyn_into::<HtmlElement>() else {
        return;
    };
    let opts = js_sys::Object::new();
    let set = |k: &str, v: JsValue| {
        let _ = Reflect::set(&opts, &JsValue::from_str(k), &v);
    };
    for (attr, key) in [
        ("data-base-path", "basePath"),
        ("data-theme", "theme"),
        ("data-lang", "lang"),
        ("data-layout", "layout"),
    ] {
        if let Some(v) = el.get_attribute(attr) {
            set(key, JsValue::from_str(&v));
        }
    }
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    if let Some(origin) = query_param(&search, "parentOrigin") {
        let iframe = js_sys::Object::new();
        let _ = Reflect::set(&iframe, &"parentOrigin".into(), &JsValue::from_str(&origin));
        set("iframe", iframe.into());
        set("layout", JsValue::from_str("bar"));
    }
    let theme = query_param(&search, "theme").or_else(|| el.get_attribute("data-theme"));
    if let Some(theme) = &theme {
        set("theme", JsValue::from_str(theme));
        // The standalone page (ours, never a CRM page) follows the theme too.
        if let Some(body) = doc.body() {
            let _ = body.set_attribute("data-theme", Theme::parse(theme).as_str());
        }
    }
    match mount(el, opts.into()) {
        Ok(handle) => std::mem::forget(handle),
        Err(e) => web_sys::console::error_1(&e),
    }
}

/// A decoded query parameter.
fn query_param(search: &str, name: &str) -> Option<String> {
    search.trim_start_matches('?').split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| js_sys::decode_uri_component(v).ok()?.as_string())?
    })
}
