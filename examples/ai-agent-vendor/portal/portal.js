// Counts Content-Security-Policy violations on the page, so a test can tell
// that the widget needs no inline script or style. Loaded from the portal's
// own origin before anything else.
document.addEventListener("securitypolicyviolation", (e) => {
  const n = Number(document.documentElement.dataset.cspViolations || 0) + 1;
  document.documentElement.dataset.cspViolations = String(n);
  document.documentElement.dataset.cspLast = e.violatedDirective + " " + e.blockedURI;
});

// Counts scripts that failed to load (a module refused by CORS, say).
window.addEventListener("error", (e) => {
  if (e.target instanceof HTMLScriptElement) {
    const n = Number(document.documentElement.dataset.scriptErrors || 0) + 1;
    document.documentElement.dataset.scriptErrors = String(n);
  }
}, true);
