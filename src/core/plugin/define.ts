import type { ConfigSchema, SinkPlugin, SourcePlugin, TaskPlugin, TransformPlugin } from './types.js';

/*
 * The define* helpers only attach the kind and keep the config type flowing from the schema
 * into `create`; built-in and custom plugins go through the same door.
 */

export function defineSource<S extends ConfigSchema>(plugin: Omit<SourcePlugin<S>, 'kind'>): SourcePlugin<S> {
  return { ...plugin, kind: 'source' };
}

export function defineTransform<S extends ConfigSchema>(plugin: Omit<TransformPlugin<S>, 'kind'>): TransformPlugin<S> {
  return { ...plugin, kind: 'transform' };
}

export function defineSink<S extends ConfigSchema>(plugin: Omit<SinkPlugin<S>, 'kind'>): SinkPlugin<S> {
  return { ...plugin, kind: 'sink' };
}

export function defineTask<S extends ConfigSchema>(plugin: Omit<TaskPlugin<S>, 'kind'>): TaskPlugin<S> {
  return { ...plugin, kind: 'task' };
}
