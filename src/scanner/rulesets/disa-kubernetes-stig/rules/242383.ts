// 242383: users' workloads and services live in their own namespaces, never in `default`, `kube-public` or
// `kube-node-lease`. Checks the kinds `kubectl get all` shows; an object owned by another listed object is
// covered by its owner. The API server's own `kubernetes` Service in `default` is a system resource.
import type { FieldError } from '../../../../api/validation.ts';
import type { KubeObject, ResourceType } from '../../../../kube/resources.ts';
import { defineRule } from '../../../engine/rule.ts';
import { failed, type CheckResult } from '../../../engine/result.ts';
import { Kinds } from '../../../objects/kinds.ts';
import { namespaceLabels, OPS_POD_ROLE, OPS_POD_ROLE_LABEL } from '../../shared/pods.ts';
import {
  acceptanceOf,
  acceptedFinding,
  AcceptedNamespacedObjectSchema,
  validateAcceptedNamespaced,
} from '../../shared/selectors.ts';
import Type, { type Static } from 'typebox';
import { listInOrder } from './common.ts';

export const SYSTEM_NAMESPACES_242383 = ['default', 'kube-public', 'kube-node-lease'];

/** The kinds checked, by API group, as `apiVersion` values of acceptance entries name them. */
const checkedKinds: Record<string, { kind: string; type: ResourceType }[]> = {
  v1: [
    { kind: 'Pod', type: Kinds.pods },
    { kind: 'ReplicationController', type: Kinds.replicationControllers },
    { kind: 'Service', type: Kinds.services },
  ],
  'apps/v1': [
    { kind: 'Deployment', type: Kinds.deployments },
    { kind: 'DaemonSet', type: Kinds.daemonSets },
    { kind: 'ReplicaSet', type: Kinds.replicaSets },
    { kind: 'StatefulSet', type: Kinds.statefulSets },
  ],
  'autoscaling/v1': [{ kind: 'HorizontalPodAutoscaler', type: Kinds.horizontalPodAutoscalers }],
  'batch/v1': [
    { kind: 'Job', type: Kinds.jobs },
    { kind: 'CronJob', type: Kinds.cronJobs },
  ],
};

const AcceptedResourceSchema = Type.Object(
  {
    ...AcceptedNamespacedObjectSchema.properties,
    apiVersion: Type.String(),
    /** A kind of `apiVersion`, or `*` for all of them. */
    kind: Type.String(),
  },
  { additionalProperties: false },
);
type AcceptedResource = Static<typeof AcceptedResourceSchema>;

const Options = Type.Object(
  { acceptedResources: Type.Optional(Type.Array(AcceptedResourceSchema)) },
  { additionalProperties: false },
);

function validateOptions(options: Static<typeof Options>, path: string): FieldError[] {
  const at = `${path}.acceptedResources`;
  const errors: FieldError[] = validateAcceptedNamespaced(options.acceptedResources, at);
  (options.acceptedResources ?? []).forEach((entry, i) => {
    const kinds = checkedKinds[entry.apiVersion];
    if (!kinds)
      errors.push({
        field: `${at}[${i}].apiVersion`,
        message: `"${entry.apiVersion}" is not checked by this rule; one of: ${Object.keys(checkedKinds).join(', ')}`,
      });
    else if (entry.kind !== '*' && !kinds.some((k) => k.kind === entry.kind))
      errors.push({
        field: `${at}[${i}].kind`,
        message: `"${entry.kind}" is not a kind of ${entry.apiVersion} this rule checks; one of: ${kinds.map((k) => k.kind).join(', ')}, *`,
      });
  });
  return errors;
}

/** Always accepted, before the user's entries: the Service through which pods reach the API server. */
const apiServerService: AcceptedResource = {
  apiVersion: 'v1',
  kind: 'Service',
  labelSelector: { matchLabels: { component: 'apiserver', provider: 'kubernetes' } },
  namespaceLabelSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'default' } },
  status: 'Passed',
};

const groupOf = (apiVersion: string | undefined): string =>
  apiVersion?.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';

export const rule242383 = defineRule({
  id: '242383',
  name: 'Kubernetes must separate user functionality.',
  severity: 'Medium',
  options: Options,
  validate: validateOptions,
  async run(ctx) {
    const kinds = Object.values(checkedKinds).flat();
    const lists = await listInOrder(kinds.map((k) => ctx.objects.list(k.type)));
    const nsLabels = await namespaceLabels(ctx.objects);
    const entries = [apiServerService, ...(ctx.options?.acceptedResources ?? [])];
    const inSystem = Map.groupBy(
      lists
        .flat()
        .filter(
          (o) =>
            SYSTEM_NAMESPACES_242383.includes(o.metadata?.namespace ?? '') &&
            o.metadata?.labels?.[OPS_POD_ROLE_LABEL] !== OPS_POD_ROLE,
        ),
      (o) => o.metadata?.namespace ?? '',
    );
    const checks: CheckResult[] = [];
    for (const namespace of SYSTEM_NAMESPACES_242383) {
      const objects: KubeObject[] = inSystem.get(namespace) ?? [];
      const uids = new Set(objects.map((o) => o.metadata?.uid).filter((uid) => uid !== undefined));
      for (const obj of objects) {
        if (obj.metadata?.ownerReferences?.some((ref) => uids.has(ref.uid))) continue;
        const target = { kind: obj.kind ?? '', name: obj.metadata?.name ?? '', namespace };
        const acceptance = acceptanceOf(
          entries.filter(
            (e: AcceptedResource) =>
              groupOf(e.apiVersion) === groupOf(obj.apiVersion) && (e.kind === '*' || e.kind === obj.kind),
          ),
          obj.metadata?.labels,
          nsLabels.get(namespace),
        );
        checks.push(
          acceptance
            ? acceptedFinding(
                acceptance,
                acceptance.status === 'Passed'
                  ? 'System resource in a system namespace.'
                  : 'User resource in a system namespace is accepted.',
                target,
              )
            : failed('User resource found in a system namespace.', target),
        );
      }
    }
    return checks;
  },
});
