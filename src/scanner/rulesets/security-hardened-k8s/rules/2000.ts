// 2000: every namespace denies ingress and egress traffic by default, through a NetworkPolicy that selects all
// of its pods and has no rules for the direction. A policy selecting all pods with a rule that has neither peers
// nor ports opens the direction again and fails the check. Namespaces being deleted without pods only warn.
// A live scan looks again at namespaces younger than a minute that fail, since their default policies are
// often created moments after them.
import type { V1Namespace, V1NetworkPolicy, V1Pod } from '@kubernetes/client-node';
import Type from 'typebox';
import type { KubeClient } from '../../../../kube/client.ts';
import { defineRule } from '../../../engine/rule.ts';
import { failed, passed, warning, type CheckResult, type Target } from '../../../engine/result.ts';
import { Kinds } from '../../../objects/kinds.ts';
import { ObjectReadError } from '../../../objects/source.ts';
import { sleep } from '../../../../util/time.ts';
import {
  AcceptedClusterObjectSchema,
  acceptedFinding,
  clusterAcceptanceOf,
  validateAcceptedCluster,
} from '../../shared/selectors.ts';

const AcceptedNamespaceSchema = Type.Object(
  {
    ...AcceptedClusterObjectSchema.properties,
    acceptedTraffic: Type.Optional(
      Type.Object(
        { ingress: Type.Optional(Type.Boolean()), egress: Type.Optional(Type.Boolean()) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const Options = Type.Object(
  {
    acceptedNamespaces: Type.Optional(Type.Array(AcceptedNamespaceSchema)),
    /**
     * diki looks again, for up to a minute, at namespaces younger than a minute that fail, in case their
     * NetworkPolicies are still being created. Off by default: it makes every scan of a cluster with a new
     * namespace a minute longer, and a namespace without policies is a finding whatever its age.
     */
    recheckYoungNamespaces: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/**
 * How long a failing namespace counts as new, and the pauses before each fresh look at the NetworkPolicies
 * (live scans only). Exported so tests can shorten the pauses.
 */
export const youngNamespaceRecheck = { youngerThanMs: 60_000, delaysMs: [10_000, 20_000, 30_000] };

type Direction = 'ingress' | 'egress';
const DIRECTIONS: Direction[] = ['ingress', 'egress'];
const TITLE: Record<Direction, string> = { ingress: 'Ingress', egress: 'Egress' };
const POLICY_TYPE: Record<Direction, string> = { ingress: 'Ingress', egress: 'Egress' };

/** The policy types of a NetworkPolicy, defaulted as the API server does when a manifest leaves them out. */
function policyTypes(np: V1NetworkPolicy): string[] {
  const spec = np.spec;
  if (spec?.policyTypes && spec.policyTypes.length > 0) return spec.policyTypes;
  return (spec?.egress?.length ?? 0) > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

const selectsAllPods = (np: V1NetworkPolicy): boolean =>
  Object.keys(np.spec?.podSelector?.matchLabels ?? {}).length === 0 &&
  (np.spec?.podSelector?.matchExpressions ?? []).length === 0;

interface DirectionVerdict {
  /** A policy for all pods with no rules for the direction. */
  deniedBy: V1NetworkPolicy | undefined;
  /** A policy for all pods with a rule that allows every peer on every port. */
  openedBy: V1NetworkPolicy | undefined;
}

function verdict(policies: V1NetworkPolicy[], direction: Direction): DirectionVerdict {
  const result: DirectionVerdict = { deniedBy: undefined, openedBy: undefined };
  for (const np of policies) {
    if (!selectsAllPods(np) || !policyTypes(np).includes(POLICY_TYPE[direction])) continue;
    const rules =
      direction === 'ingress'
        ? // Objects are plain API JSON, where the peers of an ingress rule are `from` (client-node says `_from`).
          (np.spec?.ingress ?? []).map((r) => ({ peers: (r as { from?: unknown[] }).from, ports: r.ports }))
        : (np.spec?.egress ?? []).map((r) => ({ peers: r.to, ports: r.ports }));
    if (rules.length === 0) result.deniedBy ??= np;
    if (rules.some((r) => (r.peers ?? []).length === 0 && (r.ports ?? []).length === 0)) result.openedBy ??= np;
    if (result.openedBy) break;
  }
  return result;
}

const policyTarget = (target: Target, np: V1NetworkPolicy): Target => ({
  ...target,
  kind: 'NetworkPolicy',
  name: np.metadata?.name ?? '',
});

export const rule2000 = defineRule({
  id: '2000',
  name: 'Ingress and egress traffic must be restricted by default.',
  severity: 'High',
  options: Options,
  validate: (options, path) => validateAcceptedCluster(options.acceptedNamespaces, `${path}.acceptedNamespaces`),
  async run(ctx) {
    const [namespaces, policies, pods] = await Promise.all([
      ctx.objects.list<V1Namespace>(Kinds.namespaces),
      ctx.objects.list<V1NetworkPolicy>(Kinds.networkPolicies),
      ctx.objects.list<V1Pod>(Kinds.pods),
    ]);
    const namespacesWithPods = new Set(pods.map((p) => p.metadata?.namespace ?? ''));
    const entries = ctx.options?.acceptedNamespaces ?? [];

    const checkNamespace = (ns: V1Namespace, byNamespace: Map<string, V1NetworkPolicy[]>) => {
      const name = ns.metadata?.name ?? '';
      const target: Target = { namespace: name };
      const nsPolicies = byNamespace.get(name) ?? [];
      const checks: CheckResult[] = [];
      let plainFailure = false;
      for (const direction of DIRECTIONS) {
        const { deniedBy, openedBy } = verdict(nsPolicies, direction);
        if (deniedBy && !openedBy) {
          checks.push(passed(`${TITLE[direction]} traffic is denied by default.`, policyTarget(target, deniedBy)));
          continue;
        }
        const acceptance = clusterAcceptanceOf(
          entries.filter((e) => e.acceptedTraffic?.[direction] === true),
          ns.metadata?.labels,
        );
        const notDenied = `No NetworkPolicy denies ${direction} traffic to all pods by default.`;
        if (acceptance) {
          // With a justification the message no longer names the direction, so the target does.
          const acceptedTarget = acceptance.justification?.trim()
            ? { ...target, details: `traffic: ${direction}` }
            : target;
          checks.push(
            acceptedFinding(
              acceptance,
              `Namespace is accepted to allow ${direction} traffic by default.`,
              acceptedTarget,
            ),
          );
        } else if (openedBy) {
          checks.push(
            failed(`A NetworkPolicy allows all ${direction} traffic to all pods.`, policyTarget(target, openedBy)),
          );
        } else if (!ns.metadata?.deletionTimestamp) {
          checks.push(failed(notDenied, target));
          plainFailure = true;
        } else if (namespacesWithPods.has(name)) {
          checks.push(failed(notDenied, { ...target, details: 'namespace is being deleted and still has pods' }));
        } else {
          checks.push(warning(notDenied, { ...target, details: 'namespace is being deleted and has no pods left' }));
        }
      }
      return { checks, plainFailure };
    };

    const now = Date.now();
    const isYoung = (ns: V1Namespace): boolean => {
      const created = ns.metadata?.creationTimestamp;
      return created !== undefined && now - new Date(created).getTime() < youngNamespaceRecheck.youngerThanMs;
    };

    const results: CheckResult[] = [];
    let recheck: V1Namespace[] = [];
    let byNamespace = groupByNamespace(policies);
    for (const ns of namespaces) {
      const { checks, plainFailure } = checkNamespace(ns, byNamespace);
      if (ctx.live && ctx.options?.recheckYoungNamespaces && plainFailure && isYoung(ns)) recheck.push(ns);
      else results.push(...checks);
    }

    const delays = youngNamespaceRecheck.delaysMs;
    for (let attempt = 0; ctx.live && attempt < delays.length && recheck.length > 0; attempt++) {
      await sleep(delays[attempt] ?? 0, ctx.signal);
      ctx.signal.throwIfAborted();
      byNamespace = groupByNamespace(await freshPolicies(ctx.live.client));
      const still: V1Namespace[] = [];
      for (const ns of recheck) {
        const { checks, plainFailure } = checkNamespace(ns, byNamespace);
        if (plainFailure) still.push(ns);
        else results.push(...checks);
      }
      recheck = still;
    }
    for (const ns of recheck) results.push(...checkNamespace(ns, byNamespace).checks);
    return results;
  },
});

function groupByNamespace(policies: V1NetworkPolicy[]): Map<string, V1NetworkPolicy[]> {
  const byNamespace = new Map<string, V1NetworkPolicy[]>();
  for (const np of policies) {
    const ns = np.metadata?.namespace ?? '';
    let list = byNamespace.get(ns);
    if (!list) byNamespace.set(ns, (list = []));
    list.push(np);
  }
  return byNamespace;
}

async function freshPolicies(client: KubeClient): Promise<V1NetworkPolicy[]> {
  try {
    return (await client.listAll<V1NetworkPolicy>(Kinds.networkPolicies)).items;
  } catch (err) {
    throw new ObjectReadError(Kinds.networkPolicies.kind, err);
  }
}
