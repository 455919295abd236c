/*
 * ShopRelay web chat widget. A shop embeds it with one tag:
 *   <script src="https://SHOP/webchat/widget.js" data-shop-name="My shop" async></script>
 * Optional on the tag: data-visitor-name="Ploy" (the name the admins see),
 * data-open="1" (the panel starts open).
 *
 * Every message is put on the page with textContent, never as HTML. The visitor's
 * token is kept in localStorage, so a reload shows the same conversation. Replies
 * arrive by long polling GET /webchat/events.
 *
 * Stable hooks for tests (element id · data-testid):
 *   shoprelay-webchat-button    · webchat-button    round button, bottom right
 *   shoprelay-webchat-unread    · webchat-unread    unread count on the button
 *   shoprelay-webchat-panel     · webchat-panel     the chat panel (hidden when closed)
 *   shoprelay-webchat-close     · webchat-close     closes the panel
 *   shoprelay-webchat-messages  · webchat-messages  the conversation; each message is
 *       .shoprelay-webchat-message · webchat-message with data-from="visitor|shop",
 *       data-state="sending|sent|failed", data-id (the server's id once known), and
 *       children .shoprelay-webchat-text, img.shoprelay-webchat-image
 *   shoprelay-webchat-input     · webchat-input     the text box (Enter sends)
 *   shoprelay-webchat-send      · webchat-send      send button
 *   shoprelay-webchat-picture   · webchat-picture   opens the picture picker
 *   shoprelay-webchat-file      · webchat-file      the hidden file input
 *   shoprelay-webchat-error     · webchat-error     one line when something went wrong
 */
