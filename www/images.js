// The images: add (pick, drop, paste; model files go to models.js), clear, and export their traces as JSON.
import { $, el } from './dom.js';
import { decodeImage, ImageDecodeError } from './image.js';
import { useOwnModel } from './models.js';
import { select, settle } from './run.js';
import { optsKey, state, timingKey } from './state.js';
import { setStatus, showError } from './status.js';
import { drawBatch, drawChart } from './views.js';

function isModelFile(f) { return /\.safetensors$/i.test(f.name || ''); }

/** files: Blob/File list; meta: per-file {trueLabel, gallery} (optional). */
export async function addFiles(files, meta = []) {
  const list = [...(files ?? [])];
  if (list.length === 0) return;
  if (!state.info) {
    showError('The model is still loading; try again in a moment.');
    return;
  }
  const models = list.filter(isModelFile);
  if (models.length) await useOwnModel(models[0]);
  showError('');
  let first, errors;
  state.reading++;   // the other models' cards wait meanwhile (run.js whenIdle)
  try {
    ({ first, errors } = await readFiles(list, meta));
  } finally {
    state.reading--;
  }
  if (errors.length) showError(errors.join(' '));
  if (first) {
    select(first.id);
  } else {
    setStatus('ready', state.images.length ? 'Ready. The other images are still loaded.' : 'Ready. Pick another image.');
  }
  settle();
}

/** Decodes the images of `list` into state.images; returns the first one added (or null) and the errors. */
async function readFiles(list, meta) {
  const errors = [];
  let first = null;
  for (const [i, file] of list.entries()) {
    if (isModelFile(file)) continue;
    const name = file.name || 'pasted image';
    setStatus('busy', `Reading ${name}…`);
    try {
      const img = await decodeImage(file, state.client);
      const entry = {
        id: state.nextId++, name, url: URL.createObjectURL(file), ...img,
        trueLabel: meta[i]?.trueLabel ?? null, gallery: meta[i]?.gallery ?? null, dyn: null, stat: null,
      };
      state.images.push(entry);
      first ??= entry;
    } catch (e) {
      errors.push(e instanceof ImageDecodeError ? e.message : `Could not read “${name}”: ${e.message}`);
    }
  }
  return { first, errors };
}

function clearImages() {
  for (const img of state.images) URL.revokeObjectURL(img.url);
  state.images = [];
  state.currentId = null;
  ++state.timingToken;
  $('result').hidden = true;
  drawBatch();
  showError('');
  drawChart(null);
  setStatus('ready', 'Ready. Pick an image.');
}

/** The file input, drag and drop and paste anywhere on the page, and the clear and export buttons. */
export function wireInput() {
  const input = $('file');
  input.addEventListener('change', () => {
    addFiles(input.files);
    input.value = '';
  });
  const drop = $('drop');
  for (const type of ['dragenter', 'dragover']) {
    document.addEventListener(type, (e) => {
      e.preventDefault();
      drop.classList.add('dragging');
    });
  }
  for (const type of ['dragleave', 'dragend']) {
    document.addEventListener(type, (e) => {
      if (e.type === 'dragend' || e.relatedTarget === null) drop.classList.remove('dragging');
    });
  }
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('dragging');
    addFiles(e.dataTransfer?.files);
  });
  document.addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.files ?? [])];
    if (files.length) addFiles(files);
  });
  $('clear').addEventListener('click', clearImages);
  $('export').addEventListener('click', exportTraces);
}

/** Downloads every image's fresh traces (and timing) under the current model and settings as one JSON file. */
function exportTraces() {
  const data = {
    generator: 'lcnet web demo',
    model: state.info.card.name,
    options: state.opts,
    images: state.images.map((img) => ({
      name: img.name, true_label: img.trueLabel, error: img.error ?? undefined,
      trace: img.dyn?.key === optsKey() ? img.dyn.trace : null,
      static: img.stat?.gen === state.modelGen ? { label: img.stat.trace.label, prob: img.stat.trace.prob, macs: img.stat.trace.macs } : null,
      timing_ms: img.timing?.key === timingKey(img) ? { dynamic: img.timing.dyn, static: img.timing.stat, runs: img.timing.runs } : undefined,
    })),
  };
  const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
  const a = el('a', { href: url, download: `lcnet-traces-${state.info.card.name}.json` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
