// 2002: StorageClasses delete a volume when its claim is released (reclaimPolicy Delete), so data does not
// outlive the workload that owned it. The API server defaults an unset policy to Delete, so a manifest without
// one (offline scans) counts as Delete.
import type { V1StorageClass } from '@kubernetes/client-node';
import Type from 'typebox';
import { defineRule } from '../../../engine/rule.ts';
import { failed, passed, type CheckResult } from '../../../engine/result.ts';
import { Kinds } from '../../../objects/kinds.ts';
import {
  AcceptedClusterObjectSchema,
  acceptedFinding,
  clusterAcceptanceOf,
  validateAcceptedCluster,
} from '../../shared/selectors.ts';

const Options = Type.Object(
  { acceptedStorageClasses: Type.Optional(Type.Array(AcceptedClusterObjectSchema)) },
  { additionalProperties: false },
);

export const rule2002 = defineRule({
  id: '2002',
  name: 'Storage Classes should have a "Delete" reclaim policy.',
  severity: 'Medium',
  options: Options,
  validate: (options, path) =>
    validateAcceptedCluster(options.acceptedStorageClasses, `${path}.acceptedStorageClasses`),
  async run(ctx) {
    const storageClasses = await ctx.objects.list<V1StorageClass>(Kinds.storageClasses);
    if (storageClasses.length === 0) return [passed('There are no StorageClasses in the cluster.')];
    return storageClasses.map((sc): CheckResult => {
      const target = { kind: 'StorageClass', name: sc.metadata?.name ?? '' };
      if ((sc.reclaimPolicy ?? 'Delete') === 'Delete') return passed('StorageClass deletes released volumes.', target);
      const acceptance = clusterAcceptanceOf(ctx.options?.acceptedStorageClasses, sc.metadata?.labels);
      return acceptance
        ? acceptedFinding(acceptance, 'StorageClass is accepted to keep released volumes.', target)
        : failed('StorageClass does not delete released volumes (reclaimPolicy is not Delete).', target);
    });
  },
});
