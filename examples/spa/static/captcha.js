// The CAPTCHA widget, kept apart from app.js: when client.getSettings()
// (GET /auth/settings) names a provider (Cloudflare Turnstile or hCaptcha),
// this loads the provider's script, renders one widget in each form whose
// action needs a token, and adds the widget's token as the X-Captcha-Token header to those requests
// (bodies do not change). A token works once: the widget is reset after
// each use. Without a provider in the settings it does nothing.
import { client, status } from "./app.js";
(async () => {
  const forms = {
    register: ["#register-form", "/auth/register"],
    login: ["#login-form", "/auth/login"],
    forgot: ["#forgot-form", "/auth/password/forgot"],
    "sign-in-code": ["#code-request-form", "/auth/sign-in/email"],
  };
  const settings = await client.getSettings().catch(() => null);
  const captcha = settings && settings.signUp.captcha;
  if (!captcha) return;
  const src = captcha.provider === "turnstile"
    ? "https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit"
    : "https://js.hcaptcha.com/1/api.js?render=explicit";
  await new Promise((ok, fail) => {
    const s = document.createElement("script");
    s.src = src; s.async = true; s.onload = ok; s.onerror = fail;
    document.head.appendChild(s);
  }).catch(() => status("The CAPTCHA could not be loaded; sign-up may be refused."));
  const api = captcha.provider === "turnstile" ? window.turnstile : window.hcaptcha;
  if (!api) return;
  const widgets = {}; // path -> widget id
  for (const action of captcha.on) {
    const [selector, path] = forms[action] || [];
    const form = selector && document.querySelector(selector);
    if (!form) continue;
    const box = document.createElement("div");
    box.className = "captcha";
    form.querySelector("button[type=submit], button:last-of-type")?.before(box);
    widgets[path] = api.render(box, { sitekey: captcha.siteKey });
  }
  // Every request of app.js goes through fetch: add the header on the
  // listed endpoints, then reset that widget for the next try.
  const plain = window.fetch.bind(window);
  window.fetch = async (input, init = {}) => {
    const url = new URL(typeof input === "string" ? input : input.url, location.href);
    const id = widgets[url.pathname];
    if (id === undefined || (init.method || "GET").toUpperCase() !== "POST") return plain(input, init);
    const headers = new Headers(init.headers || {});
    headers.set("X-Captcha-Token", api.getResponse(id) || "");
    try {
      return await plain(input, { ...init, headers });
    } finally {
      api.reset(id);
    }
  };
})();
