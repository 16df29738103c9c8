// The sample gallery: test images from gallery/index.json, opened one at a time or all at once.
import { $, el } from './dom.js';
import { addFiles } from './images.js';
import { select } from './run.js';
import { state } from './state.js';
import { showError } from './status.js';

/** Shows the gallery if gallery/index.json lists usable images; without one the page simply has no gallery. */
export async function loadGallery() {
  let index;
  try {
    const res = await fetch('gallery/index.json');
    if (!res.ok) return;
    index = await res.json();
  } catch {
    return;
  }
  const items = (index.images ?? []).filter((g) => typeof g.file === 'string' && /^[\w.-]+$/.test(g.file));
  if (!items.length) return;
  const fetchOne = async (g) => {
    const res = await fetch(`gallery/${g.file}`);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return new File([await res.blob()], g.file, { type: 'image/png' });
  };
  const open = async (gs) => {
    const fresh = gs.filter((g) => !state.images.some((i) => i.gallery === g.file));
    const known = state.images.find((i) => gs.length === 1 && i.gallery === gs[0].file);
    if (known) { select(known.id); return; }
    try {
      const files = await Promise.all(fresh.map(fetchOne));
      await addFiles(files, fresh.map((g) => ({ trueLabel: g.label, gallery: g.file })));
    } catch (e) {
      showError(`Could not load the sample images: ${e.message}`);
    }
  };
  $('gallery-items').replaceChildren(...items.map((g) => {
    const b = el('button', { type: 'button', class: 'gthumb', role: 'listitem', title: `${g.file}: a test image labelled ${g.label}`, 'data-file': g.file },
      el('img', { src: `gallery/${g.file}`, alt: `sample: ${g.label}` }), el('span', { text: g.label }));
    b.addEventListener('click', () => open([g]));
    return b;
  }));
  $('gallery-all').addEventListener('click', () => open(items));
  $('gallery').hidden = false;
  $('gallery-h').firstChild.textContent = `${index.dataset ?? 'Sample test images'} `;
}
