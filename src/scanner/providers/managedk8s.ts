// Provider `managedk8s`: any Kubernetes cluster, reached by kubeconfig/context or in-cluster config, or read
// offline from a snapshot. Args follow diki's so configs carry over.
import Type from 'typebox';
import type { ProviderDefinition } from '../engine/config.ts';

export const ManagedK8sArgs = Type.Object(
  {
    kubeconfigPath: Type.Optional(Type.String()),
    /** Extra labels on the privileged ops pods node-file rules start. */
    additionalOpsPodLabels: Type.Optional(Type.Record(Type.String(), Type.String())),
    /** Image of the ops pods (default `argus`): the Argus image, whose entrypoint is `argus`, with a POSIX shell. */
    opsPodImage: Type.Optional(Type.String({ minLength: 1 })),
    /** Namespace of the ops pods (default `kube-system`, as diki). */
    opsPodNamespace: Type.Optional(
      Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' }),
    ),
  },
  { additionalProperties: false },
);

export const managedK8s: ProviderDefinition = {
  id: 'managedk8s',
  name: 'Managed Kubernetes',
  args: ManagedK8sArgs,
};
