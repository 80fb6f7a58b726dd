// Keeps the progress page current: polls /progress every 500 ms until the job is final.
(function () {
  const root = document.getElementById("job");
  if (!root) return;
  const jobid = root.dataset.jobid;
  const FINAL = ["SUCCESS", "FAILURE", "REVOKED"];
  const $ = (id) => document.getElementById(id);

  function render(body) {
    const pct = Math.round(body.progress * 100);
    $("bar").value = pct;
    $("bar").textContent = pct + "%";
    $("percent").textContent = String(pct);
    $("stage").textContent = body.stage_label || body.stage;
    root.dataset.state = body.state;
    if (body.state === "SUCCESS") {
      // A batch shows rows per species; a single flower its species and probabilities.
      const batch = Boolean(body.summary);
      if (!batch) $("species").textContent = body.result;
      const table = $(batch ? "summary" : "probabilities");
      const rows = Object.entries(batch ? body.summary : body.probabilities || {}).map(([name, p]) => {
        const tr = document.createElement("tr");
        const a = document.createElement("td");
        const b = document.createElement("td");
        a.textContent = name;
        b.textContent = batch ? String(p) : (Math.round(p * 1000) / 10).toFixed(1) + "%";
        tr.append(a, b);
        return tr;
      });
      if (table) table.querySelector("tbody").replaceChildren(...rows);
      const preview = $("preview");
      const src = "/result?jobid=" + encodeURIComponent(jobid) + "&inline=1";
      if (preview.getAttribute("src") !== src) preview.setAttribute("src", src);
      $("success").hidden = false;
    } else if (body.state === "FAILURE" || body.state === "REVOKED") {
      $("error").textContent = body.error || "This job was cancelled.";
      $("failure").hidden = false;
    }
  }

  let timer = null;
  async function poll() {
    try {
      const res = await fetch("/progress?jobid=" + encodeURIComponent(jobid), { headers: { Accept: "application/json" } });
      if (res.ok) {
        const body = await res.json();
        render(body);
        if (FINAL.includes(body.state)) return;
      }
    } catch (_) {
      // Network blip: try again on the next tick.
    }
    timer = setTimeout(poll, 500);
  }

  window.irisProgress = { render, poll, stop: () => clearTimeout(timer) };
  if (!FINAL.includes(root.dataset.state)) poll();
})();
