// The dashboard: plain DOM over the service's JSON API, no framework and nothing fetched from
// elsewhere. Text reaches the page through textContent only, never parsed as HTML.
"use strict";

const KEY_STORAGE = "keras-train-serve.api-key";
const ACTIVE = new Set(["queued", "running"]);
const REFRESH_MS = 15000;
// While a dataset is being prepared, the datasets are asked for this often.
const PREPARING_REFRESH_MS = 2000;
const TOP_K = 3;

const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

// ---- Building the page --------------------------------------------------------------------

/** An element with properties (or attributes) and children: nodes, or strings set as text. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (name === "class") node.className = value;
    else if (name in node) node[name] = value;
    else node.setAttribute(name, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function percent(fraction) {
  return typeof fraction === "number" ? `${(fraction * 100).toFixed(1)}%` : "–";
}

function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "–";
}

/** Shows an error in a box (its id, or the element itself); no error hides the box. */
function showError(target, error) {
  const box = typeof target === "string" ? $(target) : target;
  box.textContent = !error
    ? ""
    : error instanceof ApiError
      ? `Error ${error.status}: ${error.message}`
      : `Error: ${error.message || error}`;
  box.hidden = !error;
}

// ---- The API --------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

function authHeaders() {
  const key = localStorage.getItem(KEY_STORAGE);
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/** fetch() with the API key; a response that is not 2xx becomes an ApiError with its detail. */
async function api(path, { method = "GET", json, body, headers = {}, signal } = {}) {
  const init = { method, headers: { ...authHeaders(), ...headers }, body, signal };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, init);
  if (!response.ok) throw await errorFrom(response);
  return response;
}

async function apiJson(path, options) {
  return (await api(path, options)).json();
}

async function errorFrom(response) {
  let detail = response.statusText || "request failed";
  try {
    const body = await response.json();
    if (body && body.detail !== undefined) {
      detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    }
  } catch {
    // Not JSON: the status line says what there is to say.
  }
  if (response.status === 401 || response.status === 403) askForKey(detail);
  return new ApiError(response.status, detail);
}

// ---- API key --------------------------------------------------------------------------------

function askForKey(message) {
  $("key-panel").hidden = false;
  $("key-message").textContent = message || "";
}

function setUpKeyPanel() {
  $("show-key").addEventListener("click", () => askForKey(""));
  $("key-panel").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("api-key").value.trim();
    if (key) localStorage.setItem(KEY_STORAGE, key);
    $("api-key").value = "";
    $("key-panel").hidden = true;
    loadAll();
  });
  $("forget-key").addEventListener("click", () => {
    localStorage.removeItem(KEY_STORAGE);
    $("key-message").textContent = "Key forgotten.";
  });
}

// ---- Server-Sent Events over fetch (EventSource cannot send an Authorization header) --------

/** Reads a text/event-stream body, calling onEvent({type, data}) for each event, until the
 * stream closes or onEvent returns false. */
