// The status line (state, text, load progress), the error messages, and the fatal message.
import { $ } from './dom.js';

export function setStatus(kind, text) {
  const s = $('status');
  s.dataset.state = kind;
  $('status-text').textContent = text;
  if (kind !== 'loading') $('status-progress').hidden = true;
}

export function fatal(text) {
  setStatus('failed', 'Cannot start.');
  const f = $('fatal');
  f.textContent = text;
  f.hidden = false;
}

/** Shows an error message in element `id`, or hides it when text is empty. */
export function showError(text, id = 'error') {
  const e = $(id);
  e.textContent = text;
  e.hidden = !text;
}

/** The worker's download progress (wasm module, model file) in the status line. */
export function onProgress({ what, loaded, total }) {
  const p = $('status-progress');
  const mb = (n) => (n / 1e6).toFixed(1);
  if (total > 0) {
    p.hidden = false;
    p.max = total;
    p.value = loaded;
    $('status-text').textContent = `Loading ${what}… ${mb(loaded)} / ${mb(total)} MB`;
  } else {
    $('status-text').textContent = `Loading ${what}… ${mb(loaded)} MB`;
  }
}
