// Checks the page's module graph (www/*.js, from their static imports): no import cycles, and the modules the unit
// tests load in Node reach no DOM module. Under Node's own test runner: `node --test tests/unit/`.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

const www = new URL('../../www/', import.meta.url);
const graph = new Map(readdirSync(www).filter((f) => f.endsWith('.js')).map((f) =>
  [f, [...readFileSync(new URL(f, www), 'utf8').matchAll(/\bfrom '\.\/([\w.-]+)'/g)].map((m) => m[1])]));

/** Every module `f` imports, directly or not. */
function reach(f, seen = new Set()) {
  for (const g of graph.get(f) ?? []) if (!seen.has(g)) { seen.add(g); reach(g, seen); }
  return seen;
}

test('the page has its modules', () => {
  for (const f of ['main.js', 'state.js', 'run.js', 'views.js']) assert.ok(graph.has(f), f);
});

test('no module imports itself through others', () => {
  const cycles = [...graph.keys()].filter((f) => reach(f).has(f));
  assert.deepEqual(cycles, []);
});

test('the pure modules import no DOM module', () => {
  for (const f of ['state.js', 'options.js', 'stats.js', 'model-list.js', 'card.js', 'format.js']) {
    assert.ok(!reach(f).has('dom.js'), `${f} reaches dom.js`);
  }
});

test('index.html preloads exactly the modules main.js reaches', () => {
  const html = readFileSync(new URL('index.html', www), 'utf8');
  const preloaded = [...html.matchAll(/<link rel="modulepreload" href="([\w.-]+)">/g)].map((m) => m[1]).sort();
  assert.deepEqual(preloaded, [...reach('main.js')].sort());
});
