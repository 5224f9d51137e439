// 242395: the Kubernetes dashboard is not deployed (no pod labelled `k8s-app: kubernetes-dashboard`).
import type { V1Pod } from '@kubernetes/client-node';
import { defineRule } from '../../../engine/rule.ts';
import { failed, passed } from '../../../engine/result.ts';
import { Kinds } from '../../../objects/kinds.ts';

export const DASHBOARD_LABEL = { key: 'k8s-app', value: 'kubernetes-dashboard' };

export const rule242395 = defineRule({
  id: '242395',
  name: 'Kubernetes dashboard must not be enabled.',
  severity: 'Medium',
  async run(ctx) {
    const pods = await ctx.objects.list<V1Pod>(Kinds.pods);
    const dashboards = pods.filter((p) => p.metadata?.labels?.[DASHBOARD_LABEL.key] === DASHBOARD_LABEL.value);
    if (dashboards.length === 0) return [passed('The Kubernetes dashboard is not deployed.')];
    return dashboards.map((p) =>
      failed('Kubernetes dashboard pod found.', {
        kind: 'Pod',
        name: p.metadata?.name ?? '',
        namespace: p.metadata?.namespace ?? '',
      }),
    );
  },
});
