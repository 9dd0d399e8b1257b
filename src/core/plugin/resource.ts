/**
 * Typed shared resources (docs/plugins.md#shared-resources): what one component offers others,
 * e.g. the postgres sink's connection that the rollup exporter reuses. A key names the resource
 * and carries its type, so a provider can only offer, and a consumer only receives, a value of
 * that type: no guards at the consumer.
 */
export interface ResourceKey<T> {
  /** `<plugin>.<what>`, e.g. `postgres.connection`: shown in errors. */
  readonly name: string;
  /** Carries `T` for the type checker only; never set. */
  readonly __type?: () => T;
}

/** Create a resource key once, in the providing plugin's `api.ts`, and share that object. */
export function defineResource<T>(name: string): ResourceKey<T> {
  return Object.freeze({ name });
}

/** A consumer's need: the resource `key` as offered by the component `from`. */
export interface ResourceUse {
  readonly key: ResourceKey<unknown>;
  readonly from: string;
}

/** The resources components offer, by provider id and key. */
export class ResourceRegistry {
  private readonly byProvider = new Map<string, Map<ResourceKey<unknown>, unknown>>();

  provide<T>(provider: string, key: ResourceKey<T>, value: T): void {
    let offered = this.byProvider.get(provider);
    if (!offered) this.byProvider.set(provider, (offered = new Map()));
    offered.set(key as ResourceKey<unknown>, value);
  }

  use<T>(key: ResourceKey<T>, provider: string): T | undefined {
    return this.byProvider.get(provider)?.get(key as ResourceKey<unknown>) as T | undefined;
  }

  /** Forget what `provider` offered (it stopped). */
  withdraw(provider: string): void {
    this.byProvider.delete(provider);
  }
}
