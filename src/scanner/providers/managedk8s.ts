// Provider `managedk8s`: any Kubernetes cluster, reached by kubeconfig/context or in-cluster config, or read
// offline from a snapshot. Args follow diki's so configs carry over.
import Type from 'typebox';
import type { ProviderDefinition } from '../engine/config.ts';

export const ManagedK8sArgs = Type.Object(
  {
    kubeconfigPath: Type.Optional(Type.String()),
    /** Extra labels on the privileged ops pods node-file rules start. */
    additionalOpsPodLabels: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: false },
);

export const managedK8s: ProviderDefinition = {
  id: 'managedk8s',
  name: 'Managed Kubernetes',
  args: ManagedK8sArgs,
};
