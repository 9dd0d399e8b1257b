import { errorMessage } from '../errors.js';
import type { ComponentKind } from '../plugin/types.js';

export type ComponentState = 'starting' | 'running' | 'degraded' | 'failed' | 'stopped';

/** What /health and /components report for one component. */
export class ComponentStatus {
  state: ComponentState = 'starting';
  error: string | undefined;
  since = Date.now();

  constructor(
    readonly id: string,
    readonly kind: ComponentKind,
    readonly type: string,
  ) {}

  private set(state: ComponentState, error?: unknown): void {
    if (state !== this.state) this.since = Date.now();
    this.state = state;
    this.error = error === undefined ? undefined : errorMessage(error);
  }

  ok(): void {
    if (this.state !== 'stopped') this.set('running');
  }
  degrade(err: unknown): void {
    if (this.state !== 'stopped') this.set('degraded', err);
  }
  fail(err: unknown): void {
    this.set('failed', err);
  }
  stop(): void {
    this.set('stopped');
  }

  get healthy(): boolean {
    return this.state === 'running';
  }

  toJSON(): Record<string, unknown> {
    return { id: this.id, kind: this.kind, type: this.type, state: this.state, error: this.error, since: new Date(this.since).toISOString() };
  }
}
