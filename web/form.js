// The settings form, built from the server's field list (the CLI's flags, help texts and the library's
// defaults: src/server/form-fields.ts), so the page and the CLI cannot drift apart.
import { inputSize, uploadControls } from './upload.js';

let fields = [];
let models = [];
let pendingWindowPrompts = null;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c) e.append(c);
  return e;
}
export { el };

function input(f) {
  const id = `f-${f.key}`;
  if (f.kind === 'choice') {
    const s = el('select', { id, name: f.key });
    for (const c of f.choices) s.append(el('option', { value: c.value, text: c.label }));
    s.value = f.default ?? '';
    return s;
  }
  if (f.kind === 'bool') return el('input', { id, name: f.key, type: 'checkbox', checked: f.default === true });
  if (f.kind === 'text') {
    const t = el(f.multiline ? 'textarea' : 'input', { id, name: f.key, rows: f.key === 'prompt' ? 3 : 2 });
    t.value = f.default ?? '';
    return t;
  }
  const n = el('input', { id, name: f.key, type: 'number', min: f.min, max: f.max, step: f.kind === 'int' ? (f.step ?? 1) : (f.step ?? 'any') });
  if (f.default !== null && f.default !== undefined) n.value = String(f.default);
  else n.placeholder = "the model's default";
  return n;
}

function row(f, control, extra) {
  const help = el('small', { class: 'help', text: f.help + (f.flag ? `  (${f.flag})` : '') });
  const label = el('label', { for: control.id, text: f.label });
  const wrap = el('div', { class: `field field-${f.key} kind-${f.kind}`, 'data-key': f.key, hidden: f.upscaleOnly === true }, f.kind === 'bool' ? el('div', { class: 'check' }, control, label) : label);
  if (f.kind !== 'bool') wrap.append(control);
  if (extra) wrap.append(extra);
  wrap.append(help);
  return wrap;
}

/** Builds the form. */
export function buildForm(config) {
  fields = config.fields;
  models = config.models;
  const main = document.getElementById('fields-main');
  const adv = document.getElementById('fields-advanced');
  main.replaceChildren();
  adv.replaceChildren();

  const modelSel = el('select', { id: 'f-model', name: 'model' });
  for (const m of models) modelSel.append(el('option', { value: m.id, text: `${m.id} (${m.sdxl ? 'SDXL' : 'SD'}, ${m.nativeSize} px)` }));
  main.append(row({ key: 'model', label: 'Model', kind: 'choice', help: 'from the --models folders, the bundled model and the Hugging Face cache', flag: '--model' }, modelSel));
  if (models.length === 0) main.append(el('p', { class: 'error', text: 'No models found: start the server with --models <folder>.' }));
  const up = uploadControls(el, onImage);
  main.append(row({ key: 'image', label: 'Image to upscale', kind: 'file', flag: 'upscale --image',
    help: 'optional: a PNG, JPEG or WebP of yours (alpha onto white); the run then upscales it to scale × its size, starting from it instead of noise' }, up.control, up.extra));

  for (const f of fields) {
    if (f.key === 'width' || f.key === 'height') continue;
    const target = f.group === 'main' ? main : adv;
    if (f.key === 'scale') {
      target.append(sizeRow(f, config.scalePresets));
      continue;
    }
    const control = input(f);
    let extra;
    if (f.key === 'method') {
      extra = el('div', { class: 'method-help', id: 'method-help' });
      control.addEventListener('change', () => updateMethod(config));
    }
    if (f.key === 'seed') {
      extra = el('div', { class: 'check' }, el('input', { type: 'checkbox', id: 'f-random-seed' }), el('label', { for: 'f-random-seed', text: 'random' }));
    }
    target.append(row(f, control, extra));
  }
  modelSel.addEventListener('change', updateSizeNote);
  updateMethod(config);
  updateSizeNote();
}

function sizeRow(scaleField, presets) {
  const byKey = Object.fromEntries(fields.map((f) => [f.key, f]));
  const sel = el('select', { id: 'f-scale', name: 'scale' });
  for (const p of presets) sel.append(el('option', { value: String(p), text: `${p}× native` }));
  sel.append(el('option', { value: 'custom', text: 'width × height' }));
  sel.value = String(scaleField.default);
  const w = input(byKey.width);
  const h = input(byKey.height);
  const custom = el('div', { class: 'custom-size', id: 'custom-size', hidden: true }, w, el('span', { text: '×' }), h);
  const note = el('span', { class: 'size-note', id: 'size-note' });
  sel.addEventListener('change', () => {
    custom.hidden = sel.value !== 'custom';
    updateSizeNote();
  });
  w.addEventListener('input', updateSizeNote);
  h.addEventListener('input', updateSizeNote);
  const f = { ...scaleField, label: 'Target size', help: `${scaleField.help}; or ${byKey.width.help} / ${byKey.height.help}`, flag: '--scale | --width --height' };
  return row(f, sel, el('div', {}, custom, note));
}

