import t from 'tap';
import { DecodeBudget } from './budget.js';

t.test('requests that fit are granted at once; the rest wait in arrival order and are granted as shares return', async (t) => {
  const budget = new DecodeBudget(100);
  const a = await budget.acquire(60, 0);
  t.ok(a, 'fits');
  t.notOk(budget.grantsAtOnce(50));
  const order: string[] = [];
  const b = budget.acquire(50, 5000).then((r) => (order.push('b'), r));
  const c = budget.acquire(10, 5000).then((r) => (order.push('c'), r));
  t.equal(budget.queued, 2, 'c fits but does not overtake b, which came first');
  a!();
  a!(); // a second release returns nothing more
  const [rb, rc] = await Promise.all([b, c]);
  t.same(order, ['b', 'c']);
  t.equal(budget.inUse, 60);
  rb!();
  rc!();
  t.equal(budget.inUse, 0);
});

t.test('a wait that runs out resolves undefined and lets those behind it through', async (t) => {
  const budget = new DecodeBudget(100);
  const a = await budget.acquire(90, 0);
  t.equal(await budget.acquire(20, 0), undefined, 'no wait: refused at once');
  const big = budget.acquire(50, 20);
  const small = budget.acquire(5, 5000);
  t.equal(await big, undefined, 'the head timed out');
  const granted = await small;
  t.ok(granted, 'the request behind it fits and is granted when the head leaves');
  t.equal(budget.inUse, 95);
  a!();
  granted!();
});

t.test('a request larger than the whole budget is granted alone, never beside others', async (t) => {
  const budget = new DecodeBudget(100);
  const small = await budget.acquire(10, 0);
  const huge = budget.acquire(500, 5000);
  t.equal(budget.queued, 1);
  small!();
  const release = await huge;
  t.equal(budget.inUse, 500);
  t.equal(await budget.acquire(1, 0), undefined, 'nothing fits beside it');
  release!();
});
