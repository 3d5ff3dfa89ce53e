// The page's calls to its server: JSON in and out, the per-server token on every POST, errors as messages.
const token = document.querySelector('meta[name="accdiffusion-token"]').content;

/** Shows a message on the page (errors a user can cause never leave a dead page). */
export function showMessage(text, kind = 'error') {
  const box = document.getElementById('message');
  box.querySelector('span').textContent = text;
  box.className = kind;
  box.hidden = false;
}

export function hideMessage() {
  document.getElementById('message').hidden = true;
}

async function answer(res) {
  let body;
  try {
    body = await res.json();
  } catch {
    body = { error: `${res.status} ${res.statusText}` };
  }
  if (!res.ok) throw new Error(body.error ?? `${res.status} ${res.statusText}`);
  return body;
}

export async function getJson(path) {
  return answer(await fetch(path, { cache: 'no-store' }));
}

export async function postJson(path, value) {
  return answer(await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-AccDiffusion-Token': token },
    body: JSON.stringify(value),
  }));
}

/** The "parameters" text chunk of a PNG file's bytes (tEXt or uncompressed iTXt), or undefined. */
export function pngParameters(buffer) {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 8 || sig.some((b, i) => bytes[i] !== b)) throw new Error('not a PNG file');
  let pos = 8;
  while (pos + 12 <= bytes.length) {
    const len = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const data = bytes.subarray(pos + 8, pos + 8 + len);
    if (type === 'IDAT' || type === 'IEND') break;
    const nul = data.indexOf(0);
    const keyword = nul > 0 ? String.fromCharCode(...data.subarray(0, nul)) : '';
    if (keyword === 'parameters' && type === 'tEXt') return new TextDecoder('latin1').decode(data.subarray(nul + 1));
    if (keyword === 'parameters' && type === 'iTXt' && data[nul + 1] === 0) {
      const lang = data.indexOf(0, nul + 3);
      const trans = data.indexOf(0, lang + 1);
      return new TextDecoder('utf-8').decode(data.subarray(trans + 1));
    }
    pos += 12 + len;
  }
  return undefined;
}

export function formatSeconds(s) {
  if (s == null || !Number.isFinite(s)) return '–';
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
