// The live console: one event stream per browser, HTML fragments swapped in by element id.
//
// Browsers allow six HTTP/1.1 connections per host, so a stream per tab would freeze the
// seventh tab. Tabs elect a leader with the Web Locks API; only the leader holds an EventSource
// and relays every frame over a BroadcastChannel. Where either API is missing, each tab keeps
// its own stream. Every tab tracks the last seq it applied and ignores anything older, so
// replays and relays can overlap without harm.
(() => {
  "use strict";

  const STREAM_URL = "/console/stream";
  const SNAPSHOT_URL = "/console/snapshot";
  const CHANNEL_NAME = "goofs-console";
  const LOCK_NAME = "goofs-console-stream";
  const FEED_SIZE = 50;
  const RELAY_MEMORY = 500; // frames the leader keeps for tabs that join late
  const RETRY_DELAYS_MS = [250, 500, 1000, 2000, 3000];
  const OFFLINE_AFTER_FAILURES = 3;

  const connection = document.getElementById("connection");
  const toasts = document.getElementById("toasts");
  const shared = "locks" in navigator && "BroadcastChannel" in window;
  const channel = shared ? new BroadcastChannel(CHANNEL_NAME) : null;

  let applied = Number(document.getElementById("feed").dataset.seq || 0);
  const early = new Map(); // seq -> frame that arrived before its predecessors
  let resyncing = null;
  let leading = false;
  let source = null;
  let retryTimer = null;
  let failures = 0;
  let streamState = "connecting";
  const relayed = []; // the leader's recent frames, oldest first
  const tabId = Math.random().toString(36).slice(2);
  const GAP_PATIENCE_MS = 2000;
  let gapTimer = null;

  // ---- the connection indicator ---------------------------------------------------------

  const STATE_LABELS = {
    connecting: "Connecting…",
    live: "Live",
    reconnecting: "Reconnecting…",
    offline: "Offline: retrying",
  };

  function showState(state) {
    connection.dataset.state = state;
    connection.querySelector(".label").textContent = STATE_LABELS[state] || state;
  }

  function setStreamState(state) {
    streamState = state;
    showState(state);
    if (channel) channel.postMessage({ kind: "state", state });
  }

  // ---- applying frames ------------------------------------------------------------------

  function receive(frame) {
    if (frame.type === "reset") {
      resync();
      return;
    }
    if (resyncing) {
      // The snapshot on its way may be older than this frame: apply it after the snapshot.
      early.set(frame.seq, frame);
      return;
    }
    if (frame.seq <= applied) return;
    if (frame.seq > applied + 1) {
      // Frames we never saw (this tab joined late, or a relay was missed): ask for them.
      early.set(frame.seq, frame);
      if (channel && !leading) askForReplay();
      else resync();
      return;
    }
    apply(frame);
    while (early.has(applied + 1)) {
      const next = early.get(applied + 1);
      early.delete(applied + 1);
      apply(next);
    }
    for (const seq of early.keys()) if (seq <= applied) early.delete(seq);
  }

  function askForReplay() {
    if (gapTimer) return;
    channel.postMessage({ kind: "replay", after: applied, from: tabId });
    // Nobody could fill the gap in time (the leader just went away): start over.
    gapTimer = window.setTimeout(() => {
      gapTimer = null;
      if (early.size) resync();
    }, GAP_PATIENCE_MS);
  }

  function apply(frame) {
    applied = frame.seq;
    const template = document.createElement("template");
    template.innerHTML = frame.data;
    const fragments = Array.from(template.content.children);
    const line = fragments.find((fragment) => fragment.dataset.fragment === "event");
    const created = Boolean(line && line.classList.contains("created"));
    let matches = 0; // how the change moved the count of spacecraft the board's search matches
    let left = false; // a row left the page
    for (const fragment of fragments) {
      const kind = fragment.dataset.fragment;
      if (kind === "row" || kind === "removed") {
        const moved = searchMatchesMoved(fragment, created);
        matches = moved === null || matches === null ? null : matches + moved;
        const shown = Boolean(document.getElementById(fragment.id));
        if (kind === "row") upsertRow(fragment);
        else removeById(fragment.id);
        left = left || (shown && !document.getElementById(fragment.id));
      } else if (kind === "summary") replaceById(fragment);
      else if (kind === "event") addFeedLine(fragment);
      else if (kind === "triage") upsertTriage(fragment);
      else if (kind === "note") addNote(fragment);
    }
    summaryChanged();
    recount(matches, left);
  }

  // ---- pages that summarise events ------------------------------------------------------

  // Analytics re-fetch their charts on "goofs:summary": a few seconds after an event, once
  // for all the events of those seconds. Not a debounce (htmx's `delay`), which a fleet that
  // changes every second would put off for ever; not htmx's `throttle`, which drops the last
  // events of a burst. Every open page hears an event at the same moment: each waits its own
  // random part of a second period more, so fifty pages ask one by one, not all at once.
  const SUMMARY_EVERY_MS = 3000;
  let summaryDue = null;

  function summaryChanged() {
    if (summaryDue !== null) return;
    summaryDue = setTimeout(() => {
      summaryDue = null;
      document.body.dispatchEvent(new CustomEvent("goofs:summary"));
    }, SUMMARY_EVERY_MS * (1 + Math.random()));
  }

  // ---- the range line and the pager -----------------------------------------------------

  // Without a search the summary in the frame holds the board's total. With one, the change
  // moves it by one when we can tell whether the spacecraft matched before: it is on the
  // page, it was just registered, or the page shows every match. Otherwise (a search over
  // several pages changed off the page) null: only the server knows.
  function searchMatchesMoved(fragment, created) {
    const board = document.getElementById("board");
    if (!board || !board.dataset.q.trim()) return 0;
    const current = document.getElementById(fragment.id);
    const rows = document.getElementById("fleet-rows").children.length;
    const showsAll = Number(board.dataset.offset) === 0 && rows === Number(board.dataset.total);
    let before = false;
    if (current) before = true;
    else if (!created && !showsAll) return null;
    const after = fragment.dataset.fragment === "row" && matchesBoard(fragment, board);
    return Number(after) - Number(before);
  }

  function recount(matches, left) {
    const board = document.getElementById("board");
    if (!board) return;
    if (matches === null) {
      resync();
      return;
    }
    let total = Number(board.dataset.total) + matches;
    if (!board.dataset.q.trim()) {
      const counted = (board.dataset.status || "total").toLowerCase();
      const count = document.querySelector(`#summary .${counted} .count`);
      if (count) total = Number(count.textContent);
    }
    board.dataset.total = String(total);
    const limit = Number(board.dataset.limit);
    const offset = Number(board.dataset.offset);
    const page = Number(board.dataset.page);
    const rows = document.getElementById("fleet-rows").children.length;
    if (left && rows === limit - 1 && offset + rows < total) {
      // A row left a full page: which one slides in from the next page only the server knows.
      resync();
      return;
    }
    const pages = Math.max(1, Math.ceil(total / limit));
    const shown = rows ? `${offset + 1}–${offset + rows} of ${total.toLocaleString("en")}` : "None";
    board.querySelector(".range").textContent = `${shown} · page ${page} of ${pages}`;
    board.querySelector(".pagination .next").disabled = page >= pages;
    board.querySelector(".empty").hidden = rows > 0;
  }

  function replaceById(fragment) {
    const current = document.getElementById(fragment.id);
    if (current) swapIn(current, fragment);
  }

  function removeById(id) {
    const current = document.getElementById(id);
    if (current) current.remove();
  }

  function upsertRow(row) {
    const current = document.getElementById(row.id);
    const board = document.getElementById("board");
    if (current) {
      if (current.dataset.editing) return; // the operator's edit wins; a stale save gets a 409
      if (Number(current.dataset.version) > Number(row.dataset.version)) return;
      if (!board) swapIn(current, row); // a spacecraft's own page: its one row
      else if (!matchesBoard(row, board)) current.remove();
      else swapIn(current, row);
      return;
    }
    if (board && matchesBoard(row, board)) insertSorted(row, board);
  }

  // The triage queue keeps the server's order: shelved last, then by severity, then oldest
  // first (`data-sort` holds that key). On a spacecraft's page it shows that spacecraft's only.
  function upsertTriage(item) {
    const list = document.getElementById("triage-items");
    if (!list) return;
    const only = list.dataset.spacecraft;
    if (only && item.dataset.spacecraft !== only) return;
    const current = document.getElementById(item.id);
    if (current && current.contains(document.activeElement) && current.querySelector("details[open]")) {
      // Someone is typing in its forms: keep them, refresh only what it says.
      for (const part of [".head", ".description", ".waiting"]) {
        const fresh = item.querySelector(part);
        const old = current.querySelector(part);
        if (fresh && old) swapIn(old, fresh);
      }
      return;
    }
    if (current) {
      // Same spacecraft, same next contact: keep it until the next look.
      const contact = current.querySelector(".contact");
      const slot = item.querySelector(".contact");
      if (contact && slot) slot.replaceWith(contact);
      current.remove();
    } else if (only) {
      // A new anomaly on this spacecraft: the notes shown were the previous one's.
      const notes = document.getElementById("notes");
      if (notes) {
        notes.replaceChildren();
        notes.dataset.anomaly = item.id.replace(/^anomaly-/, "");
      }
    }
    const after = Array.from(list.children).find((other) => other.dataset.sort > item.dataset.sort);
    if (after) after.before(item);
    else list.append(item);
    htmx.process(item);
    refreshTimes(item);
    refreshContacts();
  }

  function addNote(note) {
    const notes = document.getElementById("notes");
    if (!notes || notes.dataset.anomaly !== note.dataset.anomaly) return;
    if (document.getElementById(note.id)) return;
    notes.append(note);
    refreshTimes(note);
  }

  function matchesBoard(row, board) {
    const status = board.dataset.status;
    if (status && row.dataset.status !== status) return false;
    const q = (board.dataset.q || "").trim().toLowerCase();
    if (!q) return true;
    return (
      row.dataset.name.toLowerCase().includes(q) || row.dataset.cospar.toLowerCase().includes(q)
    );
  }

  // The board is sorted by name; a new row goes where the server would have put it, as long
  // as it belongs on the page shown.
  function insertSorted(row, board) {
    const body = document.getElementById("fleet-rows");
    const rows = Array.from(body.children);
    const limit = Number(board.dataset.limit);
    const onFirstPage = Number(board.dataset.offset) === 0;
    const after = rows.find((other) => other.dataset.name > row.dataset.name);
    if (!after && rows.length >= limit) return; // belongs on a later page
    if (!onFirstPage && rows.length && rows[0] === after) return; // on an earlier page
    if (after) after.before(row);
    else body.append(row);
    htmx.process(row);
    refreshTimes(row);
    if (body.children.length > limit) body.lastElementChild.remove();
  }

  function addFeedLine(line) {
    const feed = document.getElementById("feed");
    if (document.getElementById(line.id)) return;
    // A spacecraft's timeline: its own events only, and none pushed onto an older page.
    if (feed.dataset.spacecraft && feed.dataset.spacecraft !== line.dataset.spacecraft) return;
    if (feed.dataset.paged) return;
    feed.prepend(line);
    refreshTimes(line);
    while (feed.children.length > FEED_SIZE) feed.lastElementChild.remove();
  }

  function swapIn(current, fresh) {
    current.replaceWith(fresh);
    htmx.process(fresh);
    refreshTimes(fresh);
  }

  // Start over from the server's current state: after a reset, or frames nobody can replay.
  function resync() {
    if (resyncing) return resyncing;
    if (document.body.dataset.page === "spacecraft" || document.body.dataset.page === "analytics") {
      // The snapshot is the board's; a spacecraft's page simply loads again.
      window.location.reload();
      return Promise.resolve();
    }
    const board = document.getElementById("board");
    const query = new URLSearchParams({
      q: board ? board.dataset.q : "",
      status: board ? board.dataset.status : "",
      page: board ? board.dataset.page : "1",
    });
    resyncing = fetch(`${SNAPSHOT_URL}?${query}`, { headers: { Accept: "text/html" } })
      .then((response) => {
        if (!response.ok) throw new Error(`snapshot failed: ${response.status}`);
        return response.text();
      })
      .then((html) => {
        const template = document.createElement("template");
        template.innerHTML = html;
        for (const fresh of Array.from(template.content.children)) {
          const current = document.getElementById(fresh.id);
          if (current) swapIn(current, fresh);
        }
        applied = Math.max(applied, Number(document.getElementById("feed").dataset.seq));
        refreshContacts(); // the snapshot's triage items come without them
        for (const seq of Array.from(early.keys()).sort((a, b) => a - b)) {
          const frame = early.get(seq);
          early.delete(seq);
          receive(frame);
        }
      })
      .catch((error) => toast(`Could not reload the board: ${error.message}`))
      .finally(() => {
        resyncing = null;
      });
    return resyncing;
  }

  // ---- the stream (leader or stand-alone tab) -------------------------------------------

  function connect() {
    source = new EventSource(`${STREAM_URL}?after=${applied}`);
    source.addEventListener("open", () => {
      failures = 0;
      setStreamState("live");
    });
    source.addEventListener("fragments", (message) => {
      relay({ seq: Number(message.lastEventId), type: "fragments", data: message.data });
    });
    source.addEventListener("reset", (message) => {
      relay({ seq: Number(message.lastEventId), type: "reset", data: message.data });
    });
    source.addEventListener("error", () => {
      // We reconnect ourselves, from the seq this tab applied (the browser would resend the
      // original ?after=), and say so on the indicator.
      source.close();
      failures += 1;
      setStreamState(failures >= OFFLINE_AFTER_FAILURES ? "offline" : "reconnecting");
      const delay = RETRY_DELAYS_MS[Math.min(failures - 1, RETRY_DELAYS_MS.length - 1)];
      retryTimer = window.setTimeout(reconnectNow, delay);
    });
  }

  // Timers in hidden tabs may be throttled for a minute; coming back or going online retries
  // at once.
  function reconnectNow() {
    window.clearTimeout(retryTimer);
    retryTimer = null;
    if (source && source.readyState === EventSource.CLOSED) connect();
  }

  function relay(frame) {
    receive(frame);
    if (!channel) return;
    if (frame.type !== "reset") {
      relayed.push(frame);
      if (relayed.length > RELAY_MEMORY) relayed.shift();
    }
    channel.postMessage({ kind: "frame", frame });
  }

  function replayFor(after, tab) {
    if (!channel) return;
    if (relayed.length && relayed[0].seq > after + 1) {
      // Older than what we kept: that tab starts over from a snapshot.
      channel.postMessage({ kind: "behind", to: tab });
      return;
    }
    for (const frame of relayed) {
      if (frame.seq > after) channel.postMessage({ kind: "frame", frame });
    }
  }

  function lead() {
    leading = true;
    connect();
    // Held until the tab goes away; then the browser hands the lock to the next tab.
    return new Promise(() => {});
  }

  if (channel) {
    channel.addEventListener("message", (message) => {
      const note = message.data;
      if (note.kind === "frame" && !leading) receive(note.frame);
      else if (note.kind === "state" && !leading) showState(note.state);
      else if (note.kind === "behind" && note.to === tabId) resync();
      else if (note.kind === "hello" && leading) {
        channel.postMessage({ kind: "state", state: streamState });
        replayFor(note.after, note.from);
      } else if (note.kind === "replay" && leading) replayFor(note.after, note.from);
    });
    navigator.locks.request(LOCK_NAME, lead);
    channel.postMessage({ kind: "hello", after: applied, from: tabId });
  } else {
    connect();
  }

  window.addEventListener("offline", () => showState("offline"));
  window.addEventListener("online", () => {
    showState(streamState);
    reconnectNow();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") reconnectNow();
  });

  // ---- requests that fail must say so ---------------------------------------------------

  function toast(text) {
    const note = document.createElement("p");
    note.className = "toast";
    note.textContent = text;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "secondary outline";
    close.textContent = "Dismiss";
    close.setAttribute("aria-label", "Dismiss message");
    close.addEventListener("click", () => note.remove());
    note.append(" ", close);
    toasts.append(note);
    window.setTimeout(() => note.remove(), 8000);
  }

  document.body.addEventListener("htmx:responseError", (event) => {
    const xhr = event.detail.xhr;
    const type = xhr.getResponseHeader("content-type") || "";
    // A form that came back with its errors shows them beside the fields.
    if (type.startsWith("text/html")) return;
    let detail = `${xhr.status} ${xhr.statusText}`;
    try {
      const body = JSON.parse(xhr.responseText);
      if (typeof body.detail === "string") detail = body.detail;
    } catch {
      // Not JSON: the status line has to do.
    }
    toast(`That did not work: ${detail}`);
  });

  document.body.addEventListener("htmx:sendError", () => {
    toast("Could not reach the server. Your change was not saved; try again when it is back.");
  });

  // ---- "broke 3 minutes ago" ------------------------------------------------------------

  const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
  const UNITS = [
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
    ["second", 1],
  ];

  function ago(iso) {
    const seconds = Math.round((Date.parse(iso) - Date.now()) / 1000);
    for (const [unit, size] of UNITS) {
      if (Math.abs(seconds) >= size || unit === "second") {
        return relative.format(Math.round(seconds / size), unit);
      }
    }
    return "";
  }

  // "waiting 4 min": how long an anomaly has waited, as a duration rather than a moment.
  function waited(iso) {
    const minutes = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 60000));
    if (minutes < 1) return "under a minute";
    if (minutes < 120) return `${minutes} min`;
    const hours = Math.floor(minutes / 60);
    return hours < 48 ? `${hours} h` : `${Math.floor(hours / 24)} days`;
  }

  // "in 12 min": until a moment to come.
  function until(iso) {
    const minutes = Math.floor((Date.parse(iso) - Date.now()) / 60000);
    if (minutes < 1) return "in under a minute";
    if (minutes < 120) return `in ${minutes} min`;
    return `in ${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
  }

  function refreshTimes(root) {
    for (const time of root.querySelectorAll("time[data-until]")) {
      time.textContent = until(time.dateTime);
    }
    for (const time of root.querySelectorAll("time[data-ago]")) {
      if (!time.title) time.title = time.textContent.trim();
      time.textContent = ago(time.dateTime);
    }
    for (const time of root.querySelectorAll("time[data-waiting]")) {
      if (!time.title) time.title = time.textContent.trim();
      time.textContent = waited(time.dateTime);
    }
  }

  // ---- "next contact in 12 min" on the triage queue ------------------------------------

  // The server finds contacts (a few tens of milliseconds a spacecraft, then cached), so the
  // console asks only about the items it shows, a few at a time, and again only when what it
  // shows runs out: at the contact's start, at its end, or after a while without one.
  const CONTACTS_URL = "/console/contacts";
  const CONTACTS_BATCH = 20;
  let contactsAsking = false;

  function dueContacts() {
    const due = new Set();
    for (const slot of document.querySelectorAll("#triage-items .contact[data-spacecraft]")) {
      const at = slot.dataset.refreshAt;
      if (!at || Date.parse(at) <= Date.now()) due.add(slot.dataset.spacecraft);
    }
    return Array.from(due).slice(0, CONTACTS_BATCH);
  }

  async function refreshContacts() {
    if (contactsAsking) return;
    const due = dueContacts();
    if (!due.length) return;
    contactsAsking = true;
    let answered = false;
    try {
      const query = new URLSearchParams(due.map((id) => ["spacecraft", id]));
      const response = await fetch(`${CONTACTS_URL}?${query}`, { headers: { Accept: "text/html" } });
      if (response.ok) {
        const template = document.createElement("template");
        template.innerHTML = await response.text();
        for (const fresh of Array.from(template.content.children)) {
          const selector = `#triage-items .contact[data-spacecraft="${fresh.dataset.spacecraft}"]`;
          for (const slot of document.querySelectorAll(selector)) slot.replaceWith(fresh.cloneNode(true));
        }
        refreshTimes(document.getElementById("triage-items"));
        answered = true;
      }
    } catch (error) {
      // Offline for a moment: the next tick asks again.
    } finally {
      contactsAsking = false;
    }
    // More items than one batch: the rest at once (the ones just answered wait for a tick,
    // so a clock running ahead of the server's cannot make this ask without end).
    if (answered && dueContacts().some((id) => !due.includes(id))) refreshContacts();
  }

  document.body.addEventListener("htmx:afterSettle", () => refreshTimes(document));
  refreshTimes(document);
  refreshContacts();
  window.setInterval(() => {
    refreshTimes(document);
    refreshContacts();
  }, 5000);
})();
