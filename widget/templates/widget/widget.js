/* Agentry chat widget {{ version }} — https://docs.agentry.dev/widget
   <script src="https://<workspace>/widget.js" data-agent="agt_…" data-key="pk_live_…" async></script>
   Optional: data-title, data-color (#rrggbb), data-greeting, data-position ("left" | "right"). */
(function () {
  "use strict";
  var defaults = {{ defaults_json|safe }};
  var script = document.currentScript;
  if (!script || !script.dataset) { return; }
  var agent = script.dataset.agent || "";
  var key = script.dataset.key || "";
  if (!agent || !key) { console.error("Agentry widget: data-agent and data-key are required."); return; }
  var apiBase = new URL(script.src, window.location.href).origin;
  var title = script.dataset.title || defaults.title;
  var color = /^#[0-9a-fA-F]{6}$/.test(script.dataset.color || "") ? script.dataset.color : defaults.color;
  var greeting = script.dataset.greeting || defaults.greeting;
  var side = script.dataset.position === "left" ? "left" : "right";
  var storageKey = "agentry-widget:" + agent;

  function newSessionId() {
    if (window.crypto && window.crypto.randomUUID) { return "w-" + window.crypto.randomUUID(); }
    return "w-" + Date.now().toString(36) + Math.random().toString(36).slice(2);
  }
  function sessionId() {
    var id = null;
    try { id = window.localStorage.getItem(storageKey); } catch (e) { /* storage blocked: per page */ }
    if (!id) {
      id = newSessionId();
      try { window.localStorage.setItem(storageKey, id); } catch (e) { /* ignore */ }
    }
    return id;
  }

  var host = document.createElement("div");
  host.id = "agentry-widget";
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    "<style>" +
    ":host{all:initial}" +
    ".bubble{position:fixed;bottom:20px;" + side + ":20px;width:56px;height:56px;border-radius:50%;border:0;" +
    "background:" + color + ";color:#fff;font:600 24px/1 system-ui,sans-serif;cursor:pointer;" +
    "box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483646}" +
    ".panel{position:fixed;bottom:88px;" + side + ":20px;width:340px;max-width:calc(100vw - 40px);height:460px;" +
    "max-height:calc(100vh - 120px);display:none;flex-direction:column;background:#fff;border-radius:12px;" +
    "box-shadow:0 8px 30px rgba(0,0,0,.25);overflow:hidden;z-index:2147483647;font:14px/1.4 system-ui,sans-serif;color:#111}" +
    ".panel.open{display:flex}" +
    ".head{background:" + color + ";color:#fff;padding:12px 14px;font-weight:600;display:flex;align-items:center;gap:8px}" +
    ".head img{width:24px;height:24px;border-radius:4px;background:#fff}" +
    ".head .close{margin-left:auto;background:none;border:0;color:#fff;font-size:20px;cursor:pointer}" +
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px}" +
    ".msg{padding:8px 10px;border-radius:10px;max-width:85%;white-space:pre-wrap;word-wrap:break-word}" +
    ".msg.user{align-self:flex-end;background:" + color + ";color:#fff}" +
    ".msg.assistant{align-self:flex-start;background:#f1f3f5}" +
    ".msg.error{align-self:center;background:#fff4e5;color:#8a4b00;font-size:13px}" +
    "form{display:flex;border-top:1px solid #e5e7eb}" +
    "input{flex:1;border:0;padding:12px;font:inherit;outline:none}" +
    "form button{border:0;background:none;color:" + color + ";font-weight:600;padding:0 14px;cursor:pointer}" +
    ".brand{font-size:11px;color:#6b7280;text-align:center;padding:4px}" +
    "</style>" +
    "<button class='bubble' part='bubble' type='button' aria-label='Open chat' aria-expanded='false'>💬</button>" +
    "<div class='panel' part='panel' role='dialog' aria-label=''>" +
    "<div class='head'><span class='title'></span><button class='close' type='button' aria-label='Close chat'>×</button></div>" +
    "<div class='log' aria-live='polite'></div>" +
    "<form><input name='message' autocomplete='off' maxlength='4000' aria-label='Your message' placeholder='Type a message…'>" +
    "<button type='submit'>Send</button></form>" +
    (defaults.show_branding ? "<div class='brand'>Powered by Agentry</div>" : "") +
    "</div>";

  var bubble = root.querySelector(".bubble");
  var panel = root.querySelector(".panel");
  var log = root.querySelector(".log");
  var form = root.querySelector("form");
  var input = root.querySelector("input");
  root.querySelector(".title").textContent = title;
  panel.setAttribute("aria-label", title);
  if (defaults.logo_url) {
    var logo = document.createElement("img");
    logo.src = defaults.logo_url;
    logo.alt = "";
    root.querySelector(".head").insertBefore(logo, root.querySelector(".title"));
  }

  function add(role, text) {
    var item = document.createElement("div");
    item.className = "msg " + role;
    item.textContent = text;
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }
  function toggle(open) {
    panel.classList.toggle("open", open);
    bubble.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      if (!log.childElementCount && greeting) { add("assistant", greeting); }
      input.focus();
    }
  }
  bubble.addEventListener("click", function () { toggle(!panel.classList.contains("open")); });
  root.querySelector(".close").addEventListener("click", function () { toggle(false); });

  var sending = false;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text || sending) { return; }
    sending = true;
    input.value = "";
    add("user", text);
    var pending = add("assistant", "…");
    fetch(apiBase + "/api/v1/chat", {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      headers: { "Authorization": "Bearer " + key, "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ agent: agent, session_id: sessionId(), message: text })
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      if (result.ok) {
        pending.textContent = result.body.reply || "";
      } else {
        pending.className = "msg error";
        pending.textContent = result.body.detail || "Sorry, something went wrong.";
      }
    }).catch(function () {
      pending.className = "msg error";
      pending.textContent = "Sorry, the chat is not available on this website.";
    }).then(function () { sending = false; });
  });

  function mount() { document.body.appendChild(host); }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
  window.AgentryWidget = { open: function () { toggle(true); }, close: function () { toggle(false); } };
})();
