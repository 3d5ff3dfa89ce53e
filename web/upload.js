// The "Image to upscale" field: a PNG, JPEG or WebP from the user's disk. With one chosen the job is an
// upscale (the CLI's `upscale --image`): the target size is scale × the image's size, and the upscale-only
// fields (strength, input residual) show. The file goes to the server as base64 in the job's JSON.
let chosen = null; // { file, width, height }

/** The chosen image's size in pixels, or null. */
export function inputSize() {
  return chosen ? { width: chosen.width, height: chosen.height } : null;
}

/** { name, data: base64 } of the chosen file, or null. */
export async function uploadedImage() {
  if (!chosen) return null;
  const bytes = new Uint8Array(await chosen.file.arrayBuffer());
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return { name: chosen.file.name, data: btoa(bin) };
}

/** The file input and its "clear" button; `changed()` runs after every choice. */
export function uploadControls(el, changed) {
  const file = el('input', { id: 'f-image', name: 'image', type: 'file', accept: 'image/png,image/jpeg,image/webp' });
  const clear = el('button', { type: 'button', id: 'f-image-clear', hidden: true, text: 'No image (text to image)' });
  const note = el('span', { class: 'size-note', id: 'image-note' });
  file.addEventListener('change', async () => {
    const f = file.files && file.files[0];
    chosen = null;
    note.textContent = '';
    if (f) {
      try {
        const bmp = await createImageBitmap(f);
        chosen = { file: f, width: bmp.width, height: bmp.height };
        bmp.close();
        note.textContent = `${chosen.width}×${chosen.height} px`;
      } catch {
        // the browser cannot show it: the server still decides (and names the problem in one line)
        chosen = { file: f, width: 0, height: 0 };
        note.textContent = 'size unknown';
      }
    }
    clear.hidden = !chosen;
    changed();
  });
  clear.addEventListener('click', () => {
    file.value = '';
    file.dispatchEvent(new Event('change'));
  });
  return { control: file, extra: el('div', {}, clear, note) };
}