async function readEventStream(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let type = "";
  let data = [];
  try {
    for (;;) {
      const { value: chunk, done } = await reader.read();
      if (done) return;
      buffer += chunk;
      // A trailing "\r" may be half of a "\r\n": it waits for the next chunk.
      const cut = buffer.endsWith("\r") ? buffer.length - 1 : buffer.length;
      const lines = buffer.slice(0, cut).split(/\r\n|\r|\n/);
      buffer = lines.pop() + buffer.slice(cut);
      for (const line of lines) {
        if (line === "") {
          // A blank line ends an event.
          const ended = data.length ? { type: type || "message", data: data.join("\n") } : null;
          type = "";
          data = [];
          if (ended && onEvent(ended) === false) return;
        } else if (!line.startsWith(":")) {
          // Lines starting with ":" are comments (keep-alives).
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") type = text;
          else if (field === "data") data.push(text);
        }
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

// ---- Jobs -----------------------------------------------------------------------------------

const jobs = new Map(); // id -> {job, row, following: whether its event stream is being read}

function renderJob(job) {
  let entry = jobs.get(job.id);
  if (!entry) {
    entry = { job, row: el("tr"), following: false };
    jobs.set(job.id, entry);
  }
  entry.job = job;
  fillJobRow(entry.row, job);
  if (ACTIVE.has(job.status) && !entry.following) followJob(job.id);
}

function placeJobRows() {
  const entries = [...jobs.values()].sort((a, b) =>
    b.job.created_at.localeCompare(a.job.created_at),
  );
  $("jobs").tBodies[0].replaceChildren(...entries.map((entry) => entry.row));
  $("jobs-empty").hidden = entries.length > 0;
}

function fillJobRow(row, job) {
  row.className = `job status-${job.status}`;
  row.dataset.jobId = job.id;
  const cancelling = job.cancel_requested_at && ACTIVE.has(job.status);
  const dataset = datasetNames.get(job.dataset) || job.dataset;
  row.replaceChildren(
    el(
      "td",
      {},
      el("strong", { class: "job-name" }, job.name || "unnamed"),
      el("div", { class: "hint" }, `${dataset} · ${job.model}`),
      el("div", { class: "hint mono", title: job.id }, job.id.slice(0, 8), " · ", logButton(job.id)),
    ),
    el(
      "td",
      {},
      el("span", { class: `badge ${job.status}` }, job.status),
      cancelling ? el("div", { class: "hint" }, "cancelling…") : null,
    ),
    el("td", { class: "progress-cell" }, ...progressOf(job)),
    el("td", { class: "metrics" }, ...metricsOf(job)),
    el("td", {}, ACTIVE.has(job.status) && !cancelling ? cancelButton(job.id) : null),
  );
}

function logButton(jobId) {
  const onclick = () => showLog(jobId);
  return el("button", { type: "button", class: "link show-log", onclick }, "log");
}

// ---- A job's worker log ---------------------------------------------------------------------

const LOG_LIMIT = 10000;
let shownLog = null;

/** The job's worker log records, oldest first, under the jobs table. */
async function showLog(jobId) {
  shownLog = jobId;
  $("log-panel").hidden = false;
  $("log-job").textContent = jobId.slice(0, 8);
  try {
    const page = await apiJson(`/jobs/${enc(jobId)}/logs?limit=${LOG_LIMIT}`);
    if (shownLog !== jobId) return; // another job's log was asked for meanwhile
    const lines = page.data.map(logLine);
    if (!lines.length) lines.push(el("li", { class: "hint" }, "No records yet."));
    $("log-lines").replaceChildren(...lines);
    showError("log-error", null);
  } catch (error) {
    showError("log-error", error);
  }
}

// Shown another way, the same in every record of a job, or too long for a line.
const LOG_HIDDEN = new Set([
  "time", "level", "logger", "message", "process", "job_id", "taskName", "exc_info", "params",
  "metrics",
]);

function logLine(record) {
  const time = (record.time || "").slice(11, 19); // "2026-11-26 09:12:03,456" -> 09:12:03
  const level = el("span", { class: `level ${(record.level || "").toLowerCase()}` }, record.level);
  const fields = Object.entries(record)
    .filter(([name]) => !LOG_HIDDEN.has(name))
    .map(([name, value]) => `${name}=${logValue(value)}`);
  return el(
    "li",
    {},
    el("span", { class: "hint" }, time),
    " ",
    level,
    " ",
    record.message,
    fields.length ? el("span", { class: "hint" }, ` ${fields.join(" ")}`) : null,
    record.exc_info ? el("pre", { class: "traceback" }, record.exc_info) : null,
  );
}

function logValue(value) {
  if (typeof value === "number" && !Number.isInteger(value)) return value.toPrecision(4);
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function setUpLogPanel() {
  $("log-refresh").addEventListener("click", () => shownLog && showLog(shownLog));
  $("log-close").addEventListener("click", () => {
    shownLog = null;
    $("log-panel").hidden = true;
  });
}

function cancelButton(jobId) {
  const onclick = () => cancelJob(jobId);
  return el("button", { type: "button", class: "secondary cancel", onclick }, "Cancel");
}

function progressOf(job) {
  const progress = job.progress;
  const fraction = job.status === "succeeded" ? 1 : progress ? progress.fraction : 0;
  return [
    el("progress", { class: "bar", max: 1, value: fraction }, percent(fraction)),
    el("div", { class: "hint progress-text" }, progressText(job)),
  ];
}

function progressText(job) {
  const progress = job.progress;
  if (job.status === "queued") return "waiting for a worker";
  if (job.status === "succeeded" && job.started_at && job.finished_at) {
    return `done in ${duration((Date.parse(job.finished_at) - Date.parse(job.started_at)) / 1000)}`;
  }
  if (!progress) return job.status === "running" ? "starting…" : "";
  const parts = [`epoch ${progress.epoch}/${progress.epochs}`];
  if (progress.steps) parts.push(`step ${progress.step}/${progress.steps}`);
  parts.push(percent(progress.fraction));
  if (job.status === "running" && typeof progress.eta_seconds === "number") {
    parts.push(`ETA ${duration(progress.eta_seconds)}`);
  }
  if (job.status === "running" && progress.images_per_second) {
    parts.push(`${Math.round(progress.images_per_second)} img/s`);
  }
  return parts.join(" · ");
}

function metricsOf(job) {
  const lines = [];
  const last = job.history[job.history.length - 1];
  if (last) {
    const loss = typeof last.loss === "number" ? last.loss.toFixed(3) : "–";
    lines.push(el("div", {}, `loss ${loss} · acc ${percent(last.accuracy)}`));
    if (typeof last.val_accuracy === "number") {
      lines.push(el("div", {}, `validation acc ${percent(last.val_accuracy)}`));
    }
  }
  if (typeof job.test_accuracy === "number") {
    const text = `test accuracy ${percent(job.test_accuracy)}`;
    lines.push(el("div", { class: "test-accuracy" }, text));
  }
  if (job.promotion) lines.push(promotionOf(job.promotion));
  if (job.warning) lines.push(warningOf(job.warning));
  if (job.error) {
    lines.push(el("div", { class: "error-text" }, `${job.error.type}: ${job.error.message}`));
  }
  return lines;
}

/** Whether the job's model took its name's production alias, and why. */
function promotionOf(promotion) {
  const version = `v${promotion.candidate.version}`;
  const outcome = promotion.promoted ? "promoted to production" : "not promoted";
  return el(
    "div",
    { class: `promotion ${promotion.promoted ? "promoted" : "not-promoted"}` },
    el("strong", {}, `${version} ${outcome}`),
    el("span", { class: "hint promotion-reason" }, ` ${promotion.reason}`),
  );
}

function warningOf(text) {
  return el("div", { class: "warning" }, "⚠ ", text);
}

/** Follows a job's event stream until its `end` event. */
async function followJob(jobId) {
  const entry = jobs.get(jobId);
  entry.following = true;
  let ended = false;
  try {
    const response = await api(`/jobs/${enc(jobId)}/events`, {
      headers: { Accept: "text/event-stream" },
    });
    await readEventStream(response.body, (event) => {
      ended = onJobEvent(jobId, event.type, JSON.parse(event.data));
      return !ended;
    });
  } catch (error) {
    // 429: the server's bound on open streams is reached; the periodic refresh keeps the row
    // current, and follows the job again once a place is free.
    if (!(error instanceof ApiError && error.status === 429)) showError("jobs-error", error);
    if (error instanceof ApiError) ended = true; // an answer, not a lost connection: no retry
  } finally {
    entry.following = false;
  }
  // The stream closed without `end` (a restarted server, a lost connection): look again soon.
  if (!ended) setTimeout(() => refreshJob(jobId), 3000);
}

/** Applies one event to the job's row; true once the job has ended. */
function onJobEvent(jobId, type, payload) {
  const job = jobs.get(jobId).job;
  if (type === "state") renderJob(payload);
  else if (type === "status") renderJob({ ...job, status: payload.status });
  else if (type === "progress") {
    renderJob({ ...job, status: payload.status, progress: payload.progress });
  } else if (type === "epoch") {
    const history = job.history.filter((epoch) => epoch.epoch !== payload.epoch);
    renderJob({ ...job, history: [...history, payload] });
  } else if (type === "end") {
    renderJob(payload);
    if (payload.status === "succeeded") loadModelsAndNames();
    return true;
  }
  return false;
}

async function refreshJob(jobId) {
  try {
    renderJob(await apiJson(`/jobs/${enc(jobId)}`));
  } catch (error) {
    showError("jobs-error", error);
  }
}

async function loadJobs() {
  try {
    const page = await apiJson("/jobs?limit=50");
    page.data.forEach(renderJob);
    placeJobRows();
    showError("jobs-error", null);
  } catch (error) {
    showError("jobs-error", error);
  }
}

async function cancelJob(jobId) {
  try {
    renderJob(await apiJson(`/jobs/${enc(jobId)}/cancel`, { method: "POST" }));
  } catch (error) {
    showError("jobs-error", error);
  }
}

// ---- Starting a job -------------------------------------------------------------------------

const architectures = new Map(); // name -> {name, description, epochs, batch_size}
const datasetNames = new Map(); // id -> name, shown in place of ids

async function loadArchitectures() {
  const select = $("train-model");
  const chosen = select.value;
  const page = await apiJson("/architectures");
  architectures.clear();
  page.data.forEach((architecture) => architectures.set(architecture.name, architecture));
  select.replaceChildren(...page.data.map((a) => el("option", { value: a.name }, a.name)));
  if (architectures.has(chosen)) select.value = chosen;
  describeArchitecture();
}

function describeArchitecture() {
  const architecture = architectures.get($("train-model").value);
  $("model-description").textContent = architecture ? architecture.description : "";
  $("train-epochs").placeholder = architecture ? `default ${architecture.epochs}` : "";
  $("train-batch-size").placeholder = architecture ? `default ${architecture.batch_size}` : "";
}

let preparingRefresh = null; // the timer that asks again while a dataset is being prepared

async function loadDatasets() {
  const select = $("train-dataset");
  const chosen = select.value;
  const page = await apiJson("/datasets?limit=200");
  page.data.forEach((dataset) => datasetNames.set(dataset.id, dataset.name));
  const options = page.data.map((dataset) =>
    el(
      "option",
      { value: dataset.id, disabled: dataset.status !== "ready" },
      `${dataset.name} — ${datasetSummary(dataset)}`,
    ),
  );
  $("dataset-states").replaceChildren(
    ...page.data.filter((dataset) => dataset.status !== "ready").map(datasetState),
  );
  clearTimeout(preparingRefresh);
  if (page.data.some((dataset) => dataset.status === "processing")) {
    const refresh = () => loadDatasets().catch((error) => showError("train-error", error));
    preparingRefresh = setTimeout(refresh, PREPARING_REFRESH_MS);
  }
  if (!page.data.some((dataset) => dataset.id === "cifar10")) {
    const builtin = "cifar10 — built in, fetched on first use";
    options.unshift(el("option", { value: "cifar10" }, builtin));
  }
  select.replaceChildren(...options);
  select.value = options.some((option) => option.value === chosen) ? chosen : "cifar10";
}

function datasetSummary(dataset) {
  if (dataset.status === "processing") return `being prepared, ${preparedImages(dataset.progress)}`;
  if (dataset.status === "failed") return "failed";
  return `${dataset.class_names.length} classes, ${dataset.train_count} images`;
}

function preparedImages(progress) {
  if (!progress || progress.total === null) return "reading its archive";
  return `${progress.done}/${progress.total} images`;
}

/** A dataset jobs cannot train on yet, or ever: how far its preparation is, or why it failed. */
function datasetState(dataset) {
  if (dataset.status === "processing") {
    const progress = dataset.progress || {};
    return el(
      "li",
      {},
      `${dataset.name}: being prepared, ${preparedImages(progress)} `,
      el("progress", { max: progress.total || 1, value: progress.total ? progress.done : 0 }),
    );
  }
  const remove = el("button", { type: "button", class: "secondary delete-dataset" }, "Delete");
  remove.onclick = () => deleteDataset(dataset, remove);
  return el(
    "li",
    { class: "error-text" },
    `${dataset.name}: failed. ${dataset.error || ""} `,
    remove,
    el("ul", {}, ...dataset.problems.map((problem) => el("li", {}, problem))),
  );
}

/** A failed upload is of no use: its archive and record go, once the user confirms. */
async function deleteDataset(dataset, button) {
  if (!confirm(`Delete the dataset ${dataset.name} and its archive?`)) return;
  button.disabled = true;
  try {
    await api(`/datasets/${enc(dataset.id)}`, { method: "DELETE" });
    await loadDatasets();
    showError("train-error", null);
  } catch (error) {
    showError("train-error", error);
    button.disabled = false;
  }
}

async function loadTrainingChoices() {
  try {
    await Promise.all([loadArchitectures(), loadDatasets()]);
    showError("train-error", null);
  } catch (error) {
    showError("train-error", error);
  }
}

async function startJob(event) {
  event.preventDefault();
  // Unset numbers are left out: the architecture's recipe decides them.
  const body = { dataset: $("train-dataset").value, model: $("train-model").value };
  if ($("train-epochs").value) body.epochs = Number($("train-epochs").value);
  if ($("train-batch-size").value) body.batch_size = Number($("train-batch-size").value);
  const name = $("train-name").value.trim();
  if (name) body.name = name;
  const button = event.target.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    renderJob(await apiJson("/train", { method: "POST", json: body }));
    placeJobRows();
    showError("train-error", null);
  } catch (error) {
    showError("train-error", error);
  } finally {
    button.disabled = false;
  }
}

// ---- Models ---------------------------------------------------------------------------------

let figureUrls = [];

async function loadModels() {
  try {
    const page = await apiJson("/models?limit=50");
    figureUrls.forEach((url) => URL.revokeObjectURL(url));
    figureUrls = [];
    $("models").replaceChildren(...page.data.map(modelCard));
    $("models-empty").hidden = page.data.length > 0;
    fillPredictModels(page.data);
    showError("models-error", null);
  } catch (error) {
    showError("models-error", error);
  }
}

/** `name vN (aliases)`: a version as the model cards and the choice of model show it. */
function versionLabel(model) {
  const aliases = model.aliases.length ? ` (${model.aliases.join(", ")})` : "";
  return `${model.name} v${model.version}${aliases}`;
}

function accuracyClass(model) {
  return model.warning ? "accuracy at-chance" : "accuracy";
}

function datasetOf(id) {
  const name = datasetNames.get(id);
  return name && name !== id ? `${name} (${id})` : id;
}

function modelCard(model) {
  const metrics = model.metrics || {};
  const classes = model.class_names;
  const shown = classes.slice(0, 10).join(", ") + (classes.length > 10 ? ", …" : "");
  const facts = [
    ["Version", versionLabel(model)],
    ["Dataset", datasetOf(model.dataset_id)],
    ["Classes", `${classes.length}: ${shown}`],
    ["Created", when(model.created_at)],
    ["Model", model.id],
    ["Job", model.job_id],
  ];
  return el(
    "article",
    { class: "model" },
    el(
      "h3",
      {},
      model.architecture,
      " ",
      el("span", { class: accuracyClass(model) }, percent(metrics.test_accuracy)),
      el("span", { class: "hint" }, " test accuracy"),
    ),
    model.warning ? warningOf(model.warning) : null,
    el("dl", {}, ...facts.flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value)])),
    el(
      "div",
      { class: "downloads" },
      downloadButton("Download .keras", `/models/${enc(model.id)}/download`, `${model.id}.keras`),
      downloadButton(
        "SavedModel for TF Serving",
        `/models/${enc(model.id)}/export?format=saved_model`,
        `${model.id}-saved_model.tar.gz`,
      ),
    ),
    el(
      "div",
      { class: "figures" },
      figure(`/jobs/${enc(model.job_id)}/curves.png`, "Training curves"),
      figure(`/models/${enc(model.id)}/confusion.png`, "Confusion matrix"),
    ),
  );
}

/** A button that fetches a file with the key (a plain link could not send it) and hands it to
 * the browser as a download. The first export of a model takes seconds: the button says so. */
function downloadButton(label, path, fileName) {
  const button = el("button", { type: "button", class: "secondary" }, label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.textContent = "Preparing…";
    try {
      const blob = await (await api(path)).blob();
      const url = URL.createObjectURL(blob);
      el("a", { href: url, download: fileName }).click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      showError("models-error", null);
    } catch (error) {
      showError("models-error", error);
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  });
  return button;
}

/** An image from the API: fetched with the key (an <img src> could not send it), and a short
 * note instead when it cannot be had. */
function figure(path, caption) {
  const image = el("img", { alt: caption });
  const link = el("a", { target: "_blank", rel: "noopener" }, image);
  const missing = el("p", { class: "hint missing", hidden: true }, `${caption}: not available`);
  const fail = () => {
    link.hidden = true;
    missing.hidden = false;
  };
  image.addEventListener("error", fail);
  api(path)
    .then((response) => response.blob())
    .then((blob) => {
      const url = URL.createObjectURL(blob);
      figureUrls.push(url);
      image.src = url;
      link.href = url;
    })
    .catch(fail);
  return el("figure", {}, link, missing, el("figcaption", {}, caption));
}

// ---- Named models: versions, aliases, promotion and rollback --------------------------------

const PRODUCTION = "production";
const openHistories = new Set(); // names whose alias history is open, kept open on a refresh

/** Both views of the models: after a job, or a move of an alias, both change. */
function loadModelsAndNames() {
  return Promise.all([loadModels(), loadModelNames()]);
}

async function loadModelNames() {
  try {
    const page = await apiJson("/model-names?limit=50");
    const names = await Promise.all(
      page.data.map((summary) => apiJson(`/model-names/${enc(summary.name)}`)),
    );
    $("model-names").replaceChildren(...names.map(nameCard));
    $("model-names-empty").hidden = names.length > 0;
    showError("model-names-error", null);
  } catch (error) {
    showError("model-names-error", error);
  }
}

/** A name: its versions newest first, with their aliases, warnings and a Promote button; a
 * Roll back button; and the history of its aliases' moves. */
function nameCard(named) {
  const errorBox = el("p", { class: "error", role: "alert", hidden: true });
  const count = `${named.versions} version${named.versions === 1 ? "" : "s"}`;
  const title = "Its production version answers predictions that name no model.";
  const rollback = el(
    "button",
    {
      type: "button",
      class: "secondary rollback",
      title: `Move ${PRODUCTION} back to where it pointed before its last move`,
      onclick: () => rollBack(named.name, rollback, errorBox),
    },
    "Roll back",
  );
  return el(
    "article",
    { class: "model-name", "data-name": named.name },
    el(
      "h3",
      {},
      el("span", { class: "name" }, named.name),
      named.default ? el("span", { class: "badge default", title }, "default") : null,
      el("span", { class: "hint" }, ` ${count}`),
    ),
    el(
      "div",
      { class: "scroll" },
      el(
        "table",
        { class: "versions" },
        headRow("Version", "Test accuracy", "Created", "Aliases", ""),
        el("tbody", {}, ...named.data.map((model) => versionRow(named.name, model, errorBox))),
      ),
    ),
    el("div", { class: "name-actions" }, rollback),
    errorBox,
    aliasHistory(named.name, errorBox),
  );
}

function headRow(...headings) {
  return el("thead", {}, el("tr", {}, ...headings.map((heading) => el("th", {}, heading))));
}

function versionRow(name, model, errorBox) {
  const promote = el(
    "button",
    {
      type: "button",
      class: "secondary promote",
      title: `Move ${PRODUCTION} to this version`,
      onclick: () => promoteVersion(name, model.version, promote, errorBox),
    },
    "Promote",
  );
  return el(
    "tr",
    { class: "version", "data-version": model.version },
    el(
      "td",
      {},
      el("strong", {}, `v${model.version}`),
      el("div", { class: "hint mono", title: model.id }, model.id.slice(0, 8)),
    ),
    el(
      "td",
      {},
      el("span", { class: accuracyClass(model) }, percent(model.metrics.test_accuracy)),
      model.warning ? warningOf(model.warning) : null,
    ),
    el("td", { class: "created" }, when(model.created_at)),
    el("td", { class: "aliases" }, ...model.aliases.map(aliasBadge)),
    el("td", {}, model.aliases.includes(PRODUCTION) ? null : promote),
  );
}

function aliasBadge(alias) {
  const kind = alias === PRODUCTION ? "badge alias production" : "badge alias";
  return el("span", { class: kind }, alias);
}

async function promoteVersion(name, version, button, errorBox) {
  const reason = prompt(
    `Move ${PRODUCTION} of ${name} to version ${version}? Why (kept in its alias history):`,
    "promoted from the dashboard",
  );
  if (reason === null) return; // cancelled
  const path = `/model-names/${enc(name)}/aliases/${PRODUCTION}`;
  const json = { version, reason: reason.trim() || undefined }; // none: the API's own reason
  await moveAlias(() => apiJson(path, { method: "PUT", json }), button, errorBox);
}

async function rollBack(name, button, errorBox) {
  const question = `Move ${PRODUCTION} of ${name} back to where it pointed before its last move?`;
  if (!confirm(question)) return;
  const path = `/model-names/${enc(name)}/rollback`;
  const json = { alias: PRODUCTION };
  await moveAlias(() => apiJson(path, { method: "POST", json }), button, errorBox);
}

/** Makes a move, then shows where every alias is now; a refusal is shown under the name. */
async function moveAlias(request, button, errorBox) {
  button.disabled = true;
  try {
    await request();
    await loadModelsAndNames(); // the cards, and the models to predict with, show the move
  } catch (error) {
    showError(errorBox, error);
  } finally {
    button.disabled = false;
  }
}

/** The moves of a name's aliases, newest first, fetched when opened. */
function aliasHistory(name, errorBox) {
  const moves = el("tbody");
  const details = el(
    "details",
    { class: "alias-history" },
    el("summary", {}, "Alias history"),
    el("table", { class: "alias-moves" }, headRow("When", "Alias", "Move", "Reason"), moves),
  );
  details.addEventListener("toggle", () => {
    if (details.open) {
      openHistories.add(name);
      loadAliasMoves(name, moves, errorBox);
    } else {
      openHistories.delete(name);
    }
  });
  details.open = openHistories.has(name); // after the listener: opening it loads the moves
  return details;
}

async function loadAliasMoves(name, moves, errorBox) {
  try {
    const page = await apiJson(`/model-names/${enc(name)}/alias-moves?limit=50`);
    const rows = page.data.map(aliasMoveRow);
    const note = (text) => el("tr", {}, el("td", { class: "hint", colSpan: 4 }, text));
    if (!rows.length) rows.push(note("No moves yet."));
    if (page.count > page.data.length) {
      rows.push(note(`… and ${page.count - page.data.length} older moves`));
    }
    moves.replaceChildren(...rows);
  } catch (error) {
    showError(errorBox, error);
  }
}

function aliasMoveRow(move) {
  const version = (number) => (number === null ? "none" : `v${number}`);
  const byJob = move.job_id && `job ${move.job_id.slice(0, 8)}`; // moved by a job's promotion
  return el(
    "tr",
    { class: "alias-move" },
    el("td", { class: "hint" }, when(move.moved_at)),
    el("td", {}, aliasBadge(move.alias)),
    el("td", { class: "move" }, version(move.old_version), " → ", version(move.new_version)),
    el(
      "td",
      {},
      el("span", { class: "reason" }, move.reason),
      byJob ? el("div", { class: "hint mono" }, byJob) : null,
    ),
  );
}

// ---- Predictions ----------------------------------------------------------------------------

let thumbnailUrls = [];

function fillPredictModels(models) {
  const select = $("predict-model");
  const chosen = select.value;
  select.replaceChildren(
    el("option", { value: "" }, "Production model (default name)"),
    ...models.map((model) => {
      const accuracy = percent(model.metrics.test_accuracy);
      const dataset = datasetNames.get(model.dataset_id) || model.dataset_id;
      const version = versionLabel(model);
      const text = `${version} · ${model.architecture} · ${dataset} · ${accuracy} · ${model.id.slice(0, 8)}`;
      return el("option", { value: model.id }, text);
    }),
  );
  if (models.some((model) => model.id === chosen)) select.value = chosen;
}

async function predict(fileList) {
  const files = [...fileList];
  if (!files.length) return;
  const form = new FormData();
  files.forEach((file) => form.append("file", file, file.name));
  const query = new URLSearchParams({ top_k: TOP_K });
  if ($("predict-model").value) query.set("model", $("predict-model").value);
  const zone = $("drop-zone");
  zone.classList.add("busy");
  try {
    const answer = await apiJson(`/predict?${query}`, { method: "POST", body: form });
    showPredictions(files, answer);
    showError("predict-error", null);
  } catch (error) {
    showError("predict-error", error);
  } finally {
    zone.classList.remove("busy");
  }
}

function showPredictions(files, answer) {
  thumbnailUrls.forEach((url) => URL.revokeObjectURL(url));
  thumbnailUrls = files.map((file) => URL.createObjectURL(file));
  const cards = answer.results.map((result, i) =>
    el(
      "article",
      { class: "prediction" },
      el("img", { src: thumbnailUrls[i], alt: result.filename || "image" }),
      el(
        "div",
        {},
        el("div", { class: "hint" }, result.filename || `image ${i + 1}`),
        el(
          "ol",
          {},
          ...result.predictions.map((p) =>
            el(
              "li",
              {},
              el("span", { class: "label" }, p.label),
              el("span", { class: "probability" }, percent(p.probability)),
              el("span", { class: "meter", style: `width: ${(p.probability * 100).toFixed(1)}%` }),
            ),
          ),
        ),
      ),
    ),
  );
  const note = el("p", { class: "hint" }, `model ${answer.model_id}`);
  $("predictions").replaceChildren(...cards, note);
}

function setUpDropZone() {
  const zone = $("drop-zone");
  const input = $("predict-files");
  input.addEventListener("change", () => {
    predict(input.files);
    input.value = ""; // the same file again is a new choice
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    predict(event.dataTransfer.files);
  });
}

// ---- Start ----------------------------------------------------------------------------------

async function loadAll() {
  await loadTrainingChoices(); // first: the jobs and models show the datasets' names
  await Promise.all([loadJobs(), loadModelsAndNames()]);
}

setUpKeyPanel();
setUpDropZone();
setUpLogPanel();
$("train-form").addEventListener("submit", startJob);
$("train-model").addEventListener("change", describeArchitecture);
loadAll();
// Jobs started elsewhere show up (and are followed) within a refresh.
setInterval(() => document.hidden || loadJobs(), REFRESH_MS);
