// The queue dashboard: polls /dashboard/data every 2 s and redraws the tiles and the job table.
// No inline script (the page runs under a strict Content-Security-Policy); text goes in through
// textContent only.
(function () {
  const root = document.getElementById("dashboard");
  if (!root) return;
  const INTERVAL_MS = 2000;
  const $ = (id) => document.getElementById(id);
  const text = (id, value) => {
    $(id).textContent = value === null || value === undefined ? "—" : String(value);
  };

  function cell(...children) {
    const td = document.createElement("td");
    td.append(...children);
    return td;
  }
  function link(href, label) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = label;
    return a;
  }

  function jobRow(j) {
    const tr = document.createElement("tr");
    tr.dataset.jobid = j.jobid;
    tr.className = "state-" + j.state.toLowerCase();
    const code = document.createElement("code");
    code.textContent = j.jobid.slice(0, 8);
    const idLink = link(j.page_url, "");
    idLink.append(code);
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = j.state;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = Math.round(j.progress * 100);
    bar.textContent = bar.value + "%";
    const stage = document.createElement("small");
    stage.textContent = " " + j.stage_label;
    const time = document.createElement("time");
    time.dateTime = j.created_at;
    time.textContent = new Date(j.created_at).toLocaleTimeString();
    const links = [link(j.progress_url, "progress")];
    if (j.result_url) links.push(" · ", link(j.result_url, "PDF"));
    tr.append(
      cell(idLink),
      cell(badge),
      cell(bar, stage),
      cell(time),
      cell(j.duration_ms === null ? "—" : j.duration_ms + " ms"),
      cell(j.result || j.error || ""),
      cell(...links),
    );
    return tr;
  }

  function render(data) {
    text("depth", data.queue && data.queue.depth);
    text("consumers", data.queue && data.queue.consumers);
    $("broker-down").hidden = Boolean(data.queue);
    text("per-minute", data.jobs && data.jobs.per_minute);
    text("submitted", data.jobs && data.jobs.submitted);
    text("succeeded", data.jobs && data.jobs.succeeded);
    text("failed", data.jobs && data.jobs.failed);
    text("updated", new Date(data.generated_at).toLocaleTimeString());
    const rows = data.recent.map(jobRow);
    if (rows.length === 0) {
      const tr = document.createElement("tr");
      tr.className = "empty";
      const td = cell("No jobs yet.");
      td.colSpan = 7;
      tr.append(td);
      rows.push(tr);
    }
    $("jobs").replaceChildren(...rows);
  }

  async function poll() {
    try {
      const res = await fetch("/dashboard/data", {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!res.ok) throw new Error("HTTP " + res.status);
      render(await res.json());
      $("stale").hidden = true;
    } catch (_) {
      $("stale").hidden = false;
    }
    setTimeout(poll, INTERVAL_MS);
  }

  window.irisDashboard = { render };
  setTimeout(poll, INTERVAL_MS);
})();
