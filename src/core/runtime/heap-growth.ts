import v8 from 'node:v8';

/**
 * How far V8 lets its heap grow past what the last full collection kept before it collects again
 * (`[memory] heap_growth_percent`). Left to itself, V8 picks the factor from how fast it collects
 * against how fast the program allocates, up to 4× on a machine with memory to spare; an agent
 * allocating steadily then holds garbage of twice or three times what it uses, which the resident
 * size shows (docs/operations.md#resident-memory). V8 reads the setting at every full collection,
 * so it takes effect at once and on reload. `0` gives the choice back to V8.
 */
export function setHeapGrowth(percent: number): void {
  v8.setFlagsFromString(`--heap-growing-percent=${Math.max(0, Math.floor(percent))}`);
}
