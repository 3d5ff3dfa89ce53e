// Zoom and pan of large images: the <img> is moved by one CSS transform (GPU-composited, so a 4096×4096
// image stays smooth), wheel zooms about the cursor, drag pans, double-click fits. Viewers in one group share
// their view (linked zoom for side-by-side comparison), in fractions of the image so sizes may differ.
const groups = new Map();

export class Viewer {
  constructor(box, group) {
    this.box = box;
    this.img = box.querySelector('img');
    this.view = { zoom: 1, cx: 0.5, cy: 0.5 }; // zoom relative to fit; centre in image fractions
    this.group = group;
    if (group) (groups.get(group) ?? groups.set(group, []).get(group)).push(this);
    this.img.addEventListener('load', () => this.render());
    new ResizeObserver(() => this.render()).observe(box);
    box.addEventListener('wheel', (e) => this.onWheel(e), { passive: false });
    box.addEventListener('pointerdown', (e) => this.onDown(e));
    box.addEventListener('dblclick', () => this.set({ zoom: 1, cx: 0.5, cy: 0.5 }));
  }

  show(src) {
    this.img.src = src;
  }

  fitScale() {
    const w = this.img.naturalWidth, h = this.img.naturalHeight;
    if (!w || !h) return 1;
    return Math.min(this.box.clientWidth / w, this.box.clientHeight / h);
  }

  set(view, fromGroup = false) {
    this.view = { zoom: Math.min(64, Math.max(1, view.zoom)), cx: Math.min(1, Math.max(0, view.cx)), cy: Math.min(1, Math.max(0, view.cy)) };
    this.render();
    if (!fromGroup && this.group) for (const v of groups.get(this.group)) if (v !== this) v.set(this.view, true);
  }

  render() {
    const w = this.img.naturalWidth, h = this.img.naturalHeight;
    if (!w || !h) return;
    const s = this.fitScale() * this.view.zoom;
    const x = this.box.clientWidth / 2 - this.view.cx * w * s;
    const y = this.box.clientHeight / 2 - this.view.cy * h * s;
    this.img.style.transform = `translate(${x}px, ${y}px) scale(${s})`;
    // Pixels stay crisp when zoomed past 1:1.
    this.img.style.imageRendering = s > 1.5 ? 'pixelated' : 'auto';
  }

  onWheel(e) {
    e.preventDefault();
    const w = this.img.naturalWidth, h = this.img.naturalHeight;
    if (!w) return;
    const r = this.box.getBoundingClientRect();
    const s = this.fitScale() * this.view.zoom;
    // Image point under the cursor stays under it.
    const px = this.view.cx + (e.clientX - r.left - r.width / 2) / (w * s);
    const py = this.view.cy + (e.clientY - r.top - r.height / 2) / (h * s);
    const zoom = Math.min(64, Math.max(1, this.view.zoom * Math.exp(-e.deltaY * 0.0015)));
    const s2 = this.fitScale() * zoom;
    this.set({ zoom, cx: px - (e.clientX - r.left - r.width / 2) / (w * s2), cy: py - (e.clientY - r.top - r.height / 2) / (h * s2) });
  }

  onDown(e) {
    if (e.button !== 0) return;
    const start = { x: e.clientX, y: e.clientY, cx: this.view.cx, cy: this.view.cy };
    this.box.setPointerCapture(e.pointerId);
    this.box.classList.add('dragging');
    const move = (m) => {
      const s = this.fitScale() * this.view.zoom;
      this.set({ zoom: this.view.zoom, cx: start.cx - (m.clientX - start.x) / (this.img.naturalWidth * s), cy: start.cy - (m.clientY - start.y) / (this.img.naturalHeight * s) });
    };
    const up = () => {
      this.box.removeEventListener('pointermove', move);
      this.box.removeEventListener('pointerup', up);
      this.box.classList.remove('dragging');
    };
    this.box.addEventListener('pointermove', move);
    this.box.addEventListener('pointerup', up);
  }
}
