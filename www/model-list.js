// The shipped models as the picker lists them (models/index.json, default first, labels); pure, tested in Node.
import { defaultPoint } from './card.js';
import { fmtPct } from './format.js';

/** models/index.json → {models: [{file, size}] with the default first, def: the default's file}. */
export function modelList(index) {
  const models = (index.models ?? []).filter((m) => typeof m.file === 'string');
  if (models.length === 0) {
    throw new Error('No model to load: weights/ held no model file when scripts/build-web.sh ran.');
  }
  const files = models.map((m) => m.file);
  const def = files.includes(index.default) ? index.default : files[0];
  // the default first in the picker
  models.sort((a, b) => (b.file === def) - (a.file === def));
  return { models, def };
}

/** A shipped model's name, with what it does at its defaults once its card (else undefined) has been read. */
export function modelLabel(file, card) {
  const name = file.replace(/\.safetensors$/, '');
  const d = card === undefined ? null : defaultPoint(card);
  return d && typeof d.macs_fraction === 'number' ? `${name} · ${fmtPct(d.accuracy)}, ${Math.round(100 * d.macs_fraction)} % MACs` : name;
}
