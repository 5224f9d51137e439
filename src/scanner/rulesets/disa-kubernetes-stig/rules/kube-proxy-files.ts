// 242447/242448: the kubeconfig kube-proxy uses (its `--kubeconfig`, or the `clientConnection.kubeconfig` of
// its `--config` file) and that config file must be 644 or stricter and owned by root. One kube-proxy pod per
// owner is checked on its node, its container paths mapped to node paths through the pod's volumes; a
// kube-proxy that uses the in-cluster configuration passes.
import Type, { type Static } from 'typebox';
import { parse as parseYaml } from 'yaml';
import { passed, type CheckResult } from '../../../engine/result.ts';
import { defineRule } from '../../../engine/rule.ts';
import type { FileStat } from '../../../nodes/parse.ts';
import { LabelSelectorSchema } from '../../shared/selectors.ts';
import type { ObjectSelector } from './common.ts';
import {
  checkKubeProxyPods,
  containerPathOnNode,
  kubeletRootDir,
  kubeProxyContainer,
  ownerChecks,
  permissionCheck,
  singleFlag,
  type KubeProxyPod,
} from './node-checks.ts';
import {
  ExpectedFileOwner,
  expectedOwners,
  validateExpectedFileOwner,
  validateKubeProxySelector,
} from './node-options.ts';

const MatchLabels = Type.Record(Type.String(), Type.String());
const Options242447 = Type.Object(
  { labelSelector: Type.Optional(LabelSelectorSchema), matchLabels: Type.Optional(MatchLabels) },
  { additionalProperties: false },
);
const Options242448 = Type.Object(
  {
    labelSelector: Type.Optional(LabelSelectorSchema),
    matchLabels: Type.Optional(MatchLabels),
    expectedFileOwner: Type.Optional(ExpectedFileOwner),
  },
  { additionalProperties: false },
);

/** The selector the options give, or undefined for the default (`role: proxy`). */
const selectorOf = (options: Static<typeof Options242447> | undefined): ObjectSelector | undefined =>
  options?.labelSelector || options?.matchLabels
    ? {
        ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
        ...(options.matchLabels ? { matchLabels: options.matchLabels } : {}),
      }
    : undefined;

export const IN_CLUSTER_KUBECONFIG = 'kube-proxy uses the in-cluster configuration, no kubeconfig file.';

/** kube-proxy's config file and kubeconfig on its node, or a check when it uses the in-cluster configuration. */
async function kubeProxyFiles(proxy: KubeProxyPod): Promise<FileStat[] | CheckResult[]> {
  const { pod, target, inspector, access } = proxy;
  const { container, argv } = kubeProxyContainer(pod);
  let kubeconfig = singleFlag(argv, 'kubeconfig', 'kube-proxy');
  const config = singleFlag(argv, 'config', 'kube-proxy');
  const root = await kubeletRootDir(inspector, access);
  const paths: string[] = [];
  if (config) {
    const configOnNode = containerPathOnNode(pod, container, config, root);
    paths.push(configOnNode);
    // Without --kubeconfig, kube-proxy takes the kubeconfig its configuration file names.
    if (!kubeconfig) {
      const text = await inspector.read(configOnNode, access.policy);
      if (text === undefined) throw new Error(`The kube-proxy configuration file ${configOnNode} is not on the node.`);
      const parsed = parseYaml(text) as { clientConnection?: { kubeconfig?: unknown } } | null;
      const named = parsed?.clientConnection?.kubeconfig;
      kubeconfig = typeof named === 'string' ? named : undefined;
    }
  }
  if (!kubeconfig) return [passed(IN_CLUSTER_KUBECONFIG, target)];
  paths.push(containerPathOnNode(pod, container, kubeconfig, root));
  const stats: FileStat[] = [];
  for (const path of paths) stats.push(await inspector.statFile(path, access.policy));
  return stats;
}

const isChecks = (x: FileStat[] | CheckResult[]): x is CheckResult[] => x.length > 0 && 'status' in x[0]!;

const rule242447 = defineRule({
  id: '242447',
  name: 'The Kubernetes Kube Proxy kubeconfig must have file permissions set to 644 or more restrictive.',
  severity: 'Medium',
  live: true,
  options: Options242447,
  validate: (options, path) => validateKubeProxySelector(options, path),
  run: (ctx) =>
    checkKubeProxyPods(ctx, selectorOf(ctx.options), async (proxy) => {
      const files = await kubeProxyFiles(proxy);
      if (isChecks(files)) return files;
      return files.map((stat) => permissionCheck(stat, '644', proxy.target));
    }),
});

const rule242448 = defineRule({
  id: '242448',
  name: 'The Kubernetes Kube Proxy kubeconfig must be owned by root.',
  severity: 'Medium',
  live: true,
  options: Options242448,
  validate: (options, path) => [
    ...validateKubeProxySelector(options, path),
    ...validateExpectedFileOwner(options.expectedFileOwner, `${path}.expectedFileOwner`),
  ],
  run: (ctx) => {
    const owners = expectedOwners(ctx.options?.expectedFileOwner);
    return checkKubeProxyPods(ctx, selectorOf(ctx.options), async (proxy) => {
      const files = await kubeProxyFiles(proxy);
      if (isChecks(files)) return files;
      return files.flatMap((stat) => ownerChecks(stat, owners, proxy.target));
    });
  },
});

export const kubeProxyFileRules = [rule242447, rule242448];
