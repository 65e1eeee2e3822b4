"use strict";

// Agent console: live queue, conversation view and supervisor panels.
// Every piece of data is written with textContent or element properties,
// never parsed as HTML, so markup in a customer message stays literal text.
(function () {
  const API = "/console/api";
  const LOGIN_PAGE = "/console/login";

  const CHANNELS = { web: "Web", sms: "SMS", voice: "Voice", telegram: "Telegram" };
  const REASONS = {
    requested: "asked for a person",
    not_understood: "not understood twice",
    rule: "rule",
    agent: "taken over",
    assistant_down: "assistant unavailable",
  };
  // Words for the states and forms the API names in code.
  const WORDS = {
    waiting: "waiting", active: "active", handed_back: "handed back", closed: "closed",
    pending_assignment: "pending assignment", in_transit: "in transit",
    paid_repair: "paid repair", delivery_damage: "delivery damage",
    delivery_delay: "delivery delay", display_request: "display request",
    large_divergence: "large divergence", recently_expired_warranty: "recently expired warranty",
    warranty_claim_form: "warranty claim", repair_status_form: "repair status",
    order_status_form: "order status", order_divergence_form: "order divergence",
    order_discount_form: "order discount", delivery_problem_form: "delivery problem",
    display_request_form: "display request", display_status_form: "display request status",
    shop_identity_form: "shop identification", survey_form: "survey",
  };

  function word(value) {
    return WORDS[value] || String(value || "").replace(/_/g, " ");
  }

  const state = {
    me: null,
    queue: { waiting: [], active: [] },
    clockOffset: 0, // server clock minus browser clock, in ms
    openId: null,
    open: null, // the last Conversation fetched for openId
    formKey: "", // which conversation/ownership the action forms were built for
    slotOriginals: {},
    drafts: {}, // reply drafts per conversation id
    who: {}, // display names per conversation id, from the queue and bot lists
    conversationSeq: 0,
  };

  const $ = (id) => document.getElementById(id);

  // ---- small DOM helpers ------------------------------------------------

  function el(tag, options, children) {
    const node = document.createElement(tag);
    const opts = options || {};
    if (opts.className) node.className = opts.className;
    if (opts.text !== undefined && opts.text !== null) node.textContent = String(opts.text);
    if (opts.title) node.title = opts.title;
    if (opts.testid) node.dataset.testid = opts.testid;
    if (opts.type) node.type = opts.type;
    if (opts.data) {
      for (const [key, value] of Object.entries(opts.data)) {
        if (value !== undefined && value !== null) node.dataset[key] = String(value);
      }
    }
    for (const child of children || []) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function button(label, className, onClick, testid) {
    const node = el("button", { type: "button", className: className, text: label, testid: testid });
    node.addEventListener("click", onClick);
    return node;
  }

  function clear(node) {
    node.replaceChildren();
  }

  // Only same-origin http(s) links are rendered; anything else (javascript:,
  // data:, another host) is shown as plain text.
  function safeUrl(value) {
    if (typeof value !== "string" || !value) return null;
    try {
      const url = new URL(value, window.location.href);
      if (url.origin !== window.location.origin) return null;
      if (url.protocol !== "http:" && url.protocol !== "https:") return null;
      return url.href;
    } catch (ignored) {
      return null;
    }
  }

  function display(value) {
    if (value === null || value === undefined || value === "") return "-";
    if (typeof value === "string") return value;
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    return JSON.stringify(value);
  }

  // ---- time -------------------------------------------------------------

  function parseTime(value) {
    const time = Date.parse(value);
    return Number.isNaN(time) ? null : time;
  }

  function formatDuration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return s + " s";
    const minutes = Math.floor(s / 60);
    if (minutes < 60) return minutes + " min " + (s % 60) + " s";
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return hours + " h " + (minutes % 60) + " min";
    return Math.floor(hours / 24) + " d " + (hours % 24) + " h";
  }

  function formatTimestamp(value) {
    const time = parseTime(value);
    if (time === null) return "";
    const date = new Date(time);
    const clock = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    if (date.toDateString() === new Date().toDateString()) return clock;
    return date.toLocaleDateString([], { day: "2-digit", month: "short" }) + " " + clock;
  }

  function fullTimestamp(value) {
    const time = parseTime(value);
    return time === null ? "" : new Date(time).toLocaleString();
  }

  function serverNow() {
    return Date.now() + state.clockOffset;
  }

  function secondsSince(value) {
    const time = parseTime(value);
    return time === null ? null : (serverNow() - time) / 1000;
  }

  // ---- banners ----------------------------------------------------------

  let noticeTimer = null;

  function showAlert(text) {
    $("alert-text").textContent = text;
    $("alert").hidden = false;
  }

  function hideAlert() {
    $("alert").hidden = true;
    $("alert-text").textContent = "";
  }

  function showNotice(text) {
    $("notice-text").textContent = text;
    $("notice").hidden = false;
    window.clearTimeout(noticeTimer);
    noticeTimer = window.setTimeout(() => {
      $("notice").hidden = true;
    }, 5000);
  }

  // ---- HTTP -------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
      this.detail = detail;
    }
  }

  function detailOf(body, status) {
    if (body && typeof body.detail === "string" && body.detail) return body.detail;
    if (body && Array.isArray(body.detail)) {
      return body.detail.map((item) => (item && item.msg) || String(item)).join("; ");
    }
    return "The server answered HTTP " + status + ".";
  }

  async function api(method, path, payload) {
    const init = { method: method, credentials: "same-origin", headers: {}, cache: "no-store" };
    if (method !== "GET") {
      init.headers["X-CSRF-Token"] = state.me ? state.me.csrf_token : "";
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload === undefined ? {} : payload);
    }

    let response;
    try {
      response = await fetch(API + path, init);
    } catch (failure) {
      throw new ApiError(0, "The server cannot be reached. Check your connection.");
    }

    if (response.status === 401) {
      window.location.assign(LOGIN_PAGE);
      throw new ApiError(401, "Your session has ended.");
    }
    let body = null;
    if (response.status !== 204) {
      try {
        body = await response.json();
      } catch (ignored) {
        body = null;
      }
    }
    if (!response.ok) throw new ApiError(response.status, detailOf(body, response.status));
    return body;
  }

  function reportError(error) {
    if (error && error.status === 401) return;
    showAlert(error && error.detail ? error.detail : String(error));
  }

  // Runs an action with its button disabled, so a double click sends once.
  async function withBusy(control, action) {
    if (control.disabled) return;
    control.disabled = true;
    try {
      await action();
    } catch (error) {
      reportError(error);
    } finally {
      control.disabled = false;
    }
  }

  // ---- queue ------------------------------------------------------------

  function reasonText(item) {
    const reason = REASONS[item.reason] || item.reason || "";
    return item.reason === "rule" && item.rule ? reason + ": " + word(item.rule) : reason;
  }

  function languageText(language) {
    return language ? language.toUpperCase() : "--";
  }

  function queueRow(item) {
    const row = el("li", {
      className: "queue-row status-" + item.status,
      testid: "queue-row",
      data: { conversationId: item.conversation_id, status: item.status, handoffId: item.handoff_id },
    });
    row.tabIndex = 0;
    if (item.conversation_id === state.openId) row.classList.add("selected");

    const top = el("div", { className: "row-top" }, [
      el("span", { className: "who", text: item.who || "unknown" }),
      el("span", {
        className: "elapsed",
        testid: "waiting-time",
        title: "Waiting since " + fullTimestamp(item.requested_at),
        data: { since: item.requested_at },
        text: formatDuration(secondsSince(item.requested_at) ?? item.waiting_seconds ?? 0),
      }),
    ]);
    const tags = el("div", { className: "row-tags" }, [
      el("span", { className: "tag", text: CHANNELS[item.channel] || item.channel }),
      el("span", { className: "tag", text: languageText(item.language) }),
      el("span", { className: "tag module", text: item.module }),
      el("span", { className: "reason", text: reasonText(item) }),
    ]);
    row.append(top, tags);

    const bottom = el("div", { className: "row-bottom" });
    if (item.status === "active") {
      bottom.append(el("span", { className: "owner", text: item.agent ? item.agent.display_name : "unassigned" }));
      if (item.messages_waiting > 0) {
        bottom.append(el("span", { className: "unread", text: item.messages_waiting + " new" }));
      }
    }
    if (item.ticket_number) bottom.append(el("span", { className: "ticket", text: "Ticket " + item.ticket_number }));
    if (item.status === "waiting") {
      const claim = button("Claim", "primary small-button", (event) => {
        event.stopPropagation();
        withBusy(claim, () => claimConversation(item.conversation_id));
      }, "claim-button");
      bottom.append(el("span", { className: "spacer" }), claim);
    }
    if (bottom.childNodes.length) row.append(bottom);

    row.addEventListener("click", () => openConversation(item.conversation_id));
    row.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && event.target === row) openConversation(item.conversation_id);
    });
    return row;
  }

  function renderQueue() {
    const waiting = state.queue.waiting || [];
    const active = state.queue.active || [];
    $("queue-waiting").replaceChildren(...waiting.map(queueRow));
    $("queue-active").replaceChildren(...active.map(queueRow));
    for (const item of [...waiting, ...active]) state.who[item.conversation_id] = item.who;
    if (state.open) $("conv-title").textContent = conversationTitle(state.open);
    $("waiting-count").textContent = String(waiting.length);
    $("active-count").textContent = String(active.length);
    $("waiting-empty").hidden = waiting.length > 0;
    $("active-empty").hidden = active.length > 0;
  }

  function tickClocks() {
    for (const node of document.querySelectorAll("[data-since]")) {
      const seconds = secondsSince(node.dataset.since);
      if (seconds !== null) node.textContent = formatDuration(seconds);
    }
  }

  async function loadQueue() {
    const queue = await api("GET", "/queue");
    const now = parseTime(queue.now);
    if (now !== null) state.clockOffset = now - Date.now();
    state.queue = queue;
    renderQueue();
  }

  async function claimConversation(cid) {
    try {
      await api("POST", "/conversations/" + encodeURIComponent(cid) + "/claim");
    } catch (error) {
      if (error.status === 409) {
        showAlert("Could not claim: " + error.detail);
        refresh({ queue: true, conversation: cid === state.openId });
        return;
      }
      throw error;
    }
    hideAlert();
    showNotice("Conversation claimed.");
    await Promise.all([loadQueue(), openConversation(cid)]);
  }

  // ---- conversation -----------------------------------------------------

  function authorLabel(message) {
    if (message.author === "agent") return message.agent_name || "Agent";
    if (message.author === "customer") return "Customer";
    if (message.author === "bot") return "Bot";
    return "System";
  }

  function attachmentNode(attachment) {
    const name = attachment.filename || "attachment";
    const size = attachment.size ? " (" + Math.max(1, Math.round(attachment.size / 1024)) + " KB)" : "";
    const href = safeUrl(attachment.url);
    if (!href) return el("span", { className: "attachment", text: name + size });

    const link = el("a", { className: "attachment", title: name });
    link.href = href;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    if ((attachment.content_type || "").startsWith("image/")) {
      const image = el("img", { className: "thumbnail" });
      image.src = href;
      image.alt = name;
      image.loading = "lazy";
      link.append(image);
    }
    link.append(el("span", { text: name + size }));
    return link;
  }

  function messageNode(message) {
    const author = ["customer", "bot", "agent", "system"].includes(message.author) ? message.author : "system";
    const item = el("li", {
      className: "msg msg-" + author,
      testid: "msg",
      data: { author: author, messageId: message.id },
    });
    const head = el("div", { className: "msg-head" }, [
      el("span", { className: "msg-author", text: authorLabel(message) }),
      el("time", { className: "msg-time", text: formatTimestamp(message.created_at), title: fullTimestamp(message.created_at) }),
    ]);
    if (message.direction === "out" && message.status && message.status !== "sent" && message.status !== "delivered") {
      head.append(el("span", { className: "msg-status status-" + message.status, text: message.status }));
    }
    item.append(head);
    if (message.text) item.append(el("div", { className: "msg-text", text: message.text }));
    const attachments = message.attachments || [];
    if (attachments.length) item.append(el("div", { className: "attachments" }, attachments.map(attachmentNode)));
    return item;
  }

  function renderTranscript(messages) {
    const list = $("transcript");
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const firstRender = list.dataset.conversationId !== state.openId;
    list.replaceChildren(...messages.map(messageNode));
    if (!messages.length) list.append(el("li", { className: "empty", text: "No messages yet." }));
    list.dataset.conversationId = state.openId;
    if (firstRender || atBottom) list.scrollTop = list.scrollHeight;
  }

  function renderNotes(notes) {
    const list = $("notes");
    clear(list);
    for (const note of notes) {
      list.append(el("li", { className: "note", data: { noteId: note.id } }, [
        el("div", { className: "note-head" }, [
          el("span", { className: "note-author", text: note.author || "" }),
          el("time", { text: formatTimestamp(note.created_at), title: fullTimestamp(note.created_at) }),
        ]),
        el("div", { className: "note-text", text: note.text }),
      ]));
    }
    if (!notes.length) list.append(el("li", { className: "empty", text: "No notes." }));
  }

  function table(headers, rows) {
    const head = el("tr", {}, headers.map((title) => el("th", { text: title })));
    const body = rows.map((cells) => el("tr", {}, cells.map((cell) => el("td", { text: display(cell) }))));
    return el("table", { className: "mini-table" }, [el("thead", {}, [head]), el("tbody", {}, body)]);
  }

  function renderParty(party) {
    const panel = $("party");
    clear(panel);
    const p = party || { kind: "unknown" };
    const kind = p.kind === "shop" ? "Shop" : p.kind === "customer" ? "Customer" : "Unknown contact";
    panel.append(el("h3", { text: kind }));

    const facts = el("dl", { className: "facts" });
    for (const [label, value] of [["Name", p.name], ["Phone", p.phone], ["Email", p.email]]) {
      facts.append(el("dt", { text: label }), el("dd", { text: display(value) }));
    }
    panel.append(facts);

    const units = p.units || [];
    if (units.length) {
      panel.append(el("h4", { text: "Units" }), table(
        ["Serial", "Product", "Bought", "Warranty"],
        units.map((u) => [u.serial_number, u.product, u.purchase_date, u.warranty_status]),
      ));
    }
    const orders = p.orders || [];
    if (orders.length) {
      panel.append(el("h4", { text: "Orders" }), table(
        ["Number", "Status", "Ordered"],
        orders.map((o) => [o.number, word(o.status), o.ordered_on]),
      ));
    }
    const tickets = p.tickets || [];
    if (tickets.length) {
      panel.append(el("h4", { text: "Tickets" }), table(
        ["Number", "Kind", "Status", "Opened"],
        tickets.map((t) => [t.number, word(t.kind), word(t.status), formatTimestamp(t.created_at) || t.created_at]),
      ));
    }
    if (!units.length && !orders.length && !tickets.length) {
      panel.append(el("p", { className: "muted small", text: "No units, orders or tickets on record." }));
    }
  }

  function renderCase(caseInfo) {
    const panel = $("case");
    clear(panel);
    const info = caseInfo || { active_form: null, slots: {} };
    panel.append(el("h3", { text: "Case" }));
    panel.append(el("p", { className: "small" }, [
      el("span", { className: "muted", text: "Form: " }),
      el("span", { className: "active-form", text: info.active_form ? word(info.active_form) : "none" }),
    ]));
    const entries = Object.entries(info.slots || {});
    if (!entries.length) {
      panel.append(el("p", { className: "muted small", text: "No case data collected." }));
      return;
    }
    const body = entries.map(([name, value]) =>
      el("tr", { data: { slot: name } }, [el("th", { text: name }), el("td", { text: display(value) })]),
    );
    panel.append(el("table", { className: "kv-table" }, [el("tbody", {}, body)]));
  }

  function slotText(value) {
    if (value === null || value === undefined) return "";
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  // Builds the hand-back inputs; on a refetch, fields the agent has not
  // touched follow the new values and edited ones are kept.
  function renderHandbackSlots(slots, settable, rebuild) {
    const box = $("handback-slots");
    if (rebuild) {
      clear(box);
      state.slotOriginals = {};
    }
    for (const [name, value] of Object.entries(slots || {})) {
      const text = slotText(value);
      const input = box.querySelector('input[data-slot="' + CSS.escape(name) + '"]');
      if (!input) {
        addSlotInput(box, name, text);
      } else if (input.value === state.slotOriginals[name]) {
        input.value = text;
      }
      state.slotOriginals[name] = text;
    }
    renderSlotAdder(box, settable || []);
  }

  function addSlotInput(box, name, text) {
    const input = el("input", { data: { slot: name }, testid: "handback-slot" });
    input.type = "text";
    input.value = text;
    input.id = "handback-slot-" + name;
    const label = el("label", { className: "slot-label", text: name, title: name });
    label.htmlFor = input.id;
    const row = el("div", { className: "slot-row" }, [label, input]);
    const adder = box.querySelector(".slot-adder");
    if (adder) box.insertBefore(row, adder);
    else box.append(row);
    return input;
  }

  // What the agent learnt and the bot has not got yet: any case field can be
  // added before handing back.
  function renderSlotAdder(box, settable) {
    const old = box.querySelector(".slot-adder");
    if (old) old.remove();
    const present = new Set(Array.from(box.querySelectorAll("input[data-slot]"), (i) => i.dataset.slot));
    const names = settable.filter((name) => !present.has(name));
    if (!names.length) return;
    const select = el("select", { testid: "handback-add-slot", title: "Case field" },
      names.map((name) => { const option = el("option", { text: name }); option.value = name; return option; }));
    const add = button("Add field", "small-button", () => {
      const input = addSlotInput(box, select.value, "");
      state.slotOriginals[select.value] = "";
      renderSlotAdder(box, settable);
      input.focus();
    }, "handback-add");
    box.append(el("div", { className: "slot-adder" }, [select, add]));
  }

  function conversationTitle(data) {
    return state.who[data.conversation.id] || (data.party && data.party.name) || "Conversation";
  }

  function renderConversation(data) {
    const conversation = data.conversation || {};
    const handoff = data.handoff;
    $("conversation-empty").hidden = true;
    $("conversation-body").hidden = false;
    $("context").hidden = false;
    $("layout").classList.remove("no-context");

    $("conv-title").textContent = conversationTitle(data);
    const meta = [CHANNELS[conversation.channel] || conversation.channel, languageText(conversation.language)];
    if (handoff) {
      meta.push(handoff.module, reasonText(handoff), word(handoff.status));
      if (handoff.agent) meta.push("with " + handoff.agent.display_name);
      if (handoff.ticket_number) meta.push("ticket " + handoff.ticket_number);
    } else {
      meta.push("with the bot");
    }
    $("conv-meta").textContent = meta.filter(Boolean).join(" · ");

    const canClaim = !data.mine && handoff && handoff.status === "waiting";
    $("conv-claim").hidden = !canClaim;
    const canRelease = isSupervisor() && !data.mine && handoff && handoff.status === "active";
    $("conv-release").hidden = !canRelease;

    const notMine = $("not-mine");
    if (data.mine) {
      notMine.hidden = true;
    } else {
      notMine.hidden = false;
      if (canClaim) notMine.textContent = "Claim this conversation to reply.";
      else if (handoff && handoff.status === "active") {
        notMine.textContent = "Handled by " + (handoff.agent ? handoff.agent.display_name : "another agent") + ". Read only.";
      } else notMine.textContent = "Read only: no agent owns this conversation.";
    }

    renderTranscript(data.messages || []);
    renderNotes(data.notes || []);
    renderParty(data.party);
    renderCase(data.case);

    const formKey = conversation.id + "|" + Boolean(data.mine) + "|" + (handoff ? handoff.handoff_id : "");
    const rebuild = formKey !== state.formKey;
    state.formKey = formKey;
    $("reply-form").hidden = !data.mine;
    $("actions").hidden = !data.mine;
    $("note-form").hidden = !data.mine;
    if (data.mine) {
      const kase = data.case || {};
      renderHandbackSlots(kase.slots, kase.settable, rebuild);
    }
  }

  // initial: the agent just opened it, so a refusal is worth an alert; on a
  // refetch, a conversation that is no longer visible simply closes.
  async function loadConversation(cid, initial) {
    const seq = ++state.conversationSeq;
    let data;
    try {
      data = await api("GET", "/conversations/" + encodeURIComponent(cid));
    } catch (error) {
      if (seq !== state.conversationSeq || cid !== state.openId) return;
      if (error.status === 403 || error.status === 404) {
        closeView();
        if (!initial) {
          showNotice("That conversation is no longer available to you.");
          return;
        }
      }
      throw error;
    }
    if (seq !== state.conversationSeq || cid !== state.openId) return; // a newer request won
    state.open = data;
    renderConversation(data);
  }

  function closeView() {
    state.openId = null;
    state.open = null;
    state.formKey = "";
    $("conversation-empty").hidden = false;
    $("conversation-body").hidden = true;
    $("context").hidden = true;
    $("layout").classList.add("no-context");
    markSelected();
  }

  function markSelected() {
    for (const row of document.querySelectorAll("[data-testid='queue-row'], [data-testid='bot-row']")) {
      row.classList.toggle("selected", row.dataset.conversationId === state.openId);
    }
  }

  async function openConversation(cid) {
    if (state.openId && state.openId !== cid) state.drafts[state.openId] = $("reply-text").value;
    if (state.openId !== cid) {
      state.openId = cid;
      state.formKey = "";
      // Until the conversation arrives nobody knows whether it is ours: the
      // forms stay hidden so nothing typed can land in the wrong one.
      $("reply-form").hidden = true;
      $("actions").hidden = true;
      $("note-form").hidden = true;
      $("conv-claim").hidden = true;
      $("conv-release").hidden = true;
      $("conv-title").textContent = "Loading...";
      $("conv-meta").textContent = "";
      clear($("transcript"));
      $("reply-text").value = state.drafts[cid] || "";
      $("note-text").value = "";
      $("ticket-description").value = "";
      $("close-resolution").value = "";
      $("close-first-contact").checked = false;
    }
    markSelected();
    try {
      await loadConversation(cid, true);
    } catch (error) {
      reportError(error);
    }
  }

  function openPath(suffix) {
    return "/conversations/" + encodeURIComponent(state.openId) + suffix;
  }

  async function afterAction(message) {
    hideAlert();
    if (message) showNotice(message);
    await Promise.all([loadQueue(), state.openId ? loadConversation(state.openId) : null]);
  }

  // Handed back or closed: what the person says next is not the agent's to
  // read (a supervisor still can), so the view closes.
  async function finishConversation(message) {
    if (!isSupervisor()) closeView();
    await afterAction(message);
  }

  async function sendReply() {
    const textarea = $("reply-text");
    const text = textarea.value.trim();
    if (!text || !state.openId) return;
    const cid = state.openId;
    await withBusy($("reply-send"), async () => {
      await api("POST", openPath("/messages"), { text: text });
      if (state.openId === cid) textarea.value = "";
      delete state.drafts[cid];
      await afterAction(null);
    });
  }

  function changedSlots() {
    const slots = {};
    for (const input of $("handback-slots").querySelectorAll("input[data-slot]")) {
      const name = input.dataset.slot;
      const value = input.value.trim();
      if (value && value !== (state.slotOriginals[name] || "").trim()) slots[name] = value;
    }
    return slots;
  }

  function bindConversationActions() {
    $("conv-release").addEventListener("click", () => {
      if (!state.openId) return;
      withBusy($("conv-release"), async () => {
        await api("POST", openPath("/release"));
        await afterAction("Conversation put back in the queue.");
      });
    });
    $("conv-claim").addEventListener("click", () => {
      if (state.openId) withBusy($("conv-claim"), () => claimConversation(state.openId));
    });

    $("reply-form").addEventListener("submit", (event) => {
      event.preventDefault();
      sendReply();
    });
    $("reply-text").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        sendReply();
      }
    });

    $("note-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const text = $("note-text").value.trim();
      if (!text) return;
      withBusy($("note-add"), async () => {
        await api("POST", openPath("/notes"), { text: text });
        $("note-text").value = "";
        await afterAction("Note added.");
      });
    });

    $("ticket-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const description = $("ticket-description").value.trim();
      if (!description) {
        showAlert("Write a description for the ticket.");
        return;
      }
      withBusy($("ticket-create"), async () => {
        const ticket = await api("POST", openPath("/tickets"), { description: description });
        $("ticket-description").value = "";
        await afterAction("Case " + ((ticket && ticket.number) || "") + " updated.");
      });
    });

    $("handback-form").addEventListener("submit", (event) => {
      event.preventDefault();
      withBusy($("handback-button"), async () => {
        await api("POST", openPath("/hand-back"), { slots: changedSlots() });
        await finishConversation("Conversation handed back to the bot.");
      });
    });

    $("close-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const resolution = $("close-resolution").value.trim();
      if (!resolution) {
        showAlert("Write the resolution before closing.");
        return;
      }
      withBusy($("close-button"), async () => {
        await api("POST", openPath("/close"), {
          resolution: resolution,
          resolved_first_contact: $("close-first-contact").checked,
        });
        await finishConversation("Conversation closed.");
      });
    });
  }

  // ---- supervisor: bot conversations and agents -------------------------

  function botRow(item) {
    const row = el("li", {
      className: "queue-row status-bot",
      testid: "bot-row",
      data: { conversationId: item.conversation_id },
    });
    row.tabIndex = 0;
    if (item.conversation_id === state.openId) row.classList.add("selected");
    const take = button("Take over", "small-button", (event) => {
      event.stopPropagation();
      withBusy(take, async () => {
        try {
          await api("POST", "/conversations/" + encodeURIComponent(item.conversation_id) + "/takeover");
        } catch (error) {
          if (error.status === 409) {
            showAlert("Could not take over: " + error.detail);
            refresh({ queue: true, bots: true });
            return;
          }
          throw error;
        }
        hideAlert();
        showNotice("You took over the conversation.");
        await Promise.all([loadQueue(), loadBotConversations(), openConversation(item.conversation_id)]);
      });
    }, "takeover-button");
    row.append(
      el("div", { className: "row-top" }, [
        el("span", { className: "who", text: item.who || "unknown" }),
        el("span", { className: "elapsed", text: formatTimestamp(item.last_message_at), title: fullTimestamp(item.last_message_at) }),
      ]),
      el("div", { className: "row-bottom" }, [
        el("span", { className: "tag", text: CHANNELS[item.channel] || item.channel }),
        el("span", { className: "tag", text: languageText(item.language) }),
        el("span", { className: "spacer" }),
        take,
      ]),
    );
    row.addEventListener("click", () => openConversation(item.conversation_id));
    row.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && event.target === row) openConversation(item.conversation_id);
    });
    return row;
  }

  async function loadBotConversations() {
    const data = await api("GET", "/conversations?scope=bot");
    const items = (data && data.conversations) || [];
    for (const item of items) state.who[item.conversation_id] = item.who;
    $("bot-conversations").replaceChildren(...items.map(botRow));
    $("bot-empty").hidden = items.length > 0;
  }

  function agentRow(agent) {
    const toggle = button(agent.active ? "Deactivate" : "Activate", "small-button", () => {
      withBusy(toggle, async () => {
        await api("PATCH", "/agents/" + encodeURIComponent(agent.id), { active: !agent.active });
        showNotice((agent.active ? "Deactivated " : "Activated ") + agent.display_name + ".");
        await loadAgents();
      });
    }, "agent-toggle");
    const facts = [agent.role, (agent.languages || []).join(", "), (agent.skills || []).join(", ") || "no skills"];
    if (!agent.active) facts.push("inactive");
    return el("li", {
      className: "agent-row" + (agent.active ? "" : " inactive"),
      testid: "agent-row",
      data: { agentId: agent.id, username: agent.username, active: agent.active },
    }, [
      el("div", { className: "row-top" }, [
        el("span", { className: "presence " + (agent.online ? "online" : "offline"), title: agent.online ? "online" : "offline" }),
        el("span", { className: "who" }, [
          el("span", { text: agent.display_name }),
          el("span", { className: "muted small", text: " " + agent.username }),
        ]),
        toggle,
      ]),
      el("div", { className: "muted small", text: facts.join(" · ") }),
    ]);
  }

  async function loadAgents() {
    const data = await api("GET", "/agents");
    $("agents-list").replaceChildren(...((data && data.agents) || []).map(agentRow));
  }

  function checkedValues(name) {
    return [...document.querySelectorAll('input[name="' + name + '"]:checked')].map((box) => box.value);
  }

  function bindAgentForm() {
    const form = $("agent-form");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const payload = {
        username: $("agent-username").value.trim(),
        display_name: $("agent-display-name").value.trim(),
        password: $("agent-password").value,
        role: $("agent-role").value,
        languages: checkedValues("agent-language"),
        skills: checkedValues("agent-skill"),
      };
      if (!payload.username || !payload.display_name || !payload.password) {
        showAlert("User name, display name and password are required.");
        return;
      }
      if (!payload.languages.length) {
        showAlert("Choose at least one language.");
        return;
      }
      withBusy(form.querySelector("button[type=submit]"), async () => {
        await api("POST", "/agents", payload);
        form.reset();
        hideAlert();
        showNotice("Agent " + payload.username + " created.");
        await loadAgents();
      });
    });
  }

  // ---- live updates -----------------------------------------------------

  // Events come in bursts (a message, then a queue change): refetches are
  // coalesced into one round per 150 ms.
  const pending = { queue: false, conversation: false, bots: false };
  let refreshTimer = null;

  function refresh(what) {
    pending.queue = pending.queue || Boolean(what.queue);
    pending.conversation = pending.conversation || Boolean(what.conversation);
    pending.bots = pending.bots || Boolean(what.bots);
    if (refreshTimer) return;
    refreshTimer = window.setTimeout(async () => {
      refreshTimer = null;
      const jobs = [];
      if (pending.queue) jobs.push(loadQueue());
      if (pending.conversation && state.openId) jobs.push(loadConversation(state.openId));
      if (pending.bots && isSupervisor()) jobs.push(loadBotConversations());
      pending.queue = pending.conversation = pending.bots = false;
      const results = await Promise.allSettled(jobs);
      const failed = results.find((result) => result.status === "rejected");
      if (failed) reportError(failed.reason);
    }, 150);
  }

  function eventConversation(event) {
    try {
      return JSON.parse(event.data).conversation_id || null;
    } catch (ignored) {
      return null;
    }
  }

  function connectEvents() {
    const status = $("live-status");
    const source = new EventSource(API + "/events");
    let connectedBefore = false;
    source.addEventListener("open", () => {
      status.textContent = "live";
      status.className = "live-status on";
      // After a reconnection some events may have been missed.
      if (connectedBefore) refresh({ queue: true, conversation: true, bots: true });
      connectedBefore = true;
    });
    source.addEventListener("error", () => {
      status.textContent = "reconnecting";
      status.className = "live-status off";
    });
    const onEvent = (event) => {
      const cid = eventConversation(event);
      refresh({ queue: true, conversation: cid !== null && cid === state.openId, bots: event.type === "queue" });
    };
    source.addEventListener("queue", onEvent);
    source.addEventListener("message", onEvent);
  }

  // ---- start ------------------------------------------------------------

  function isSupervisor() {
    return Boolean(state.me && state.me.role === "supervisor");
  }

  async function logout() {
    try {
      await api("POST", "/logout");
    } catch (error) {
      if (error.status === 0) {
        reportError(error);
        return;
      }
    }
    window.location.assign(LOGIN_PAGE);
  }

  async function start() {
    $("alert-close").addEventListener("click", hideAlert);
    $("logout").addEventListener("click", () => withBusy($("logout"), logout));
    bindConversationActions();
    bindAgentForm();

    try {
      state.me = await api("GET", "/me");
    } catch (error) {
      reportError(error);
      return;
    }
    $("me-name").textContent = state.me.display_name || state.me.username;
    $("me-role").textContent = state.me.role;
    $("me-role").classList.add("role-" + state.me.role);
    $("me-name").title = "Languages: " + (state.me.languages || []).join(", ") + " · Skills: " + (state.me.skills || []).join(", ");

    const jobs = [loadQueue()];
    if (isSupervisor()) {
      $("bot-section").hidden = false;
      $("agents-section").hidden = false;
      jobs.push(loadBotConversations(), loadAgents());
      // Bot conversations change without queue events: poll them gently.
      window.setInterval(() => refresh({ bots: true }), 30000);
    }
    const results = await Promise.allSettled(jobs);
    const failed = results.find((result) => result.status === "rejected");
    if (failed) reportError(failed.reason);

    window.setInterval(tickClocks, 1000);
    connectEvents();
  }

  start();
})();
