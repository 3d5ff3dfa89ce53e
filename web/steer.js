// AccDiffusion made visible and steerable: the native pass's per-word masks over its image (toggle each word),
// every stage's window grid with each window's words (hover to read, click to edit), and, while the job waits
// after its native pass, "Continue" sends the edited window prompts (src/server/jobs.ts continueWith).
import { el } from './form.js';
import { postJson, showMessage } from './api.js';

const SVG = 'http://www.w3.org/2000/svg';
let state = { jobId: null, review: null, stage: null, edits: {}, editable: false, used: null };

function colour(i) {
  return `hsl(${Math.round((i * 137.508) % 360)} 90% 55%)`;
}

/** Shows a job's review (masks and windows); `editable` while it waits for prompts. */
export function renderSteer(job) {
  const box = document.getElementById('steer');
  if (!job.review) {
    box.hidden = true;
    state = { jobId: null, review: null, stage: null, edits: {}, editable: false, used: null };
    return;
  }
  const fresh = state.jobId !== job.id;
  const used = job.result ? Object.fromEntries(job.result.stagePrompts.map((s) => [String(s.stage), s.prompts])) : null;
  const editable = job.awaitingPrompts;
  const changed = fresh || state.editable !== editable || JSON.stringify(state.used) !== JSON.stringify(used);
  if (!changed) return;
  state = { jobId: job.id, review: job.review, stage: fresh ? job.review.stages[0]?.stage ?? null : state.stage, edits: fresh ? {} : state.edits, editable, used };
  box.hidden = false;
  document.getElementById('native-img').src = `/api/jobs/${job.id}/asset/native`;
  if (fresh) renderMasks(job);
  const sel = document.getElementById('stage-select');
  sel.replaceChildren(...job.review.stages.map((s) => el('option', { value: String(s.stage), text: `${s.stage} (${s.windows.length} windows)` })));
  if (state.stage !== null) sel.value = String(state.stage);
  sel.onchange = () => {
    state.stage = Number(sel.value);
    renderStage();
  };
  document.getElementById('continue').hidden = !editable;
  renderStage();
}

function renderMasks(job) {
  const layers = document.getElementById('mask-layers');
  const toggles = document.getElementById('mask-toggles');
  layers.replaceChildren();
  toggles.replaceChildren(el('span', { class: 'toggles-title', text: 'Masks:' }));
  for (const m of job.review.masks) {
    const img = el('img', { src: `/api/jobs/${job.id}/asset/mask-${m.index}`, alt: `mask of ${m.token}`, 'data-token': String(m.index) });
    img.hidden = true;
    layers.append(img);
    const id = `mask-toggle-${m.index}`;
    const cb = el('input', { type: 'checkbox', id });
    cb.addEventListener('change', () => (img.hidden = !cb.checked));
    const word = m.token.replace(/<\/w>$/, '');
    toggles.append(el('span', { class: 'toggle' }, cb, el('label', { for: id, text: word, style: `border-color: ${colour(m.index)}` })));
  }
}

function promptsOf(stage) {
  const key = String(stage.stage);
  return state.edits[key] ?? state.used?.[key] ?? stage.prompts;
}

function renderStage() {
  const stage = state.review.stages.find((s) => s.stage === state.stage);
  const svg = document.getElementById('window-grid');
  const editor = document.getElementById('window-editor');
  svg.replaceChildren();
  editor.replaceChildren();
  if (!stage) return;
  svg.setAttribute('viewBox', `0 0 ${stage.latentWidth} ${stage.latentHeight}`);
  const prompts = promptsOf(stage);
  const tip = document.getElementById('window-tip');
  let hovered = -1;
  const setHover = (i) => {
    if (i === hovered) return;
    if (hovered >= 0) {
      svg.querySelector(`rect[data-window="${hovered}"]`)?.classList.remove('hover');
      document.getElementById(`wp-${stage.stage}-${hovered}`)?.classList.remove('hover');
    }
    hovered = i;
    if (i < 0) {
      tip.textContent = 'hover a window';
      return;
    }
    svg.querySelector(`rect[data-window="${i}"]`)?.classList.add('hover');
    document.getElementById(`wp-${stage.stage}-${i}`)?.classList.add('hover');
    tip.textContent = `window ${i}: ${promptsOf(stage)[i] || '(empty prompt)'}`;
  };
  // Windows overlap (stride < window): the pointer picks the window whose centre is nearest.
  const windowAt = (e) => {
    const box = svg.getBoundingClientRect();
    const x = ((e.clientX - box.left) / box.width) * stage.latentWidth;
    const y = ((e.clientY - box.top) / box.height) * stage.latentHeight;
    let best = -1, bestD = Infinity;
    stage.windows.forEach((w, i) => {
      if (x < w.left || x > w.left + w.width || y < w.top || y > w.top + w.height) return;
      const d = (x - w.left - w.width / 2) ** 2 + (y - w.top - w.height / 2) ** 2;
      if (d < bestD) [best, bestD] = [i, d];
    });
    return best;
  };
  svg.onmousemove = (e) => setHover(windowAt(e));
  svg.onmouseleave = () => setHover(-1);
  svg.onclick = (e) => {
    const i = windowAt(e);
    const t = document.getElementById(`wp-${stage.stage}-${i}`);
    t?.scrollIntoView({ block: 'nearest' });
    t?.focus();
  };
  stage.windows.forEach((w, i) => {
    const r = document.createElementNS(SVG, 'rect');
    Object.entries({ x: w.left, y: w.top, width: w.width, height: w.height, 'data-window': i }).forEach(([k, v]) => r.setAttribute(k, String(v)));
    r.style.stroke = colour(i);
    svg.append(r);
    const t = el('textarea', { id: `wp-${stage.stage}-${i}`, 'data-window': String(i), rows: 2, 'aria-label': `prompt of window ${i}` });
    t.value = prompts[i] ?? '';
    t.disabled = !state.editable;
    t.addEventListener('input', () => {
      const key = String(stage.stage);
      state.edits[key] = [...promptsOf(stage)];
      state.edits[key][i] = t.value;
    });
    t.addEventListener('focus', () => r.classList.add('hover'));
    t.addEventListener('blur', () => r.classList.remove('hover'));
    editor.append(el('div', { class: 'wp' }, el('span', { class: 'wp-n', text: String(i), style: `color: ${colour(i)}` }), t));
  });
}

/** Sends the edits (all prompts of every edited stage) and lets the job continue. */
export async function continueJob() {
  if (!state.jobId) return;
  try {
    await postJson(`/api/jobs/${state.jobId}/continue`, { windowPrompts: state.edits });
  } catch (e) {
    showMessage(e.message);
  }
}
