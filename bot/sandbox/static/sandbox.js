// The sandbox page: polls /sandbox/state and renders the three panes.
// Every text from a customer, an admin or the bot is set with textContent, never as HTML.
"use strict";

const cast = JSON.parse(document.getElementById("cast").textContent);
const $ = (id) => document.getElementById(id);
const view = { state: null, version: "", channel: "line", person: {}, topic: null,
               topicChosen: false, replyTo: null };

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function picture(src) {
  return src ? el("img", { src: src, alt: "picture", loading: "lazy" }) : null;
}

function keepScroll(feed, build) {
  const atBottom = feed.scrollHeight - feed.scrollTop - feed.clientHeight < 40;
  feed.replaceChildren(...build().filter((node) => node));
  if (atBottom) feed.scrollTop = feed.scrollHeight;
}

// ------------------------------------------------------------------ customer pane
function peopleOf(channel) { return cast.people.filter((p) => p.channel === channel); }

function currentPerson() { return view.person[view.channel] || peopleOf(view.channel)[0].key; }

function chooseChannel(channel) {
  view.channel = channel;
  document.querySelectorAll("#channels button").forEach((b) =>
    b.classList.toggle("active", b.dataset.channel === channel));
  const select = $("person");
  select.replaceChildren(...peopleOf(channel).map((p) =>
    el("option", { value: p.key, textContent: p.name, selected: p.key === currentPerson() })));
  const webchat = channel === "webchat";
  $("phone").hidden = webchat;
  $("webchat").hidden = !webchat;
  $("customer-form").picture.disabled = channel === "instagram_comment";
  showWebchat();
  renderCustomer();
}

function showWebchat() {
  const frame = $("webchat-frame");
  if (!frame || view.channel !== "webchat") return;
  const visitor = cast.people.find((p) => p.key === currentPerson()).name;
  const src = "/webchat/demo?visitor=" + encodeURIComponent(visitor);
  if (frame.getAttribute("src") !== src) frame.setAttribute("src", src);
}

function renderCustomer() {
  if (!view.state || view.channel === "webchat") return;
  const feed = view.state.customers[currentPerson()] || [];
  const post = cast.posts[view.channel];
  keepScroll($("customer-feed"), () => [
    post ? el("div", { className: "post" }, el("div", { className: "who", textContent: "The shop's post" }),
              picture(post.picture), el("div", { textContent: post.text })) : null,
    ...feed.map((m) => {
      const mine = m.from === "customer";
      return el("div", { className: "msg " + (mine ? "out" : "in") },
        el("div", { className: "who", textContent: mine ? "you" : "shop · " + (m.via || "") }),
        m.text ? el("div", { textContent: m.text }) : null, picture(m.picture));
    }),
  ]);
}

async function sendCustomer(event) {
  event.preventDefault();
  const form = event.target;
  const data = new FormData(form);
  data.set("person", currentPerson());
  form.text.value = "";
  form.picture.value = "";
  form.querySelector("label.picture").classList.remove("chosen");
  const answer = await fetch("/sandbox/customer", { method: "POST", body: data });
  $("customer-error").textContent = answer.ok ? "" : (await answer.json()).error || answer.statusText;
  refresh();
}

// ------------------------------------------------------------------ admin pane
function openTopic(id, chosen) {
  view.topic = id;
  view.topicChosen = view.topicChosen || chosen;
  view.replyTo = null;
  $("replying").hidden = true;
  renderAdmin();
}

function latestTopic(state) {
  const live = state.admin_chat.filter((m) => m.thread !== 0);
  const open = new Set(state.topics.filter((t) => !t.deleted).map((t) => t.id));
  const last = live.reverse().find((m) => open.has(m.thread));
  return last ? last.thread : 0;
}

function keyboard(m) {
  if (!m.buttons.length) return null;
  return el("div", { className: "keyboard" }, ...m.buttons.map((row) =>
    el("div", { className: "kb-row" }, ...row.map((b) => b.url
      ? el("a", { href: /^https?:\/\//.test(b.url) ? b.url : "#", target: "_blank",
                  rel: "noopener", textContent: b.text })
      : el("button", { type: "button", textContent: b.text,
                       onclick: () => tap(m.id, b.data) })))));
}