(function () {
  "use strict";
  if (window.__shoprelayWebchat) return;
  window.__shoprelayWebchat = true;
  var script = document.currentScript || document.querySelector('script[src*="/webchat/widget.js"]');
  if (!script) return;
  var base = new URL(script.src, location.href).origin;
  // The shop's language: GET /webchat/widget.js serves the texts in front of this script.
  var TEXTS = window.__shoprelayWebchatTexts || {};
  var shopName = script.getAttribute("data-shop-name") || TEXTS["the shop"] || "the shop";
  function t(english) { return (TEXTS[english] || english).replace("{shop}", shopName); }
  var visitorName = script.getAttribute("data-visitor-name") || "";
  var storeKey = "shoprelay-webchat:" + base + (visitorName ? ":" + visitorName : "");
  var P = "shoprelay-webchat";
  var CSS = [
    "#P{position:fixed;right:20px;bottom:20px;z-index:2147483000;font:15px/1.4 system-ui,sans-serif;color:#1f2937}",
    "#P [hidden]{display:none!important}",
    "#P-button{position:relative;width:58px;height:58px;border-radius:50%;border:0;background:#2563eb;color:#fff;font-size:26px;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25)}",
    "#P-unread{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 5px;box-sizing:border-box;border-radius:10px;background:#dc2626;color:#fff;font-size:12px;line-height:20px}",
    "#P-panel{position:absolute;right:0;bottom:72px;width:340px;height:480px;max-height:calc(100vh - 110px);display:flex;flex-direction:column;background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);overflow:hidden}",
    ".P-head{display:flex;align-items:center;justify-content:space-between;padding:12px 14px;background:#2563eb;color:#fff;font-weight:600}",
    "#P-close{background:none;border:0;color:#fff;font-size:24px;line-height:1;cursor:pointer}",
    "#P-messages{flex:1;overflow-y:auto;padding:10px;background:#f3f4f6;display:flex;flex-direction:column;gap:6px}",
    "#P-messages:empty::before{content:attr(data-empty);margin:auto;color:#6b7280;text-align:center}",
    ".P-message{max-width:80%;padding:8px 10px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".P-message[data-from=visitor]{align-self:flex-end;background:#2563eb;color:#fff}",
    ".P-message[data-from=shop]{align-self:flex-start;background:#fff;border:1px solid #e5e7eb}",
    ".P-message[data-state=sending]{opacity:.6}",
    ".P-message[data-state=failed]{background:#fee2e2;color:#991b1b;cursor:pointer}",
    ".P-image{display:block;max-width:100%;max-height:220px;border-radius:8px}",
    "#P-error{padding:4px 10px;color:#b91c1c;font-size:13px}",
    ".P-form{display:flex;gap:6px;padding:8px;border-top:1px solid #e5e7eb}",
    "#P-input{flex:1;min-width:0;height:40px;resize:none;box-sizing:border-box;padding:9px;border:1px solid #d1d5db;border-radius:8px;font:inherit;font-size:16px}",
    ".P-form button{border:0;border-radius:8px;background:#e5e7eb;padding:0 12px;font:inherit;cursor:pointer}",
    ".P-form #P-send{background:#2563eb;color:#fff}",
    "@media (max-width:480px){#P-panel{position:fixed;left:0;right:0;top:0;bottom:0;width:auto;height:auto;max-height:none;border-radius:0}#P[data-open] #P-button{display:none}}"
  ].join("\n").replace(/P/g, P);

  var session = load();
  var nodes = {};      // "s<id>" for the server's messages, "c<client_id>" for ours on the way
  var cursor = 0;
  var polling = false;
  var isOpen = false;
  var unread = 0;
  var historyLoaded = false;
  var ui = build();

  function el(tag, name, parent, text, attrs) {
    var node = document.createElement(tag);
    if (name) { node.id = P + "-" + name; node.setAttribute("data-testid", "webchat-" + name); }
    if (text) node.textContent = text;
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "class") node.className = P + "-" + attrs[key]; else node.setAttribute(key, attrs[key]);
    });
    if (parent) parent.appendChild(node);
    return node;
  }

  function build() {
    el("style", null, document.head, CSS);
    var root = el("div", null, document.body, "", { id: P, "data-testid": "webchat" });
    var panel = el("div", "panel", root, "", { role: "dialog", "aria-label": t("Chat with {shop}") });
    var head = el("div", null, panel, "", { class: "head" });
    el("span", null, head, shopName);
    var close = el("button", "close", head, "\u00d7", { type: "button", "aria-label": t("Close the chat") });
    var list = el("div", "messages", panel, "", { role: "log", "aria-live": "polite",
      "data-empty": t("Write to {shop}: the team answers here.") });
    var error = el("div", "error", panel);
    var form = el("form", null, panel, "", { class: "form" });
    var picture = el("button", "picture", form, "\ud83d\udcf7", { type: "button", "aria-label": t("Send a picture") });
    var file = el("input", "file", form, "", { type: "file", accept: "image/jpeg,image/png,image/gif,image/webp" });
    var input = el("textarea", "input", form, "", { placeholder: t("Write a message\u2026"), maxlength: "2000", rows: "1" });
    var send = el("button", "send", form, t("Send"), { type: "submit" });
    var button = el("button", "button", root, "\ud83d\udcac", { type: "button", "aria-label": t("Chat with {shop}") });
    var badge = el("span", "unread", button);
    panel.hidden = error.hidden = file.hidden = badge.hidden = true;

    button.addEventListener("click", function () { toggle(!isOpen); });
    close.addEventListener("click", function () { toggle(false); });
    picture.addEventListener("click", function () { file.click(); });
    file.addEventListener("change", function () {
      if (file.files && file.files[0]) post({ image: file.files[0] });
      file.value = "";
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!input.value.trim()) return;
      post({ text: input.value });
      input.value = "";
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit ? form.requestSubmit() : send.click();
      }
    });
    return { root: root, panel: panel, list: list, error: error, input: input, badge: badge };
  }

  function toggle(open) {
    isOpen = open;
    ui.panel.hidden = !open;
    if (open) ui.root.setAttribute("data-open", ""); else ui.root.removeAttribute("data-open");
    if (open) { unread = 0; showUnread(); ui.list.scrollTop = ui.list.scrollHeight; ui.input.focus(); }
  }

  function showUnread() { ui.badge.textContent = String(unread); ui.badge.hidden = unread === 0; }

  function showError(text) { ui.error.textContent = text || ""; ui.error.hidden = !text; }

  function load() {
    try { return JSON.parse(localStorage.getItem(storeKey) || "null"); } catch (e) { return null; }
  }

  function save(value) {
    session = value;
    try {
      if (value) localStorage.setItem(storeKey, JSON.stringify(value)); else localStorage.removeItem(storeKey);
    } catch (e) { /* storage refused (private mode): the chat lasts for this page */ }
  }

  function sleep(ms) { return new Promise(function (done) { setTimeout(done, ms); }); }

  function api(method, path, body) {
    var headers = {};
    if (session) headers.Authorization = "Bearer " + session.token;
    if (body && !(body instanceof FormData)) { headers["Content-Type"] = "application/json"; body = JSON.stringify(body); }
    return fetch(base + path, { method: method, headers: headers, body: body, credentials: "omit" });
  }

  async function ensureSession() {
    if (session) return;
    var res = await api("POST", "/webchat/session", visitorName ? { name: visitorName } : {});
    if (!res.ok) throw new Error("session " + res.status);
    save(await res.json());
    cursor = 0;
    historyLoaded = true;  // a new visitor has no history to load
  }

  function render(node, message) {
    while (node.firstChild) node.removeChild(node.firstChild);
    node.setAttribute("data-from", message.from);
    (message.images || []).forEach(function (src) {
      var img = document.createElement("img");
      img.className = P + "-image";
      img.alt = "Picture";
      img.src = src;
      img.addEventListener("load", scrollDown);
      node.appendChild(img);
    });
    if (message.text) {
      var text = document.createElement("div");
      text.className = P + "-text";
      text.textContent = message.text;
      node.appendChild(text);
    }
  }

  function addNode(key, message, state) {
    var node = document.createElement("div");
    node.className = P + "-message";
    node.setAttribute("data-testid", "webchat-message");
    node.setAttribute("data-state", state);
    render(node, message);
    nodes[key] = node;
    ui.list.appendChild(node);
    scrollDown();
    return node;
  }

  function scrollDown() { ui.list.scrollTop = ui.list.scrollHeight; }

  function merge(message) {
    var key = "s" + message.id;
    if (nodes[key]) return;
    var images = (message.images || []).map(function (path) { return base + path; });
    var shown = { from: message.from, text: message.text, images: images };
    var mine = message.client_id && nodes["c" + message.client_id];
    if (mine) {
      delete nodes["c" + message.client_id];
      nodes[key] = mine;
      mine.setAttribute("data-state", "sent");
    } else {
      addNode(key, shown, "sent");
      if (message.from === "shop" && historyLoaded && !isOpen) { unread += 1; showUnread(); }
    }
    nodes[key].setAttribute("data-id", String(message.id));
  }

  function newClientId() {
    var bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function post(content) {
    var clientId = newClientId();
    var images = content.image ? [URL.createObjectURL(content.image)] : [];
    var node = addNode("c" + clientId, { from: "visitor", text: content.text, images: images }, "sending");
    node.addEventListener("click", function () {
      if (node.getAttribute("data-state") === "failed") deliver(node, clientId, content, 0);
    });
    deliver(node, clientId, content, 0);
  }

  var REFUSED = { 400: "The message could not be sent.", 413: "That picture is too large to send.",
    415: "Only pictures (JPEG, PNG, GIF or WebP) can be sent." };  // shown through t()

  async function deliver(node, clientId, content, attempt) {
    node.setAttribute("data-state", "sending");
    var res = null;
    try {
      await ensureSession();
      var body = { text: content.text, client_id: clientId };
      if (content.image) { body = new FormData(); body.append("client_id", clientId); body.append("image", content.image); }
      res = await api("POST", "/webchat/messages", body);
    } catch (e) { res = null; }
    if (res && res.ok) {
      showError("");
      if (node.getAttribute("data-state") === "sending") node.setAttribute("data-state", "sent");
      startPolling();
      return;
    }
    if (res && res.status === 401 && attempt === 0) { restart(); return deliver(node, clientId, content, 1); }
    if (res && res.status === 429) {
      var wait = parseInt(res.headers.get("Retry-After") || "", 10) || 5;
      showError(t("You are sending messages quickly; this one goes in {seconds} s.").replace("{seconds}", wait));
      await sleep(wait * 1000);
      return deliver(node, clientId, content, attempt);
    }
    if (res && REFUSED[res.status]) {
      node.setAttribute("data-state", "failed");
      showError(t(REFUSED[res.status]));
      return;
    }
    if (attempt < 5) { await sleep(1000 * Math.pow(2, attempt)); return deliver(node, clientId, content, attempt + 1); }
    node.setAttribute("data-state", "failed");
    showError(t("Not sent: check the connection, then tap the message to try again."));
  }

  function restart() {
    // The server no longer knows this visitor: start a new conversation.
    save(null);
    Object.keys(nodes).forEach(function (key) {
      if (key.charAt(0) === "s") { ui.list.removeChild(nodes[key]); delete nodes[key]; }
    });
    cursor = 0;
  }

  async function startPolling() {
    if (polling || !session) return;
    polling = true;
    var first = !historyLoaded;
    while (session) {
      var token = session.token;
      try {
        var res = await api("GET", "/webchat/events?after=" + cursor + "&wait=" + (first ? 0 : 1));
        if (res.status === 401) { if (session && session.token === token) restart(); break; }
        if (!res.ok) throw new Error("events " + res.status);
        var data = await res.json();
        if (!session || session.token !== token) continue;
        data.messages.forEach(merge);
        cursor = data.cursor;
        first = false;
        historyLoaded = true;
        if (!data.more && data.retry_ms) await sleep(data.retry_ms);
      } catch (e) {
        await sleep(3000);
      }
    }
    polling = false;
  }

  if (script.getAttribute("data-open") === "1") toggle(true);
  startPolling();
})();
