// The page: settings form, queue, live progress of the selected job, its AccDiffusion review and result,
// the gallery of the outputs folder and a linked side-by-side comparison. Job changes arrive as server-sent
// events (/api/events); every action is a POST with the page's token (api.js).
import { uploadedImage } from './upload.js';
import { formatSeconds, getJson, hideMessage, pngParameters, postJson, showMessage } from './api.js';
import { buildForm, el, getSettings, setSettings, setWindowPrompts } from './form.js';
import { continueJob, renderSteer } from './steer.js';
import { Viewer } from './viewer.js';
import { renderGallery, fillCompare, showCompare } from './gallery.js';

const jobs = new Map();
let selected = null;
let resultViewer;
const STATE_TEXT = { queued: 'queued', loading: 'loading the model', running: 'running', review: 'waiting for your window prompts', writing: 'writing files', done: 'done', failed: 'failed', cancelled: 'cancelled' };

function progressText(job) {
  const p = job.progress;
  if (job.state !== 'running' && job.state !== 'review') return STATE_TEXT[job.state];
  if (job.state === 'review') return `native pass done (${formatSeconds(p.elapsed)}) · ${STATE_TEXT.review}`;
  const parts = [`stage ${p.stage}/${p.stages || '?'}`, `step ${p.step}/${p.steps}`];
  if (p.batches > 0) parts.push(`window batch ${p.batch}/${p.batches} (${p.branch})`);
  if (p.phase === 'decode') parts.push('decoding');
  parts.push(`${formatSeconds(p.elapsed)} elapsed`);
  parts.push(p.eta == null ? 'estimating time left' : `about ${formatSeconds(p.eta)} left`);
  return parts.join(' · ');
}

function renderQueue() {
  // Chips are updated in place (progress arrives several times a second; a chip must stay clickable).
  const q = document.getElementById('queue');
  const order = [...jobs.values()].reverse();
  for (const j of order) {
    let b = q.querySelector(`[data-job="${j.id}"]`);
    if (!b) {
      b = el('button', { type: 'button', 'data-job': j.id });
      b.addEventListener('click', () => select(j.id));
    }
    b.className = `job-chip state-${j.state}${j.id === selected ? ' selected' : ''}`;
    const text = `${String(j.settings.prompt ?? '').slice(0, 28)} · ${j.state}`;
    if (b.textContent !== text) b.textContent = text;
    q.append(b);
  }
}

function select(id) {
  selected = id;
  renderQueue();
  renderJob(jobs.get(id), true);
}

function renderJob(job, full = false) {
  const box = document.getElementById('job');
  document.getElementById('idle').hidden = Boolean(job);
  if (!job) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  box.dataset.state = job.state;
  document.getElementById('progress-text').textContent = progressText(job);
  document.getElementById('progress-bar').value = job.progress.fraction;
  document.getElementById('cancel').hidden = !['queued', 'loading', 'running', 'review'].includes(job.state);
  const err = document.getElementById('error');
  err.hidden = !job.error;
  err.textContent = job.error ?? '';
  const prevFig = document.getElementById('preview-fig');
  const prev = document.getElementById('preview');
  if (job.previewSeq > 0 && job.state !== 'done') {
    if (prev.dataset.seq !== `${job.id}:${job.previewSeq}`) {
      prev.src = `/api/jobs/${job.id}/asset/preview?n=${job.previewSeq}`;
      prev.dataset.seq = `${job.id}:${job.previewSeq}`;
    }
    prevFig.hidden = false;
  } else prevFig.hidden = true;
  const stages = document.getElementById('stage-images');
  const shown = stages.dataset.job === job.id ? stages.children.length : 0;
  if (stages.dataset.job !== job.id || full) stages.replaceChildren();
  stages.dataset.job = job.id;
  for (const s of job.stageImages.slice(full ? 0 : shown)) {
    stages.append(el('figure', { class: 'stage-fig' }, el('img', { src: `/api/jobs/${job.id}/asset/stage-${s.stage}`, alt: `stage ${s.stage}`, 'data-stage': String(s.stage) }), el('figcaption', { text: `stage ${s.stage}: ${s.width}×${s.height}` })));
  }
  renderSteer(job);
  renderResult(job);
}

