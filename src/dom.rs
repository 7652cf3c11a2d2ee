//! A tiny DOM toolkit for the components: elements, reactive bindings and
//! event listeners. Every binding is type-erased and goes through a few
//! non-generic functions, so the bundle does not carry a monomorphised copy of
//! a view framework for each attribute (the toolbar is small; its bundle
//! should be too).
//!
//! Bindings are [`RenderEffect`]s owned by the current reactive owner: they
//! run at once, re-run when the signals they read change, and are dropped
//! (with their listeners) when the owner is cleaned up. Content built inside a
//! binding (see [`slot`]) is owned by that binding and cleaned up on re-run.

use std::cell::RefCell;

use leptos::{
    prelude::{on_cleanup, Get, Memo, Owner},
    reactive::effect::RenderEffect,
};
use send_wrapper::SendWrapper;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, Event, HtmlElement, Node};

use crate::browser::{listen, Listener};

fn document() -> web_sys::Document {
    web_sys::window()
        .and_then(|w| w.document())
        .expect("a document")
}

/// A new element with static attributes.
pub fn el(tag: &str, attrs: &[(&str, &str)]) -> Element {
    let e = document().create_element(tag).expect("valid tag");
    for (k, v) in attrs {
        let _ = e.set_attribute(k, v);
    }
    e
}

/// Appends `child` to `parent`.
pub fn add(parent: &Element, child: &Element) {
    let _ = parent.append_child(child);
}

/// Appends a static text node.
pub fn text(parent: &Element, s: &str) {
    let _ = parent.append_child(&document().create_text_node(s));
}

/// An element with static attributes and static text.
pub fn elt(tag: &str, attrs: &[(&str, &str)], s: &str) -> Element {
    let e = el(tag, attrs);
    if !s.is_empty() {
        text(&e, s);
    }
    e
}

/// An element with static attributes and static text, appended to `parent`.
pub fn child(parent: &Element, tag: &str, attrs: &[(&str, &str)], s: &str) -> Element {
    let e = elt(tag, attrs, s);
    add(parent, &e);
    e
}

/// Runs `f` now and again whenever a signal it read changes, while the
/// current owner lives.
pub fn effect(f: impl Fn() + 'static) {
    effect_box(Box::new(f));
}

fn effect_box(f: Box<dyn Fn()>) {
    let e = SendWrapper::new(RenderEffect::new(move |_: Option<()>| f()));
    on_cleanup(move || drop(e));
}

/// Sets (`Some`) or removes (`None`) an attribute, writing only on change.
pub fn set_attr(e: &Element, name: &str, value: Option<&str>) {
    match value {
        Some(v) => {
            if e.get_attribute(name).as_deref() != Some(v) {
                let _ = e.set_attribute(name, v);
            }
        }
        None => {
            if e.has_attribute(name) {
                let _ = e.remove_attribute(name);
            }
        }
    }
}

/// Sets the text content, writing only on change.
pub fn set_text(e: &Element, value: &str) {
    if e.text_content().as_deref() != Some(value) {
        e.set_text_content(Some(value));
    }
}

/// A reactive attribute (`None` removes it).
pub fn attr(e: &Element, name: &'static str, f: impl Fn() -> Option<String> + 'static) {
    attr_box(e.clone(), name, Box::new(f));
}

fn attr_box(e: Element, name: &'static str, f: Box<dyn Fn() -> Option<String>>) {
    effect_box(Box::new(move || set_attr(&e, name, f().as_deref())));
}

/// Reactive text content of `e`.
pub fn text_of(e: &Element, f: impl Fn() -> String + 'static) {
    text_box(e.clone(), Box::new(f));
}

fn text_box(e: Element, f: Box<dyn Fn() -> String>) {
    effect_box(Box::new(move || set_text(&e, &f())));
}

/// A reactive DOM property (e.g. `value`, `checked`).
pub fn prop(e: &Element, name: &'static str, f: impl Fn() -> JsValue + 'static) {
    prop_box(e.clone(), name, Box::new(f));
}

fn prop_box(e: Element, name: &'static str, f: Box<dyn Fn() -> JsValue>) {
    effect_box(Box::new(move || {
        let v = f();
        let key = JsValue::from_str(name);
        let old = js_sys::Reflect::get(&e, &key).unwrap_or(JsValue::UNDEFINED);
        if old != v {
            let _ = js_sys::Reflect::set(&e, &key, &v);
        }
    }));
}

/// Listens to `name` on `e` while the current owner lives.
pub fn on(e: &Element, name: &'static str, f: impl FnMut(Event) + 'static) {
    on_box(e, name, Box::new(f));
}

fn on_box(e: &Element, name: &'static str, f: Box<dyn FnMut(Event)>) {
    hold(listen(e, name, f));
}

/// Keeps `l` until the current owner is cleaned up.
pub fn hold(l: Listener) {
    let l = SendWrapper::new(l);
    on_cleanup(move || drop(l));
}

/// Dynamic content at the end of `parent` (so far): `f` builds the elements;
/// it re-runs when a signal it read changes, replacing the previous ones.
pub fn slot(parent: &Element, f: impl Fn() -> Vec<Element> + 'static) {
    slot_box(parent, Box::new(f));
}

fn slot_box(parent: &Element, f: Box<dyn Fn() -> Vec<Element>>) {
    let marker: Node = document().create_text_node("").into();
    let _ = parent.append_child(&marker);
    let shown = RefCell::new(Vec::<Element>::new());
    effect_box(Box::new(move || {
        for e in shown.borrow_mut().drain(..) {
            e.remove();
        }
        let new = f();
        if let Some(p) = marker.parent_node() {
            for e in &new {
                let _ = p.insert_before(e, Some(&marker));
            }
        }
        *shown.borrow_mut() = new;
    }));
}

/// Content built by `build` while `when` holds; rebuilt only when `when`
/// flips (or a signal `build` itself read changes).
pub fn show(
    parent: &Element,
    when: impl Fn() -> bool + Send + Sync + 'static,
    build: impl Fn() -> Vec<Element> + 'static,
) {
    show_box(parent, Box::new(when), Box::new(build));
}

fn show_box(
    parent: &Element,
    when: Box<dyn Fn() -> bool + Send + Sync>,
    build: Box<dyn Fn() -> Vec<Element>>,
) {
    let when = Memo::new(move |_| when());
    slot_box(
        parent,
        Box::new(move || if when.get() { build() } else { Vec::new() }),
    );
}

/// Focuses an element (ignored for non-HTML elements).
pub fn focus(e: &Element) {
    if let Some(h) = e.dyn_ref::<HtmlElement>() {
        let _ = h.focus();
    }
}

/// The value of the event's target (`<input>`, `<select>`).
pub fn target_value(ev: &Event) -> String {
    ev.target()
        .map(|t| {
            js_sys::Reflect::get(&t, &JsValue::from_str("value"))
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_default()
        })
        .unwrap_or_default()
}

/// A view mounted into a parent element; unmounts (removes the element and
/// cleans its owner up: effects, listeners, timers) when dropped.
pub struct Mounted {
    owner: Owner,
    root: Element,
}

impl std::fmt::Debug for Mounted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mounted").finish()
    }
}

/// Builds `f`'s element under a new reactive owner and appends it to `parent`.
pub fn mount(parent: &Element, f: impl FnOnce() -> Element) -> Mounted {
    let _ = any_spawner::Executor::init_wasm_bindgen();
    let owner = Owner::new();
    let root = owner.with(f);
    let _ = parent.append_child(&root);
    Mounted { owner, root }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.owner.cleanup();
        self.root.remove();
    }
}
