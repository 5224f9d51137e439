// 2004: Services are not of type NodePort, which opens a port on every node.
import type { V1Service } from '@kubernetes/client-node';
import Type from 'typebox';
import { defineRule } from '../../../engine/rule.ts';
import { failed, passed, type CheckResult } from '../../../engine/result.ts';
import { Kinds } from '../../../objects/kinds.ts';
import { namespaceLabels } from '../../shared/pods.ts';
import {
  acceptanceOf,
  acceptedFinding,
  AcceptedNamespacedObjectSchema,
  validateAcceptedNamespaced,
} from '../../shared/selectors.ts';

const Options = Type.Object(
  { acceptedServices: Type.Optional(Type.Array(AcceptedNamespacedObjectSchema)) },
  { additionalProperties: false },
);

export const rule2004 = defineRule({
  id: '2004',
  name: 'Limit the Services of type NodePort.',
  severity: 'Medium',
  options: Options,
  validate: (options, path) => validateAcceptedNamespaced(options.acceptedServices, `${path}.acceptedServices`),
  async run(ctx) {
    const services = await ctx.objects.list<V1Service>(Kinds.services);
    if (services.length === 0) return [passed('There are no Services in the cluster.')];
    const nsLabels = await namespaceLabels(ctx.objects);
    return services.map((svc): CheckResult => {
      const target = { kind: 'Service', name: svc.metadata?.name ?? '', namespace: svc.metadata?.namespace ?? '' };
      if (svc.spec?.type !== 'NodePort') return passed('Service is not of type NodePort.', target);
      const acceptance = acceptanceOf(
        ctx.options?.acceptedServices,
        svc.metadata?.labels,
        nsLabels.get(svc.metadata?.namespace ?? ''),
      );
      return acceptance
        ? acceptedFinding(acceptance, 'NodePort Service is accepted.', target)
        : failed('Service is of type NodePort.', target);
    });
  },
});
