//! The JS API: `mount(element, options)` → `ToolbarHandle`, and the
//! auto-start of the standalone page (an element with `data-ccc-toolbar-auto`).

use std::{any::Any, rc::Rc};

use ccc_model::dial::DialNumber;
use leptos::{mount::mount_to, prelude::*};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use web_sys::HtmlElement;

use crate::{
    api::{AgentApi, HttpApi},
    browser::device_id,
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

/// Everything `mount` accepts, decoded and checked.
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

/// `mount()`'s options object as the host page writes it, decoded by derive
/// (serde-wasm-bindgen); [`MountOptions::from_options`] checks it. Every
/// field is optional; unknown fields are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MountOptionsJs {
    /// Prefix of `/api/v1/...`.
    #[serde(default)]
    pub base_path: Option<String>,
    /// `"en"`, `"zh-CN"` or `"auto"`.
    #[serde(default)]
    pub lang: Option<String>,
    /// `"light"`, `"dark"` or `"auto"`.
    #[serde(default)]
    pub theme: Option<String>,
    /// A function returning a bearer token or a Promise of one (kept as the
    /// JS value; anything but a function is ignored).
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    pub token: JsValue,
    /// `"bar"` or `"standalone"`.
    #[serde(default)]
    pub layout: Option<String>,
    /// `false`, or combos per action.
    #[serde(default, deserialize_with = "shortcuts_option")]
    pub shortcuts: Option<ShortcutsOption>,
    /// `{parentOrigin}` turns iframe mode on.
    #[serde(default, deserialize_with = "iframe_option")]
    pub iframe: Option<IframeOption>,
    /// Desktop notification of a ringing call (default `true`).
    #[serde(default, deserialize_with = "notifications")]
    pub notifications: Option<bool>,
    /// Ring tone (default `true`).
    #[serde(default, deserialize_with = "ring_tone")]
    pub ring_tone: Option<bool>,
    /// Blinking title (default `true`).
    #[serde(default, deserialize_with = "title_blink")]
    pub title_blink: Option<bool>,
    /// `tel:` links dial through the toolbar (default `false`).
    #[serde(default)]
    pub tel_links: Option<bool>,
}

/// The `shortcuts` option: `false` (none), `true` (the defaults) or
/// overrides per action.
#[derive(Debug)]
pub enum ShortcutsOption {
    /// `false`: no shortcuts; `true`: the defaults.
    All(bool),
    /// Overrides of the defaults.
    Table(ShortcutOverrides),
}

/// `{mute, ready, break}`: a combo (`"Alt+Shift+M"`) or `false` each; a
/// missing one keeps its default. Each is kept as the JS value (a string is
/// a combo, anything else turns the shortcut off).
#[derive(Debug, Default, Deserialize)]
pub struct ShortcutOverrides {
    /// Mute / unmute.
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    pub mute: JsValue,
    /// Ready.
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    pub ready: JsValue,
    /// Opens the status menu at the breaks.
    #[serde(default, rename = "break", with = "serde_wasm_bindgen::preserve")]
    pub break_menu: JsValue,
}

/// The `iframe` option: off, or on with the parent page's origin.
#[derive(Debug)]
pub enum IframeOption {
    /// `false` (off); `true` is refused as an origin is needed.
    Flag(bool),
    /// Iframe mode with the parent page's origin.
    Parent {
        /// The exact origin of the parent page.
        parent_origin: Option<String>,
    },
}

/// `{parentOrigin}`.
#[derive(Debug, Deserialize)]
struct IframeParent {
    #[serde(default, rename = "parentOrigin")]
    parent_origin: Option<String>,
}

/// The two options whose value is a boolean or an object are read as the JS
/// value and then decoded by type (serde's `untagged` enums would buffer
/// them: about 4 KB gzip more for the same result).
fn shortcuts_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<ShortcutsOption>, D::Error> {
    let v: JsValue = serde_wasm_bindgen::preserve::deserialize(d)?;
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    if let Some(b) = v.as_bool() {
        return Ok(Some(ShortcutsOption::All(b)));
    }
    if v.is_object() {
        if let Ok(t) = serde_wasm_bindgen::from_value(v) {
            return Ok(Some(ShortcutsOption::Table(t)));
        }
    }
    Err(serde::de::Error::custom(
        "shortcuts must be false or {mute, ready, break} with a combo or false each",
    ))
}

fn iframe_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<IframeOption>, D::Error> {
    let v: JsValue = serde_wasm_bindgen::preserve::deserialize(d)?;
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    if let Some(b) = v.as_bool() {
        return Ok(Some(IframeOption::Flag(b)));
    }
    match serde_wasm_bindgen::from_value::<IframeParent>(v) {
        Ok(p) => Ok(Some(IframeOption::Parent {
            parent_origin: p.parent_origin,
        })),
        Err(_) => Err(serde::de::Error::custom(
            "iframe must be {parentOrigin: \"https://…\"} or false",
        )),
    }
}

/// An alert flag (`true`/`false`, default `true`), refused with the option's name.
fn alert_flag<'de, D: serde::Deserializer<'de>>(d: D, key: &str) -> Result<Option<bool>, D::Error> {
    // Present means a boolean (`null` too is refused); absent is the default.
    bool::deserialize(d).map(Some).map_err(|_| {
        serde::de::Error::custom(format!("{key} must be true or false (default true)"))
    })
}

