// The helpers live in src/testing (public as `thermocline/testing`); test/ keeps this path.
export * from '../../src/testing/agent-process.js';
export { packageRoot as repoRoot } from '../../src/testing/agent-process.js';
