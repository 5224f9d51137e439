// How a rule reaches nodes: the kubelet configurations and the ops pods of the scan (shared through the
// scan's state), and an inspector per node on top of the ops pods. A rule run without scan state (runScan
// called directly) gets state of its own, released when the rule returns.
import type { LiveCluster, RuleContext } from '../engine/rule.ts';
import { ScanState } from '../engine/scan-state.ts';
import { KubeletConfigs } from './kubelet-configs.ts';
import { NodeInspector } from './node-inspector.ts';
import { OpsPods, opsPodSettings, type ExecPolicy } from './ops-pods.ts';

export interface NodeAccess {
  live: LiveCluster;
  kubeletConfigs: KubeletConfigs;
  opsPods: OpsPods;
  /** The node's inspector (one per node and scan). */
  inspector(node: string): NodeInspector;
  /** The rule's signal and retries (the ruleset arg `maxRetries`, default 1). */
  policy: ExecPolicy;
}

/** diki's default for the ruleset arg `maxRetries`. */
export const DEFAULT_MAX_RETRIES = 1;

export function maxRetriesOf(rulesetArgs: unknown): number {
  const value = (rulesetArgs as { maxRetries?: unknown } | undefined)?.maxRetries;
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : DEFAULT_MAX_RETRIES;
}

function access(live: LiveCluster, state: ScanState, policy: ExecPolicy): NodeAccess {
  const settings = opsPodSettings(live.providerArgs);
  const kubeletConfigs = state.get('nodes/kubelet-configs', () => new KubeletConfigs(live.client));
  const opsPods = state.get(
    `nodes/ops-pods/${JSON.stringify(settings)}`,
    () => new OpsPods(live.client, settings),
    (pods) => pods.dispose(),
  );
  const inspectors = state.get(`nodes/inspectors/${JSON.stringify(settings)}`, () => new Map<string, NodeInspector>());
  return {
    live,
    kubeletConfigs,
    opsPods,
    policy,
    inspector(node) {
      let inspector = inspectors.get(node);
      if (!inspector) inspectors.set(node, (inspector = new NodeInspector(node, opsPods)));
      return inspector;
    },
  };
}

/** Runs `fn` with access to the nodes of the live cluster the rule scans. */
export async function withNodeAccess<T>(ctx: RuleContext, fn: (access: NodeAccess) => Promise<T>): Promise<T> {
  const live = ctx.live;
  if (!live) throw new Error('node-level rules need a live cluster');
  const policy: ExecPolicy = { signal: ctx.signal, maxRetries: maxRetriesOf(ctx.rulesetArgs) };
  if (live.state) return fn(access(live, live.state, policy));
  const own = new ScanState();
  try {
    return await fn(access(live, own, policy));
  } finally {
    await own.dispose();
  }
}
