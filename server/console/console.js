// tokenledger console: the Access Tokens flow on the server's own API. No framework, no
// external asset; every value from the server is put in the page as text (textContent), never
// as HTML. The admin token lives in this tab's sessionStorage only.
"use strict";

const store = window.sessionStorage;
const $ = (id) => document.getElementById(id);
const DAY = 86400 * 1000;

const state = {
  ns: "",
  filter: "active",
  cursor: null,
  tokens: new Map(),   // id -> token as listed
  selected: new Set(), // ids ticked for revocation
};

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  const headers = { "Authorization": "Bearer " + store.getItem("tl.admin") };
  const actor = store.getItem("tl.actor");
  if (actor) headers["X-Actor"] = actor;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                                   cache: "no-store" });
  } catch (e) {
    throw new ApiError(0, "network", "The server cannot be reached (" + e.message + ").");
  }
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) {
    const error = data && data.error ? data.error : { code: "http_" + response.status, message: response.statusText };
    throw new ApiError(response.status, error.code, error.message);
  }
  return data;
}

// ---- messages -------------------------------------------------------------------------------

function notice(text) {
  $("notice").textContent = text;
}

function showError(e) {
  const box = $("error");
  if (!e) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  box.textContent = e.message || String(e);
  box.hidden = false;
  if (e.status === 401) signOut("The admin token was refused; sign in again.");
}

// ---- time -----------------------------------------------------------------------------------

function formatTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toISOString().slice(0, 16).replace("T", " ");
}

function relative(iso) {
  const ms = Date.now() - new Date(iso).getTime();
  if (ms < 90 * 1000) return "within the last minute";
  const minutes = Math.round(ms / 60000);
  if (minutes < 90) return minutes + " minutes ago";
  const hours = Math.round(minutes / 60);
  if (hours < 36) return hours + " hours ago";
  return Math.round(hours / 24) + " days ago";
}

// ---- sign in --------------------------------------------------------------------------------

function showSignedIn() {
  const signedIn = !!store.getItem("tl.admin");
  $("sign-in").hidden = signedIn;
  $("workspace").hidden = !signedIn;
  $("session").hidden = !signedIn;
  if (signedIn) {
    $("session-who").textContent = "Signed in as " + (store.getItem("tl.actor") || "console");
    renderRecent();
    const ns = store.getItem("tl.ns");
    if (ns) {
      $("namespace").value = ns;
      openNamespace(ns);
    } else {
      $("namespace").focus();
    }
  } else {
    $("admin-token").focus();
  }
}

function signOut(message) {
  store.removeItem("tl.admin");
  state.ns = "";
  $("namespace-view").hidden = true;
  showSignedIn();
  notice(message || "Signed out.");
}

async function signIn(event) {
  event.preventDefault();
  showError(null);
  const token = $("admin-token").value.trim();
  const actor = $("actor").value.trim();
  store.setItem("tl.admin", token);
  if (actor) store.setItem("tl.actor", actor); else store.removeItem("tl.actor");
  try {
    await api("GET", "/v1/events?limit=1");  // any admin route: is the token right?
  } catch (e) {
    store.removeItem("tl.admin");
    showError(e.status === 401 ? new Error("That admin token was refused.") : e);
    return;
  }
  $("admin-token").value = "";
  notice("");
  showSignedIn();
}

// ---- namespace and list -----------------------------------------------------------------------

function recentNamespaces() {
  try { return JSON.parse(store.getItem("tl.recent") || "[]"); } catch (e) { return []; }
}

function renderRecent() {
  const list = $("recent-namespaces");
  list.replaceChildren(...recentNamespaces().map((ns) => {
    const option = document.createElement("option");
    option.value = ns;
    return option;
  }));
}

function openNamespace(ns) {
  state.ns = ns;
  store.setItem("tl.ns", ns);
  const recent = [ns, ...recentNamespaces().filter((n) => n !== ns)].slice(0, 10);
  store.setItem("tl.recent", JSON.stringify(recent));
  renderRecent();
  $("tokens-title").textContent = "Access Tokens in " + ns;
  $("namespace-view").hidden = false;
  hideHistory();
  return loadTokens(true);
}

function tokensPath() {
  return "/v1/namespaces/" + encodeURIComponent(state.ns) + "/tokens";
}

async function loadTokens(reset) {
  showError(null);
  if (reset) {
    state.cursor = null;
    state.tokens.clear();
    state.selected.clear();
  }
  const query = new URLSearchParams({ limit: "50" });
  if (state.filter === "expiring") {
    query.set("status", "active");
    query.set("expiring_within", "30d");
  } else {
    query.set("status", state.filter);
  }
  if (state.cursor) query.set("cursor", state.cursor);
  let page;
  try {
    page = await api("GET", tokensPath() + "?" + query.toString());
  } catch (e) {
    showError(e);
    return;
  }
  for (const t of page.tokens) state.tokens.set(t.id, t);
  state.cursor = page.next_cursor;
  renderTokens();
}

