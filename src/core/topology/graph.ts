import { type ConfigIssue, CORE_ERRORS } from '../errors.js';
import type { ComponentKind } from '../plugin/types.js';

/** A reference to a component's output: `x` (default output) or `x.y` (named output y). */
export interface OutputRef {
  component: string;
  /** '' for the default output. */
  output: string;
}

export interface GraphNode {
  id: string;
  kind: ComponentKind;
  inputs: OutputRef[];
  /** Named outputs; empty for components with only a default output. Sinks and tasks have none. */
  namedOutputs: string[];
  /** Sinks that must start before this component (a task reusing their connection). */
  dependsOn: string[];
  /** A component that failed validation: kept so references to it are not reported twice. */
  invalid?: boolean;
}

export const refKey = (ref: OutputRef): string => (ref.output ? `${ref.component}.${ref.output}` : ref.component);

export function parseRef(text: string): OutputRef {
  const dot = text.indexOf('.');
  return dot < 0 ? { component: text, output: '' } : { component: text.slice(0, dot), output: text.slice(dot + 1) };
}

/**
 * The pipeline DAG wired by `inputs` (as in Vector). Validation collects every problem at once:
 * unknown inputs, inputs from sinks, missing named outputs, cycles, sinks without inputs, and
 * warns about components whose output nobody consumes.
 */
export class Topology {
  readonly nodes: Map<string, GraphNode>;
  private readonly consumersByRef = new Map<string, GraphNode[]>();

  constructor(nodes: GraphNode[]) {
    this.nodes = new Map(nodes.map((n) => [n.id, n]));
    for (const n of nodes) {
      for (const ref of n.inputs) {
        const k = refKey(ref);
        const list = this.consumersByRef.get(k) ?? [];
        list.push(n);
        this.consumersByRef.set(k, list);
      }
    }
  }

  consumers(ref: OutputRef): GraphNode[] {
    return this.consumersByRef.get(refKey(ref)) ?? [];
  }

  /** Every output ref of a node (the default one, or each named one). */
  outputsOf(node: GraphNode): OutputRef[] {
    if (node.kind === 'sink' || node.kind === 'task') return [];
    if (node.namedOutputs.length === 0) return [{ component: node.id, output: '' }];
    return node.namedOutputs.map((output) => ({ component: node.id, output }));
  }

  /** Sinks reachable downstream of a component. */
  reachableSinks(id: string): Set<string> {
    const out = new Set<string>();
    const seen = new Set<string>();
    const walk = (nodeId: string) => {
      if (seen.has(nodeId)) return;
      seen.add(nodeId);
      const node = this.nodes.get(nodeId);
      if (!node) return;
      for (const ref of this.outputsOf(node)) {
        for (const c of this.consumers(ref)) {
          if (c.kind === 'sink') out.add(c.id);
          else walk(c.id);
        }
      }
    };
    walk(id);
    return out;
  }

  /**
   * Start order: sinks first (providers before the sinks that depend on them), then tasks, then
   * transforms, then sources. Stop in the reverse order: tasks stop before the sinks they use.
   */
  startOrder(): GraphNode[] {
    const sinks = [...this.nodes.values()].filter((n) => n.kind === 'sink');
    const ordered: GraphNode[] = [];
    const placed = new Set<string>();
    const visit = (n: GraphNode, stack: Set<string>) => {
      if (placed.has(n.id) || stack.has(n.id)) return;
      stack.add(n.id);
      for (const dep of n.dependsOn) {
        const d = this.nodes.get(dep);
        if (d) visit(d, stack);
      }
      stack.delete(n.id);
      placed.add(n.id);
      ordered.push(n);
    };
    for (const s of sinks) visit(s, new Set());
    for (const n of this.nodes.values()) if (n.kind === 'task') ordered.push(n);
    for (const n of this.nodes.values()) if (n.kind === 'transform') ordered.push(n);
    for (const n of this.nodes.values()) if (n.kind === 'source') ordered.push(n);
    return ordered;
  }
}

export interface TopologyCheck {
  issues: ConfigIssue[];
  warnings: string[];
}

const section = (kind: ComponentKind) => `${kind}s`;

export function checkTopology(topology: Topology): TopologyCheck {
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  const add = (node: GraphNode, key: string, message: string) => issues.push({ path: `${section(node.kind)}.${node.id}.${key}`, code: CORE_ERRORS.TC_TOPOLOGY, message });

  for (const node of topology.nodes.values()) {
    // An invalid component's own inputs are still checked, so that one pass reports them too.
    if (!node.invalid && node.kind === 'sink' && node.inputs.length === 0) add(node, 'inputs', 'a sink needs at least one input');
    node.inputs.forEach((ref, i) => {
      const from = topology.nodes.get(ref.component);
      const key = `inputs[${i}]`;
      if (!from) return add(node, key, `unknown input "${refKey(ref)}": no source or transform has the id "${ref.component}"`);
      if (from.kind === 'sink' || from.kind === 'task') return add(node, key, `"${ref.component}" is a ${from.kind}; ${from.kind}s have no outputs to consume`);
      if (from.invalid) return;
      if (from.id === node.id) return add(node, key, 'a component cannot consume its own output');
      if (ref.output === '' && from.namedOutputs.length > 0) {
        return add(node, key, `"${from.id}" has named outputs; use one of ${from.namedOutputs.map((o) => `"${from.id}.${o}"`).join(', ')}`);
      }
      if (ref.output !== '' && !from.namedOutputs.includes(ref.output)) {
        const known = from.namedOutputs.length > 0 ? `; it has ${from.namedOutputs.map((o) => `"${from.id}.${o}"`).join(', ')}` : `; use "${from.id}"`;
        return add(node, key, `"${from.id}" has no output "${ref.output}"${known}`);
      }
    });
    for (const dep of node.dependsOn) {
      const d = topology.nodes.get(dep);
      if (!d || d.kind !== 'sink') add(node, '', `refers to "${dep}", which is not a sink in this config`);
    }
  }

  for (const cycle of findCycles(topology)) {
    issues.push({ path: `transforms.${cycle[0]}.inputs`, code: CORE_ERRORS.TC_TOPOLOGY, message: `cycle: ${[...cycle, cycle[0]].join(' -> ')}` });
  }

  for (const node of topology.nodes.values()) {
    if (node.kind === 'sink' || node.kind === 'task' || node.invalid) continue;
    const consumed = topology.outputsOf(node).some((ref) => topology.consumers(ref).length > 0);
    if (!consumed) warnings.push(`${node.kind} "${node.id}" has no consumers: its events go nowhere`);
  }
  return { issues, warnings };
}

function findCycles(topology: Topology): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string) => {
    state.set(id, 'visiting');
    stack.push(id);
    const node = topology.nodes.get(id) as GraphNode;
    for (const ref of topology.outputsOf(node)) {
      for (const c of topology.consumers(ref)) {
        if (c.kind !== 'transform') continue;
        const s = state.get(c.id);
        if (s === 'visiting') cycles.push(stack.slice(stack.indexOf(c.id)));
        else if (s === undefined) visit(c.id);
      }
    }
    stack.pop();
    state.set(id, 'done');
  };
  for (const node of topology.nodes.values()) if (node.kind === 'transform' && !state.has(node.id)) visit(node.id);
  return cycles;
}