/** An image was chosen or cleared: the upscale-only fields, the size note and the button follow. */
function onImage() {
  const on = inputSize() !== null;
  for (const f of fields) if (f.upscaleOnly) document.querySelector(`.field-${f.key}`).hidden = !on;
  document.getElementById('generate').textContent = on ? 'Upscale' : 'Generate';
  for (const o of document.getElementById('f-scale').options) if (o.value !== 'custom') o.textContent = `${o.value}× ${on ? 'the image' : 'native'}`;
  updateSizeNote();
}

function currentModel() {
  return models.find((m) => m.id === document.getElementById('f-model').value);
}

function updateSizeNote() {
  const m = currentModel();
  const note = document.getElementById('size-note');
  if (!note || !m) return;
  const sel = document.getElementById('f-scale');
  if (sel.value === 'custom') {
    const w = Number(document.getElementById('f-width').value), h = Number(document.getElementById('f-height').value);
    note.textContent = w && h ? `${w}×${h} px (native ${m.nativeSize} px)` : '';
  } else if (inputSize()) {
    const { width, height } = inputSize();
    note.textContent = width ? `${Math.round(width * Number(sel.value))}×${Math.round(height * Number(sel.value))} px` : '';
  } else {
    const px = Math.round(m.nativeSize * Number(sel.value));
    note.textContent = `${px}×${px} px`;
  }
}

function updateMethod(config) {
  const method = document.getElementById('f-method').value;
  document.getElementById('method-help').textContent = config.methodHelp[method] ?? '';
  for (const f of fields) {
    if (!f.methods) continue;
    const wrap = document.querySelector(`.field-${f.key}`);
    if (wrap) wrap.classList.toggle('inactive', !f.methods.includes(method));
  }
}

/** The form's values as the settings object the server checks (src/server/settings.ts). */
export function getSettings() {
  const s = { model: document.getElementById('f-model').value };
  const scaleSel = document.getElementById('f-scale');
  s.sizeMode = scaleSel.value === 'custom' ? 'pixels' : 'scale';
  if (s.sizeMode === 'scale') s.scale = Number(scaleSel.value);
  for (const f of fields) {
    if (f.key === 'scale') continue;
    if ((f.key === 'width' || f.key === 'height') && s.sizeMode !== 'pixels') continue;
    const c = document.getElementById(`f-${f.key}`);
    if (!c) continue;
    if (f.kind === 'bool') s[f.key] = c.checked;
    else if (f.kind === 'int' || f.kind === 'number') {
      if (c.value.trim() !== '') s[f.key] = Number(c.value);
    } else s[f.key] = c.value;
  }
  if (document.getElementById('f-random-seed').checked) {
    s.seed = Math.floor(Math.random() * 2 ** 32);
    document.getElementById('f-seed').value = String(s.seed);
  }
  if (pendingWindowPrompts) s.windowPrompts = pendingWindowPrompts;
  return s;
}

/** Fills the form from settings (a job's, or read from a PNG); unknown keys are ignored. */
export function setSettings(s) {
  if (s.model && models.some((m) => m.id === s.model)) document.getElementById('f-model').value = s.model;
  const scaleSel = document.getElementById('f-scale');
  if (s.sizeMode === 'pixels' && s.width && s.height) {
    scaleSel.value = 'custom';
    document.getElementById('f-width').value = String(s.width);
    document.getElementById('f-height').value = String(s.height);
  } else if (s.scale !== undefined) {
    if (![...scaleSel.options].some((o) => o.value === String(s.scale))) scaleSel.append(el('option', { value: String(s.scale), text: `${s.scale}× native` }));
    scaleSel.value = String(s.scale);
  }
  document.getElementById('custom-size').hidden = scaleSel.value !== 'custom';
  for (const f of fields) {
    if (f.key === 'scale' || f.key === 'width' || f.key === 'height' || !(f.key in s)) continue;
    const c = document.getElementById(`f-${f.key}`);
    if (!c) continue;
    const v = s[f.key];
    if (f.kind === 'bool') c.checked = v === true;
    else c.value = v === null || v === undefined ? '' : String(v);
  }
  document.getElementById('f-random-seed').checked = false;
  setWindowPrompts(s.windowPrompts ?? null);
  document.getElementById('f-method').dispatchEvent(new Event('change'));
  updateSizeNote();
}

/** Window prompts that the next job takes (from a loaded PNG), or null. */
export function setWindowPrompts(wp) {
  pendingWindowPrompts = wp && Object.keys(wp).length ? wp : null;
  document.getElementById('window-prompts-note').hidden = !pendingWindowPrompts;
}