function cell(text, className) {
  const td = document.createElement("td");
  if (text !== undefined) td.textContent = text;
  if (className) td.className = className;
  return td;
}

// A button that looks like a link, with an accessible name saying which token it acts on.
function linkButton(text, label, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "link";
  button.textContent = text;
  button.setAttribute("aria-label", label);
  button.addEventListener("click", onClick);
  return button;
}

function expiryCell(t) {
  const td = cell(formatTime(t.expires_at), "time");
  if (t.status !== "active") return td;
  const ends = t.revoke_at && t.revoke_at < t.expires_at ? t.revoke_at : t.expires_at;
  const days = Math.ceil((new Date(ends).getTime() - Date.now()) / DAY);
  if (days <= 30) {
    const soon = document.createElement("span");
    soon.className = days <= 7 ? "soon urgent" : "soon";
    const what = t.revoke_at ? "rotated: stops " : "expires ";
    soon.textContent = days <= 1 ? what + "within a day" : what + "in " + days + " days";
    td.appendChild(soon);
  }
  return td;
}

function renderTokens() {
  const body = $("tokens").querySelector("tbody");
  const rows = [];
  for (const t of state.tokens.values()) {
    const tr = document.createElement("tr");
    tr.dataset.id = t.id;
    if (state.selected.has(t.id)) tr.className = "selected";
    const check = cell(undefined, "check");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = state.selected.has(t.id);
    box.disabled = t.status !== "active";
    box.setAttribute("aria-label", "Select " + t.name + " (" + t.id + ")");
    box.addEventListener("change", () => toggle(t.id, box.checked));
    check.appendChild(box);
    tr.appendChild(check);
    const name = cell(t.name, "name");
    const id = document.createElement("span");
    id.className = "id";
    id.textContent = t.id + (t.rotated_from ? " · replaces " + t.rotated_from : "");
    name.appendChild(id);
    tr.appendChild(name);
    tr.appendChild(cell(formatTime(t.created_at), "time"));
    tr.appendChild(expiryCell(t));
    tr.appendChild(cell(t.last_used_at ? relative(t.last_used_at) : "never", "last-used"));
    const status = cell();
    const badge = document.createElement("span");
    badge.className = "status " + t.status;
    badge.textContent = t.status;
    status.appendChild(badge);
    tr.appendChild(status);
    const actions = cell();
    actions.appendChild(linkButton("History", "History of " + t.name, () => showHistory(t)));
    if (t.status === "active" && !t.rotated_to)
      actions.appendChild(linkButton("Rotate", "Rotate " + t.name, () => askRotate(t)));
    tr.appendChild(actions);
    rows.push(tr);
  }
  body.replaceChildren(...rows);
  const n = state.tokens.size;
  $("tokens-summary").textContent = n === 0 ? "No tokens to show." : n + (n === 1 ? " token" : " tokens") + " shown.";
  $("load-more").hidden = !state.cursor;
  updateSelection();
}

function toggle(id, on) {
  if (on) state.selected.add(id); else state.selected.delete(id);
  const row = $("tokens").querySelector('tr[data-id="' + CSS.escape(id) + '"]');
  if (row) row.className = on ? "selected" : "";
  updateSelection();
}

function updateSelection() {
  const n = state.selected.size;
  const button = $("revoke-selected");
  button.disabled = n === 0;
  button.textContent = n > 1 ? "Revoke " + n + " Tokens" : "Revoke Token";
  const selectable = [...state.tokens.values()].filter((t) => t.status === "active");
  const all = $("select-all");
  all.checked = selectable.length > 0 && selectable.every((t) => state.selected.has(t.id));
  all.indeterminate = n > 0 && !all.checked;
}

function selectAll(on) {
  for (const t of state.tokens.values()) if (t.status === "active") toggle(t.id, on);
  renderTokens();
}

// ---- create ---------------------------------------------------------------------------------

async function createToken(event) {
  event.preventDefault();
  showError(null);
  const body = { name: $("token-name").value.trim() };
  const date = $("token-expiry").value;
  if (date) body.expires_at = date + "T00:00:00Z";
  let created;
  try {
    created = await api("POST", tokensPath(), body);
  } catch (e) {
    showError(e);
    return;
  }
  $("create-form").reset();
  showSecret(created);
}

function showSecret(created) {
  $("secret-name").textContent = created.name + " (" + created.id + ")";
  $("secret-value").value = created.token;
  $("secret-copied").textContent = "";
  const dialog = $("secret-dialog");
  dialog.showModal();
  $("secret-copy").focus();
}

async function copySecret() {
  const input = $("secret-value");
  try {
    await navigator.clipboard.writeText(input.value);
  } catch (e) {
    // Without the clipboard API (a plain-http origin other than localhost): the old way.
    input.select();
    if (!document.execCommand("copy")) {
      $("secret-copied").textContent = "Copying failed: select the token and copy it by hand.";
      return;
    }
  }
  $("secret-copied").textContent = "Copied to the clipboard.";
}

