// The gallery of the outputs folder (settings read from each PNG's own parameters) and the side-by-side
// comparison with linked zoom.
import { getJson, showMessage } from './api.js';
import { el, setSettings } from './form.js';
import { Viewer } from './viewer.js';

let entries = [];
let viewers;

export async function renderGallery() {
  const box = document.getElementById('gallery');
  try {
    entries = await getJson('/api/gallery');
  } catch (e) {
    showMessage(e.message);
    return;
  }
  if (entries.length === 0) {
    box.replaceChildren(el('p', { class: 'hint', text: 'No images in the outputs folder yet.' }));
    return;
  }
  box.replaceChildren(...entries.map((g) => {
    const s = g.settings ?? {};
    const use = el('button', { type: 'button', text: 'Use these settings' });
    use.disabled = !g.settings;
    use.addEventListener('click', () => {
      setSettings(g.settings);
      document.querySelector('nav .tab[data-tab="run"]').click();
      showMessage(`settings of ${g.file} are in the form`, 'info');
    });
    const cmp = el('button', { type: 'button', text: 'Compare' });
    cmp.addEventListener('click', () => showCompare(g.file, null));
    return el('figure', { class: 'gallery-item', 'data-file': g.file },
      el('a', { href: `/outputs/${encodeURIComponent(g.file)}`, target: '_blank' }, el('img', { src: `/outputs/${encodeURIComponent(g.file)}`, alt: g.file, loading: 'lazy' })),
      el('figcaption', {},
        el('div', { class: 'g-prompt', text: s.prompt ?? '(no parameters)' }),
        el('div', { class: 'g-meta', text: `${g.width}×${g.height}${s.method ? ` · ${s.method}` : ''}${s.seed !== undefined ? ` · seed ${s.seed}` : ''}${s.steps ? ` · ${s.steps} steps` : ''}` }),
        el('div', { class: 'g-actions' }, use, cmp)));
  }));
}

/** Fills the two compare pickers from the gallery. */
export async function fillCompare() {
  try {
    entries = await getJson('/api/gallery');
  } catch {
    return;
  }
  for (const id of ['compare-a', 'compare-b']) {
    const sel = document.getElementById(id);
    const keep = sel.value;
    sel.replaceChildren(...entries.map((g) => el('option', { value: g.file, text: `${g.file} · ${g.settings?.method ?? ''} · seed ${g.settings?.seed ?? '?'}` })));
    if (keep && entries.some((g) => g.file === keep)) sel.value = keep;
    sel.onchange = () => show();
  }
  if (!document.getElementById('compare-b').value && entries[1]) document.getElementById('compare-b').value = entries[1].file;
  show();
}

function show() {
  viewers ??= [new Viewer(document.getElementById('viewer-a'), 'compare'), new Viewer(document.getElementById('viewer-b'), 'compare')];
  const a = document.getElementById('compare-a').value;
  const b = document.getElementById('compare-b').value;
  if (a && viewers[0].img.dataset.file !== a) {
    viewers[0].img.dataset.file = a;
    viewers[0].show(`/outputs/${encodeURIComponent(a)}`);
  }
  if (b && viewers[1].img.dataset.file !== b) {
    viewers[1].img.dataset.file = b;
    viewers[1].show(`/outputs/${encodeURIComponent(b)}`);
  }
}

/** Opens the compare tab with `a` on the left (and `b`, or the next gallery image, on the right). */
export async function showCompare(a, b) {
  document.querySelector('nav .tab[data-tab="compare"]').click();
  await fillCompare();
  document.getElementById('compare-a').value = a;
  const other = b ?? entries.find((g) => g.file !== a)?.file;
  if (other) document.getElementById('compare-b').value = other;
  show();
}
