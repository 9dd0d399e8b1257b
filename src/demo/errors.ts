/**
 * Why the demo stopped, for a person at a terminal: the message says what happened and what to do;
 * `details` are extra lines (the stuck components, the agent's last warnings).
 */
export class DemoError extends Error {
  readonly details: readonly string[];

  constructor(message: string, options: { cause?: unknown; details?: readonly string[] } = {}) {
    super(message, { cause: options.cause });
    this.name = 'DemoError';
    this.details = options.details ?? [];
  }
}