function closeSecret() {
  $("secret-value").value = "";  // gone from the page once the dialog closes
  $("secret-dialog").close();
  notice("The new token is in the list. Its secret is no longer shown anywhere.");
  loadTokens(true);
}

// ---- rotate ---------------------------------------------------------------------------------

let rotating = null;  // the token the rotate dialog is about

function askRotate(t) {
  rotating = t;
  $("rotate-name").textContent = t.name + " (" + t.id + ")";
  $("rotate-grace").value = "0";
  $("rotate-dialog").showModal();
  $("rotate-cancel").focus();
}

async function confirmRotate() {
  const t = rotating;
  const grace = Number($("rotate-grace").value);
  $("rotate-dialog").close();
  let created;
  try {
    created = await api("POST", tokensPath() + "/" + encodeURIComponent(t.id) + "/rotate", { grace_seconds: grace });
  } catch (e) {
    showError(e);
    return;
  }
  showSecret(created);
}

// ---- revoke ---------------------------------------------------------------------------------

function askRevoke() {
  const ids = [...state.selected];
  if (ids.length === 0) return;
  const n = ids.length;
  $("revoke-title").textContent = n === 1 ? "Revoke 1 token?" : "Revoke " + n + " tokens?";
  $("revoke-warning").textContent = "Revocation is permanent and cannot be undone: anything that uses " +
      (n === 1 ? "this token" : "these tokens") + " is refused from now on.";
  $("revoke-list").replaceChildren(...ids.map((id) => {
    const li = document.createElement("li");
    const t = state.tokens.get(id);
    li.textContent = (t ? t.name + " " : "") + "(" + id + ")";
    return li;
  }));
  $("revoke-reason").value = "";
  $("revoke-dialog").showModal();
  $("revoke-cancel").focus();  // the safe choice has the focus
}

async function confirmRevoke() {
  const ids = [...state.selected];
  const reason = $("revoke-reason").value.trim();
  $("revoke-dialog").close();
  let result;
  try {
    result = await api("POST", tokensPath() + "/revoke", reason ? { ids, reason } : { ids });
  } catch (e) {
    showError(e);
    return;
  }
  const revoked = result.results.filter((r) => r.result === "revoked").length;
  const others = result.results.filter((r) => r.result !== "revoked").map((r) => r.id + ": " + r.result.replace("_", " "));
  notice("Revoked " + revoked + (revoked === 1 ? " token." : " tokens.") + (others.length ? " Not revoked: " + others.join(", ") + "." : ""));
  await loadTokens(true);
}

// ---- history --------------------------------------------------------------------------------

function describe(e) {
  switch (e.type) {
    case "token.created": return "Created by " + e.actor + ", expires " + formatTime(e.expires_at) + " UTC";
    case "token.revoked": return "Revoked by " + e.actor + (e.reason ? " (" + e.reason + ")" : "");
    case "token.expired": return "Expired";
    case "token.rotated": return "Rotated by " + e.actor + " to " + e.new_token_id + ", valid until " + formatTime(e.revoke_at) + " UTC";
    default: return e.type;
  }
}

async function showHistory(t) {
  showError(null);
  let history;
  try {
    history = await api("GET", "/v1/tokens/" + encodeURIComponent(t.id) + "/history");
  } catch (e) {
    showError(e);
    return;
  }
  $("history-token").textContent = t.name + " (" + t.id + ")";
  $("history-events").replaceChildren(...history.events.map((e) => {
    const li = document.createElement("li");
    const when = document.createElement("span");
    when.className = "type";
    when.textContent = formatTime(e.recorded_at) + " UTC · event " + e.seq;
    const what = document.createElement("div");
    what.textContent = describe(e);
    li.append(when, what);
    return li;
  }));
  $("history").hidden = false;
  $("history-close").focus();
}

function hideHistory() {
  $("history").hidden = true;
}

// ---- wiring ---------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => signOut());
  $("namespace-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const ns = $("namespace").value.trim();
    if (ns) openNamespace(ns);
  });
  $("status-filter").addEventListener("change", () => {
    state.filter = $("status-filter").value;
    loadTokens(true);
  });
  $("refresh").addEventListener("click", () => loadTokens(true));
  $("load-more").addEventListener("click", () => loadTokens(false));
  $("select-all").addEventListener("change", () => selectAll($("select-all").checked));
  $("create-form").addEventListener("submit", createToken);
  $("secret-copy").addEventListener("click", copySecret);
  $("secret-done").addEventListener("click", closeSecret);
  // Escape closes the dialog too: the secret is cleared the same way.
  $("secret-dialog").addEventListener("cancel", (event) => {
    event.preventDefault();
    closeSecret();
  });
  $("rotate-cancel").addEventListener("click", () => $("rotate-dialog").close());
  $("rotate-confirm").addEventListener("click", confirmRotate);
  $("revoke-selected").addEventListener("click", askRevoke);
  $("revoke-cancel").addEventListener("click", () => $("revoke-dialog").close());
  $("revoke-confirm").addEventListener("click", confirmRevoke);
  $("history-close").addEventListener("click", hideHistory);
  showSignedIn();
});
