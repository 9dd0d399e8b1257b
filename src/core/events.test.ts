import t from 'tap';
import { canonicalLabels, canonicalLabelsJson } from './events.js';

t.test('canonical label JSON sorts keys by code unit, integer-like keys included', async (t) => {
  t.equal(canonicalLabelsJson({ b: '1', a: '2', '10': 'x', '2': 'y', Z: 'z' }), '{"10":"x","2":"y","Z":"z","a":"2","b":"1"}');
  t.equal(canonicalLabelsJson({}), '{}');
  t.equal(canonicalLabelsJson({ 'q"uote': 'new\nline' }), '{"q\\"uote":"new\\nline"}');
  t.same(JSON.parse(canonicalLabelsJson({ b: '1', a: '2' })), { a: '2', b: '1' });
});

t.test('canonicalLabels returns the same object when already sorted', async (t) => {
  const sorted = { a: '1', b: '2' };
  t.equal(canonicalLabels(sorted), sorted);
  t.same(Object.keys(canonicalLabels({ b: '2', a: '1' })), ['a', 'b']);
});