fn notifications<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    alert_flag(d, "notifications")
}

fn ring_tone<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    alert_flag(d, "ringTone")
}

fn title_blink<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    alert_flag(d, "titleBlink")
}

/// The browser's language.
pub fn browser_lang() -> Lang {
    web_sys::window()
        .and_then(|w| w.navigator().language())
        .map(|t| Lang::from_tag(&t))
        .unwrap_or_default()
}

/// `ccc-toolbar: <message>` as the JS exception `mount` throws.
fn mount_error(message: &str) -> JsValue {
    JsValue::from_str(&format!("ccc-toolbar: {message}"))
}

impl MountOptions {
    /// Decodes the JS options object (`undefined`/`null`: all defaults);
    /// refuses iframe mode without a proper origin and mistyped options.
    pub fn from_js(options: &JsValue) -> Result<Self, JsValue> {
        let raw: MountOptionsJs = if options.is_undefined() || options.is_null() {
            MountOptionsJs::default()
        } else {
            serde_wasm_bindgen::from_value(options.clone()).map_err(|e| {
                let e = JsValue::from(e);
                let message = e
                    .dyn_ref::<js_sys::Error>()
                    .map_or_else(|| "bad options".to_owned(), |e| String::from(e.message()));
                mount_error(&message)
            })?
        };
        Self::from_options(raw)
    }

    /// Checks decoded options.
    pub fn from_options(raw: MountOptionsJs) -> Result<Self, JsValue> {
        let shortcuts = match raw.shortcuts {
            Some(ShortcutsOption::All(false)) => Vec::new(),
            None | Some(ShortcutsOption::All(true)) => shortcuts::table(&[]),
            Some(ShortcutsOption::Table(t)) => {
                let overrides: Vec<(String, Option<String>)> = [
                    ("mute", t.mute),
                    ("ready", t.ready),
                    ("break", t.break_menu),
                ]
                .into_iter()
                .filter(|(_, v)| !v.is_undefined())
                .map(|(name, v)| (name.to_owned(), v.as_string()))
                .collect();
                shortcuts::table(&overrides)
            }
        };
        let parent_origin = match raw.iframe {
            None | Some(IframeOption::Flag(false)) => None,
            Some(IframeOption::Flag(true)) => Some(String::new()),
            Some(IframeOption::Parent { parent_origin }) => Some(parent_origin.unwrap_or_default()),
        };
        if parent_origin.as_deref().is_some_and(|o| !is_origin(o)) {
            return Err(mount_error(
                "iframe mode needs iframe.parentOrigin, an exact origin such as \"https://crm.example.com\" (never \"*\")",
            ));
        }
        Ok(MountOptions {
            base_path: raw.base_path.unwrap_or_default(),
            lang: raw.lang.filter(|l| l != "auto").map(|l| Lang::from_tag(&l)),
            theme: raw.theme.map(|t| Theme::parse(&t)).unwrap_or_default(),
            token: raw.token.dyn_into::<js_sys::Function>().ok(),
            shortcuts,
            parent_origin,
            standalone: raw.layout.as_deref() == Some("standalone"),
            ring: RingOptions {
                notifications: raw.notifications.unwrap_or(true),
                ring_tone: raw.ring_tone.unwrap_or(true),
                title_blink: raw.title_blink.unwrap_or(true),
            },
            tel_links: raw.tel_links == Some(true),
        })
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

    /// Transfers the current call for a CRM that picked the target itself:
    /// `{kind: "blind" | "consult", target: {type: "agent" | "skill-group" |
    /// "number", id}, callerId?}`. `true` when sent, `false` when not
    /// possible now (no call, a consult already up, a command in flight);
    /// throws on a malformed request. The outcome arrives as `ccc:transfer`
    /// (or `ccc:error` with `command: "transfer"`).
    pub fn transfer(&self, request: JsValue) -> Result<bool, JsValue> {
        self.command("transfer", request)
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
    Ok(mount_options(element, MountOptions::from_js(&options)?))
}

/// Mounts with checked options against the proxy.
fn mount_options(element: HtmlElement, options: MountOptions) -> ToolbarHandle {
    let api = HttpApi::new(&options.base_path, device_id(), options.token.clone());
    mount_with_api(element, Rc::new(api), options, SyncConfig::default())
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
    let attr = |name: &str| el.get_attribute(name);
    let mut options = MountOptionsJs {
        base_path: attr("data-base-path"),
        lang: attr("data-lang"),
        layout: attr("data-layout"),
        ..Default::default()
    };
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    if let Some(origin) = query_param(&search, "parentOrigin") {
        options.iframe = Some(IframeOption::Parent {
            parent_origin: Some(origin),
        });
        options.layout = Some("bar".to_owned());
    }
    options.theme = query_param(&search, "theme").or_else(|| attr("data-theme"));
    if let Some(theme) = &options.theme {
        // The standalone page (ours, never a CRM page) follows the theme too.
        if let Some(body) = doc.body() {
            let _ = body.set_attribute("data-theme", Theme::parse(theme).as_str());
        }
    }
    match MountOptions::from_options(options) {
        Ok(options) => std::mem::forget(mount_options(el, options)),
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
