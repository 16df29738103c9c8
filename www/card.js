// What a model card says, in terms the page shows: its gates, how it was trained, its static side and its
// measured curve. Pure functions of the card (no DOM), unit-tested in Node (tests/unit/card.test.mjs).

import { fmtPct } from './format.js';

/** What the gates of this model are, in plain sentences. */
export function gatesSummary(card) {
  const g = card.gates;
  if (!g) return { short: 'none (static model)', note: 'Static model: no gates, so every block and every channel runs for every image.', kind: 'static' };
  const which = [g.l_net && 'L-Net (blocks)', g.c_net && 'C-Net (channels)'].filter(Boolean).join(' + ') || 'none';
  if (!g.trained) {
    const init = card.provenance?.config?.gate_init_bias;
    const near = typeof init === 'number' ? `near ${init}` : 'near 1';
    return {
      short: `${which}, UNTRAINED`,
      note: `Gates untrained: they skip almost nothing yet. Their outputs sit ${near}, so at the default thresholds every block and channel runs and the MACs show only the gates' small overhead. ` +
        `Drag τ_L or τ_C above the gate values (≈ ${typeof init === 'number' ? init : '0.95'}) to watch blocks and channels being skipped — the mechanism, not a learned saving.`,
      kind: 'untrained',
    };
  }
  let note = 'Gates trained: each image decides which blocks and channels it needs.';
  if (g.l_net && noBlockEverSkipped(card)) {
    note += ' In this model\'s measured curve every block ran for every test image at every threshold measured, so raising τ_L changes little: its savings come from channels (τ_C).';
  }
  const joint = jointlyTrained(card);
  if (joint) note += ` ${joint.note}`;
  if (trainedAsOneNetwork(card)) note += ` ${ONE_NETWORK_NOTE}`;
  return { short: `${which}, trained`, note, kind: 'trained', joint };
}

const ONE_NETWORK_NOTE = 'One network for the whole range: every training step trained these weights with every block and channel (the static side, a calibrated network) and gated at several thresholds, so each threshold is a compute budget and the static side is the baseline.';

/** True for weights trained by the sandwich recipe: the full network and the gated one at several thresholds, every step. */
export function trainedAsOneNetwork(card) {
  const cfg = card?.provenance?.config;
  // sw_full 0: the sandwich without its full pass trains only the gated network (the static side is not trained)
  return Boolean(card?.gates?.trained && cfg?.sandwich === true && (cfg.sw_full ?? 1) > 0);
}

/**
 * For gates trained together with the backbone: the weights fit the gated network, so the same weights run
 * without gates (the static side) are no accuracy baseline; the backbone the run started from is. Null otherwise.
 */
export function jointlyTrained(card) {
  const p = card?.provenance;
  if (!card?.gates?.trained || p?.config?.freeze_backbone !== false || trainedAsOneNetwork(card)) return null;
  const phases = Array.isArray(p.phases) ? p.phases : [];
  const backbone = phases.find((ph) => ph && ph.phase === 'backbone');
  const acc = backbone?.final?.acc_static;
  const ref = staticReferenceOf(card);
  const start = ref
    ? ` The static side runs its static reference instead, ${ref.name}${ref.accuracy !== null ? ` (${fmtPct(ref.accuracy)} static)` : ''}: the backbone it started from, stored beside it.`
    : typeof acc === 'number' ? ` The backbone it started from scored ${fmtPct(acc)} (trainer's evaluation): that is the accuracy to compare with.` : '';
  return {
    backboneAccuracy: ref?.accuracy ?? (typeof acc === 'number' ? acc : null),
    backboneLabel: ref ? `static reference ${ref.name}` : 'backbone it started from, static',
    note: 'Its backbone was trained together with the gates, so its weights fit the gated network: the static side (the same weights, every block and channel) shows the compute the gates save, but its prediction is not a baseline.' + start,
    staticNote: 'Same weights without their gates: they were trained with them, so this prediction is out of calibration. It is here for the compute.',
  };
}

/**
 * The static network the card names as its comparison (a model file beside it), with its accuracy when
 * `lcnet eval` measured it into the card's evaluation; null when the card names none.
 */
export function staticReferenceOf(card) {
  const file = card?.static_reference;
  if (!file) return null;
  // the card was validated on load (src/model/evaluation.rs): a measured reference is the one it names
  const e = card.evaluation?.static_reference;
  return { file, name: e?.name ?? file.replace(/\.safetensors$/, ''), accuracy: e?.accuracy ?? null };
}

/** True when the card's measured curve has gated points and every block ran for every image at each of them. */
function noBlockEverSkipped(card) {
  const gated = (card?.evaluation?.curve ?? []).filter((p) => p.mode === 'l' || p.mode === 'lc');
  return gated.length > 0 && gated.every((p) => p.block_exec_rate.every((r) => r >= 0.9995));
}

/** The card's accuracy–MACs evaluation (typed and validated by the loader), or null when not measured. */
export function evaluationOf(card) {
  const e = card?.evaluation;
  if (!e) return null;
  return { dataset: e.dataset, staticAccuracy: e.static_accuracy, curve: e.curve };
}

/** The static accuracy the trainer measured, when the card records it. */
export function trainerAccuracy(card) {
  const t = card?.provenance?.pytorch_test_eval;
  return t && typeof t.acc_static === 'number' ? t.acc_static : null;
}

/** What the page's static side runs: the static reference (loaded, or why not) or these weights without gates. */
export function staticSide(card, reference) {
  const ref = staticReferenceOf(card);
  if (reference?.name) {
    return {
      kind: `(static reference: ${reference.name}, every block and channel)`,
      note: `The static network this model is compared with: ${reference.name} (models/${reference.file}), stored beside it — ` +
        `the same architecture trained without gates${ref?.accuracy != null ? `, ${fmtPct(ref.accuracy)} on the test set` : ''}. ` +
        'These weights without their gates are not shown here: they were trained with their gates, so they are out of calibration.',
    };
  }
  const joint = jointlyTrained(card);
  const why = reference?.error ? `Its static reference ${reference.file} could not be loaded (${reference.error}), so this is the fallback. ` : '';
  return {
    kind: '(every block and channel)',
    note: joint ? why + joint.staticNote : why || null,
  };
}

const near = (a, b) => typeof a === 'number' && typeof b === 'number' && Math.abs(a - b) < 1e-4;

/** The card's measured LC-Net point at its default thresholds, or null. */
export function defaultPoint(card) {
  const ev = evaluationOf(card), t = card?.thresholds;
  if (!ev || !t) return null;
  return ev.curve.find((p) => p.mode === 'lc' && near(p.tau_l, t.tau_l) && near(p.tau_c, t.tau_c)) ?? null;
}

/** Whether this model's gates can run a curve point's mode (a card may list points its gates cannot run). */
export function runnable(card, mode) {
  const g = card.gates;
  return mode === 'static' || Boolean(g && (!mode.includes('l') || g.l_net) && (!mode.includes('c') || g.c_net));
}
