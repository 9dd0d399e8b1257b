// The helpers live in src/testing (public as `thermocline/testing`); test/ keeps this path.
export * from '../../src/testing/nats.js';
