//! Small browser helpers: timers as futures, a wake-up signal, storage,
//! event listeners that remove themselves when dropped, plain JS objects.
//! The hooks in [`crate::hooks`] tie them to a reactive owner.

use std::{
    cell::{Cell, RefCell},
    future::{poll_fn, Future},
    rc::Rc,
    task::{Poll, Waker},
};

use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::EventTarget;

/// A plain JS object with `fields`, in order (event details, request bodies).
pub fn js_object(fields: &[(&str, JsValue)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in fields {
        let _ = js_sys::Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}

/// `o[key]`; `undefined` when `o` is not an object (options, messages).
pub fn field(o: &JsValue, key: &str) -> JsValue {
    if o.is_object() {
        js_sys::Reflect::get(o, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

/// Local wall-clock time (epoch ms).
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Uniform in `[0, 1)`.
pub fn random() -> f64 {
    js_sys::Math::random()
}

/// `hh:mm:ss` of an epoch-ms instant in the browser's time zone.
pub fn local_clock(epoch_ms: f64) -> String {
    let d = js_sys::Date::new(&JsValue::from_f64(epoch_ms));
    crate::logic::clock::format_clock(d.get_hours(), d.get_minutes(), d.get_seconds())
}

/// `window.localStorage`, when the page may use it (not in every sandboxed iframe).
pub fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Reads a localStorage item.
pub fn load(key: &str) -> Option<String> {
    storage()?.get_item(key).ok().flatten()
}

/// Writes a localStorage item (ignored when storage is unavailable).
pub fn store(key: &str, value: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(key, value);
    }
}

/// This browser's device id: kept in localStorage, created on first use.
pub fn device_id() -> String {
    use crate::logic::device;
    if let Some(id) = load(device::STORAGE_KEY).filter(|id| device::is_valid(id)) {
        return id;
    }
    let mut bytes = [0u8; 16];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if !filled {
        for b in &mut bytes {
            *b = (random() * 256.0) as u8;
        }
    }
    let id = device::from_random(&bytes);
    store(device::STORAGE_KEY, &id);
    id
}

/// A timer as a future; the timeout is cleared if the future is dropped.
pub struct Sleep {
    state: Rc<SleepState>,
    handle: i32,
    _closure: Closure<dyn FnMut()>,
}

#[derive(Default)]
struct SleepState {
    done: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep")
            .field("handle", &self.handle)
            .finish()
    }
}

/// Resolves after `ms` milliseconds.
pub fn sleep(ms: f64) -> Sleep {
    let state = Rc::new(SleepState::default());
    let s = state.clone();
    let closure = Closure::<dyn FnMut()>::new(move || {
        s.done.set(true);
        if let Some(w) = s.waker.borrow_mut().take() {
            w.wake();
        }
    });
    let handle = web_sys::window()
        .and_then(|w| {
            w.set_timeout_with_callback_and_timeout_and_arguments_0(
                closure.as_ref().unchecked_ref(),
                ms.clamp(0.0, i32::MAX as f64) as i32,
            )
            .ok()
        })
        .unwrap_or(0);
    Sleep {
        state,
        handle,
        _closure: closure,
    }
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        if self.state.done.get() {
            Poll::Ready(())
        } else {
            *self.state.waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if !self.state.done.get() {
            if let Some(w) = web_sys::window() {
                w.clear_timeout_with_handle(self.handle);
            }
        }
    }
}

/// A latched wake-up: `notify()` wakes the current (or the next) `notified()`.
#[derive(Debug, Default)]
pub struct Notify {
    fired: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Notify {
    /// Fires.
    pub fn notify(&self) {
        self.fired.set(true);
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }

    /// Resolves once fired (consuming the firing).
    pub async fn notified(&self) {
        poll_fn(|cx| {
            if self.fired.replace(false) {
                Poll::Ready(())
            } else {
                *self.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// An event listener, removed when dropped.
pub struct Listener {
    target: EventTarget,
    name: &'static str,
    closure: Closure<dyn FnMut(web_sys::Event)>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("name", &self.name)
            .finish()
    }
}

/// Listens to `name` on `target` until the returned guard is dropped.
pub fn listen(
    target: &EventTarget,
    name: &'static str,
    f: impl FnMut(web_sys::Event) + 'static,
) -> Listener {
    let closure = Closure::<dyn FnMut(web_sys::Event)>::new(f);
    let _ = target.add_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
    Listener {
        target: target.clone(),
        name,
        closure,
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback(self.name, self.closure.as_ref().unchecked_ref());
    }
}
