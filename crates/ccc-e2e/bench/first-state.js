// See first-state.html.
fetch("/api/v1/agent", {
  credentials: "same-origin",
  headers: { Accept: "application/json", "X-CCC-Device-Id": "web-bench-plain-page" },
})
  .then((r) => r.json())
  .then((s) => {
    document.querySelector('[data-testid="ccc-toolbar"]').setAttribute("data-state", s.agent.state);
  });
