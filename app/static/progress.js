// Keeps the progress page current. Live updates come over socket.io (the client socket.io serves
// at /socket.io/socket.io.min.js, WebSocket transport only, so several web processes need no
// sticky sessions). When the socket cannot connect, or drops, the page polls /progress every
// 500 ms until the socket is back or the job is final. No inline script: a strict CSP holds.
(function () {
  "use strict";
  const root = document.getElementById("job");
  if (!root) return;
  const jobid = root.dataset.jobid;
  const FINAL = ["SUCCESS", "FAILURE", "REVOKED"];
  const BADGES = { PENDING: "Queued", PROGRESS: "Working", SUCCESS: "Ready", FAILURE: "Failed", REVOKED: "Cancelled" };
  const POLL_MS = 500;
  const $ = (id) => document.getElementById(id);
  const isFinal = (state) => FINAL.includes(state);
  // Progress never goes backwards and a final state is last; anything older than what is shown
  // (a late poll answer, a socket event overtaken by a newer read) is dropped.
  const rankOf = (body) => (isFinal(body.state) ? 2 : body.progress);

  const status = {
    mode: "idle", // "socket" | "polling" | "idle"
    events: 0, // socket `progress` events received
    polls: 0, // /progress answers received
    stages: [], // the stages shown, in order (tests read this)
    rank: isFinal(root.dataset.state) ? 2 : Number(root.dataset.progress) || 0,
    final: isFinal(root.dataset.state),
  };

  function el(tag, props, children) {
    const node = document.createElement(tag);
    Object.assign(node, props || {});
    for (const child of children || []) node.append(child);
    return node;
  }

  function renderSteps(stage, state) {
    const steps = $("steps");
    const items = Array.from(steps.querySelectorAll("li"));
    const current = items.findIndex((li) => li.dataset.stage === stage);
    items.forEach((li, i) => {
      li.classList.toggle("done", state === "SUCCESS" || (current >= 0 && i < current));
      li.classList.toggle("current", state !== "SUCCESS" && i === current);
    });
    steps.classList.toggle("stopped", state === "FAILURE" || state === "REVOKED");
  }

  function renderProbabilities(probabilities, winner) {
    const rows = Object.entries(probabilities || {}).map(([name, p]) => {
      const bar = el("progress", { max: 1000, value: Math.round(p * 1000), className: "p-" + name });
      bar.setAttribute("aria-hidden", "true");
      const dot = el("span", { className: "dot dot-" + name });
      dot.setAttribute("aria-hidden", "true");
      const th = el("th", {}, [dot, name]);
      th.scope = "row";
      const row = el("tr", {}, [
        th,
        el("td", { className: "bar-cell" }, [bar]),
        el("td", { className: "num", textContent: (Math.round(p * 1000) / 10).toFixed(1) + "%" }),
      ]);
      if (name === winner) row.className = "winner";
      return row;
    });
    $("probabilities").querySelector("tbody").replaceChildren(...rows);
  }

  function renderSummary(summary) {
    const rows = Object.entries(summary).map(([name, n]) => {
      const dot = el("span", { className: "dot dot-" + name });
      dot.setAttribute("aria-hidden", "true");
      const th = el("th", {}, [dot, name]);
      th.scope = "row";
      return el("tr", {}, [th, el("td", { className: "num", textContent: String(n) })]);
    });
    $("summary").querySelector("tbody").replaceChildren(...rows);
  }

  function showPreview() {
    const preview = $("preview");
    // Phones without a PDF viewer would download the file instead of showing it: link only.
    if (navigator.pdfViewerEnabled === false) return;
    if (!preview.getAttribute("src")) preview.setAttribute("src", preview.dataset.src);
    preview.hidden = false;
  }

  function announce(text) {
    $("announce").textContent = text;
  }

  let lastStage = null;
  function render(body) {
    if (!body || body.jobid !== jobid) return; // never another job's events
    const rank = rankOf(body);
    if (rank < status.rank || (status.final && status.rendered)) return;
    status.rank = rank;
    status.rendered = true;
    if (status.stages[status.stages.length - 1] !== body.stage) status.stages.push(body.stage);
    const pct = Math.round(body.progress * 100);
    $("bar").value = pct;
    $("bar").textContent = pct + "%";
    $("percent").textContent = pct + "%";
    $("stage").textContent = body.stage_label || body.stage;
    const badge = $("badge");
    badge.textContent = BADGES[body.state] || body.state;
    badge.className = "badge state-" + body.state.toLowerCase();
    root.dataset.state = body.state;
    root.dataset.progress = String(body.progress);
    renderSteps(body.stage, body.state);
    if (body.stage !== lastStage && !isFinal(body.state)) announce((body.stage_label || body.stage) + ", " + pct + "%");
    lastStage = body.stage;
    document.title = pct + "% · Iris report";

    if (body.state === "SUCCESS" && body.summary) {
      // A batch: flowers per species instead of one species and its probabilities.
      renderSummary(body.summary);
      $("success").hidden = false;
      showPreview();
      document.title = "Ready: batch of " + body.batch_size + " · Iris report";
      announce("Done. The PDF report for " + body.batch_size + " flowers is ready to download.");
    } else if (body.state === "SUCCESS") {
      const species = $("species");
      species.textContent = body.result;
      species.className = "sp-" + body.result;
      renderProbabilities(body.probabilities, body.result);
      $("success").hidden = false;
      showPreview();
      document.title = "Ready: " + body.result + " · Iris report";
      announce("Done. Predicted species: Iris " + body.result + ". The PDF report is ready to download.");
    } else if (body.state === "FAILURE" || body.state === "REVOKED") {
      $("error").textContent = body.error || "This job was cancelled.";
      $("failure").hidden = false;
      document.title = BADGES[body.state] + " · Iris report";
    }
    if (isFinal(body.state)) finish();
  }

  // A job that cannot be followed any more (expired, unknown): say so instead of spinning.
  function showGone(message) {
    $("error").textContent = message;
    $("failure").hidden = false;
    $("stage").textContent = "Not available";
    finish();
  }

  let socket = null;
  let timer = null;
  let polling = false;

  function finish() {
    status.final = true;
    stopPolling();
    if (socket) socket.close();
    status.mode = "idle";
  }

  function startPolling() {
    if (polling || status.final) return;
    polling = true;
    status.mode = "polling";
    poll();
  }

  function stopPolling() {
    polling = false;
    clearTimeout(timer);
  }

  async function poll() {
    if (!polling) return;
    try {
      const res = await fetch("/progress?jobid=" + encodeURIComponent(jobid), {
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if (res.ok) {
        status.polls++;
        render(await res.json());
      } else if (res.status >= 400 && res.status < 500 && res.status !== 429) {
        const body = await res.json().catch(() => ({}));
        showGone(body.error || "This job can no longer be followed.");
        return;
      }
    } catch (_) {
      // A network blip: try again on the next tick.
    }
    if (polling && !status.final) timer = setTimeout(poll, POLL_MS);
  }

  function connectSocket() {
    if (typeof window.io !== "function") return startPolling();
    socket = window.io({ transports: ["websocket"], timeout: 4000, reconnectionDelayMax: 5000 });
    socket.on("connect", () => {
      socket.emit("subscribe", { jobid }, (ack) => {
        if (ack && ack.ok) {
          stopPolling();
          if (!status.final) status.mode = "socket";
        } else {
          // The server refused (expired, unknown): polling shows the reason and stops.
          socket.close();
          startPolling();
        }
      });
    });
    socket.on("progress", (body) => {
      status.events++;
      render(body);
    });
    // Poll while the socket is down: at once when its connection fails or closes (the Manager
    // reports that before the connect timeout), until a reconnect's subscribe is acknowledged.
    socket.on("connect_error", startPolling);
    socket.on("disconnect", () => {
      if (!status.final) startPolling();
    });
    socket.io.on("error", startPolling);
    socket.io.on("close", () => {
      if (!status.final) startPolling();
    });
  }

  window.irisProgress = { status, render };
  if (status.final) {
    if (root.dataset.state === "SUCCESS") showPreview();
  } else {
    connectSocket();
  }
})();