function adminBubble(m) {
  const bot = m.from === "bot";
  const who = bot ? "Shop bot" + (m.pinned ? " · 📌 pinned" : "") : m.from;
  const bubble = el("div", { className: "msg " + (bot ? "in" : "admin-typed"), id: "m" + m.id },
    el("div", { className: "who", textContent: who },
       el("button", { type: "button", className: "reply-link", textContent: "↩ reply",
                      onclick: () => replyTo(m) })),
    m.text ? el("div", { textContent: m.text }) : null,
    picture(m.picture),
    m.file ? el("a", { href: m.file, textContent: "📄 " + m.file_name, download: m.file_name }) : null,
    keyboard(m));
  const notes = [m.edited ? "edited" : "", m.reaction || ""].filter(Boolean).join(" · ");
  if (notes) bubble.append(el("div", { className: "meta", textContent: notes }));
  return bubble;
}

function renderAdmin() {
  const state = view.state;
  if (!state) return;
  if (!view.topicChosen) view.topic = latestTopic(state);
  $("topics").replaceChildren(...state.topics.map((t) => {
    const button = el("button", { type: "button", className: t.id === view.topic ? "active" : "",
                                  onclick: () => openTopic(t.id, true) },
      el("span", { className: "name", textContent: t.name + (t.closed ? " (closed)" : "")
                                                   + (t.deleted ? " (deleted)" : "") }),
      t.unread ? el("span", { className: "badge", textContent: String(t.unread) }) : null);
    button.dataset.topic = String(t.id);
    if (t.closed || t.deleted) button.classList.add("gone");
    return el("li", {}, button);
  }));
  keepScroll($("admin-feed"), () =>
    state.admin_chat.filter((m) => m.thread === view.topic).map(adminBubble));
}

function replyTo(m) {
  view.replyTo = m.id;
  $("replying").hidden = false;
  $("replying").querySelector("span").textContent = (m.text || m.kind).slice(0, 60);
}

async function post(url, body, errorBox) {
  const answer = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
                                    body: JSON.stringify(body) });
  $(errorBox).textContent = answer.ok ? "" : (await answer.json()).error || answer.statusText;
  refresh();
}

function sendAdmin(event) {
  event.preventDefault();
  const form = event.target;
  const body = { admin: form.admin.value, text: form.text.value, thread: view.topic,
                 reply_to: view.replyTo };
  form.text.value = "";
  view.replyTo = null;
  $("replying").hidden = true;
  post("/sandbox/admin", body, "admin-error");
}

function tap(messageId, data) {
  post("/sandbox/button", { admin: $("admin-form").admin.value, message_id: messageId, data: data },
       "admin-error");
}

// ------------------------------------------------------------------ log pane and polling
function renderCalls() {
  keepScroll($("calls"), () => view.state.calls.map((c) => {
    const item = el("li", { className: c.status >= 400 ? "failed" : "" },
      el("span", { className: "platform", textContent: c.platform + " " }),
      (c.method === "GET" && c.platform !== "Telegram" ? "GET " : "") + c.what + " → " + c.status);
    return item;
  }));
}

let polling = false;
async function refresh() {
  if (polling) return;
  polling = true;
  try {
    const answer = await fetch("/sandbox/state?since=" + encodeURIComponent(view.version));
    const state = await answer.json();
    if (!state.unchanged) {
      view.state = state;
      view.version = state.version;
      renderCustomer();
      renderAdmin();
      renderCalls();
    }
  } finally {
    polling = false;
  }
}

document.querySelectorAll("#channels button").forEach((b) =>
  b.addEventListener("click", () => chooseChannel(b.dataset.channel)));
$("person").addEventListener("change", (e) => {
  view.person[view.channel] = e.target.value;
  showWebchat();
  renderCustomer();
});
$("customer-form").addEventListener("submit", sendCustomer);
$("customer-form").picture.addEventListener("change", (e) =>
  e.target.closest("label").classList.toggle("chosen", e.target.files.length > 0));
$("admin-form").addEventListener("submit", sendAdmin);
$("replying").querySelector("button").addEventListener("click", () => {
  view.replyTo = null;
  $("replying").hidden = true;
});
chooseChannel("line");
refresh();
setInterval(refresh, 1000);