async function renderResult(job) {
  const box = document.getElementById('result');
  if (!job.result) {
    box.hidden = true;
    return;
  }
  const src = `/outputs/${encodeURIComponent(job.result.file)}`;
  if (box.dataset.file === job.result.file) return;
  box.dataset.file = job.result.file;
  box.hidden = false;
  resultViewer.show(src);
  document.getElementById('download').href = `${src}?download`;
  document.getElementById('result-info').textContent = `${job.result.file} · ${job.result.width}×${job.result.height} · ${formatSeconds(job.result.seconds)} · ${job.result.unetCalls} UNet calls`;
  try {
    const buf = await (await fetch(src)).arrayBuffer();
    document.getElementById('result-params').textContent = pngParameters(buf) ?? '(none)';
  } catch (e) {
    document.getElementById('result-params').textContent = `could not read: ${e.message}`;
  }
  fillCompare();
}

function onJob(job) {
  jobs.set(job.id, job);
  if (selected === null) selected = job.id;
  renderQueue();
  if (job.id === selected) renderJob(job);
}

function connect() {
  const es = new EventSource('/api/events');
  es.addEventListener('jobs', (e) => {
    for (const j of JSON.parse(e.data)) jobs.set(j.id, j);
    const last = [...jobs.values()].pop();
    if (last && selected === null) selected = last.id;
    renderQueue();
    if (selected) renderJob(jobs.get(selected), true);
  });
  es.addEventListener('job', (e) => onJob(JSON.parse(e.data)));
  es.onerror = () => document.body.classList.add('offline');
  es.onopen = () => document.body.classList.remove('offline');
}

async function submit(ev) {
  ev.preventDefault();
  hideMessage();
  try {
    const settings = getSettings();
    const image = await uploadedImage();
    const job = await postJson('/api/jobs', image ? { ...settings, image } : settings);
    setWindowPrompts(null);
    selected = job.id;
    onJob(job);
    renderJob(job, true);
  } catch (e) {
    showMessage(e.message);
  }
}

async function loadPng(file) {
  hideMessage();
  try {
    const text = pngParameters(await file.arrayBuffer());
    if (!text) throw new Error(`${file.name} has no "parameters" text`);
    setSettings(await postJson('/api/settings-from-parameters', { text }));
    showMessage(`settings loaded from ${file.name}`, 'info');
  } catch (e) {
    showMessage(e.message);
  }
}

function tabs() {
  for (const b of document.querySelectorAll('nav .tab')) {
    b.addEventListener('click', () => {
      for (const t of document.querySelectorAll('nav .tab')) t.classList.toggle('active', t === b);
      for (const p of document.querySelectorAll('.pane')) p.hidden = p.id !== `tab-${b.dataset.tab}`;
      if (b.dataset.tab === 'gallery') renderGallery();
      if (b.dataset.tab === 'compare') fillCompare();
    });
  }
}

async function start() {
  document.querySelector('#message button').addEventListener('click', hideMessage);
  tabs();
  resultViewer = new Viewer(document.getElementById('result-viewer'));
  try {
    buildForm(await getJson('/api/config'));
  } catch (e) {
    showMessage(`could not load the settings: ${e.message}`);
  }
  document.getElementById('settings').addEventListener('submit', submit);
  document.getElementById('png-file').addEventListener('change', (e) => e.target.files[0] && loadPng(e.target.files[0]));
  document.getElementById('drop-window-prompts').addEventListener('click', () => setWindowPrompts(null));
  document.getElementById('cancel').addEventListener('click', () => selected && postJson(`/api/jobs/${selected}/cancel`, {}).catch((e) => showMessage(e.message)));
  document.getElementById('continue').addEventListener('click', continueJob);
  document.getElementById('reuse').addEventListener('click', () => {
    const j = jobs.get(selected);
    if (!j) return;
    setSettings({ ...j.settings, windowPrompts: j.result?.windowPrompts ?? j.settings.windowPrompts });
    showMessage('settings of this result are in the form', 'info');
  });
  document.getElementById('compare-this').addEventListener('click', () => {
    const j = jobs.get(selected);
    if (j?.result) showCompare(j.result.file, null);
  });
  connect();
}

window.addEventListener('unhandledrejection', (e) => showMessage(String(e.reason?.message ?? e.reason)));
start();
