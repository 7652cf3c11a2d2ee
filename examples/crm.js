// The fake CRM page's script: loads the toolbar module, mounts it, logs its
// events, and drives it through the handle. Loaded from a file (CSP: no
// inline scripts).

async function loadToolbar() {
  // The proxy serves a stable loader that initialises the hashed build and
  // re-exports `mount` (see docs/widget.md).
  return import("/ccc-toolbar.js");
}

function log(text) {
  const li = document.createElement("li");
  li.textContent = new Date().toLocaleTimeString() + " " + text;
  const list = document.getElementById("crm-log");
  list.prepend(li);
}

const params = new URLSearchParams(location.search);
const theme = params.get("theme") === "dark" ? "dark" : "light";
document.body.classList.toggle("crm-dark", theme === "dark");
document.getElementById("crm-theme").value = theme;
document.getElementById("crm-theme").addEventListener("change", (e) => {
  params.set("theme", e.target.value);
  location.search = params.toString();
});

const host = document.getElementById("ccc-toolbar-host");
for (const type of ["state", "call", "ringing", "mute", "error", "connection", "pending"]) {
  host.addEventListener("ccc:" + type, (e) => {
    log("ccc:" + type + " " + JSON.stringify(e.detail));
  });
}

const toolbar = await loadToolbar();
const handle = toolbar.mount(host, {
  basePath: "",
  lang: params.get("lang") || "auto",
  theme,
  shortcuts: { mute: "Alt+Shift+M", ready: "Alt+Shift+R", break: "Alt+Shift+B" },
  // tel: links on this page dial through the toolbar (?telLinks=off: the browser's default).
  telLinks: params.get("telLinks") !== "off",
});
window.cccToolbar = handle;

document.getElementById("crm-ready").addEventListener("click", () => {
  log("handle.command('ready') -> " + handle.command("ready", {}));
});
document.getElementById("crm-lunch").addEventListener("click", () => {
  log("handle.command('break') -> " + handle.command("break", { code: "lunch" }));
});
document.getElementById("crm-call").addEventListener("click", () => {
  log("handle.dial('+86 139 1234 5678') -> " + handle.dial("+86 139 1234 5678"));
});
