// The PKI of the node components: owned by root (242451, files and their directories), certificates 644 or
// stricter (242466), keys 640 or stricter (242467; the STIG's text says 600, diki checks 640 and so do we, so
// that the statuses agree). For the kubelet: the serving certificate and key its configuration file names
// when it names both, otherwise the files in its certificate directory (`--cert-dir`, default
// /var/lib/kubelet/pki), on one node per group. For kube-proxy (unless the options say the cluster runs
// none): every matching file in the volumes of one kube-proxy pod per owner.
import Type, { type Static } from 'typebox';
import { errorMessage } from '../../../../util/log.ts';
import { accepted, errored, failed, type CheckResult, type Target } from '../../../engine/result.ts';
import { defineRule, type RuleContext } from '../../../engine/rule.ts';
import type { NodeInspector } from '../../../nodes/node-inspector.ts';
import type { ExecPolicy } from '../../../nodes/ops-pods.ts';
import type { FileStat } from '../../../nodes/parse.ts';
import {
  checkKubeProxyPods,
  checkSelectedNodes,
  dirOf,
  KUBE_PROXY_SKIPPED,
  mountedFiles,
  ownerChecks,
  permissionCheck,
  singleFlag,
} from './node-checks.ts';
import {
  ExpectedFileOwner,
  expectedOwners,
  KubeProxyOptions,
  NodeGroupByLabels,
  validateExpectedFileOwner,
  validateKubeProxySelector,
  validateNodeGroupByLabels,
} from './node-options.ts';

const Options = Type.Object(
  { kubeProxy: Type.Optional(KubeProxyOptions), nodeGroupByLabels: Type.Optional(NodeGroupByLabels) },
  { additionalProperties: false },
);
const OptionsWithOwner = Type.Object(
  {
    kubeProxy: Type.Optional(KubeProxyOptions),
    nodeGroupByLabels: Type.Optional(NodeGroupByLabels),
    expectedFileOwner: Type.Optional(ExpectedFileOwner),
  },
  { additionalProperties: false },
);
type Options = Static<typeof OptionsWithOwner>;

const validate = (options: Options, path: string) => [
  ...validateKubeProxySelector(options.kubeProxy, `${path}.kubeProxy`),
  ...validateNodeGroupByLabels(options.nodeGroupByLabels, `${path}.nodeGroupByLabels`),
  ...validateExpectedFileOwner(options.expectedFileOwner, `${path}.expectedFileOwner`),
];

const DEFAULT_CERT_DIR = '/var/lib/kubelet/pki';

type Which = 'key' | 'cert' | 'both';
const SUFFIXES: Record<Which, string[]> = {
  key: ['.key', '.pem'],
  cert: ['.crt', '.pem'],
  both: ['.crt', '.pem', '.key'],
};
const matches = (path: string, which: Which): boolean => SUFFIXES[which].some((s) => path.endsWith(s));

/** The kubelet's PKI files on a node, with checks for what is misconfigured or missing. */
async function kubeletPki(
  inspector: NodeInspector,
  target: Target,
  policy: ExecPolicy,
  which: Which,
): Promise<{ stats: FileStat[]; checks: CheckResult[] }> {
  const file = await inspector.kubeletConfigFile(policy);
  if (!file) throw new Error('The kubelet runs without a --config file; its PKI files cannot be found.');
  const key = file.config.tlsPrivateKeyFile;
  const cert = file.config.tlsCertFile;
  const stats: FileStat[] = [];
  const checks: CheckResult[] = [];
  if (typeof key === 'string' && typeof cert === 'string') {
    const wanted: [string, string][] = [];
    if (which !== 'cert') wanted.push(['tlsPrivateKeyFile', key]);
    if (which !== 'key') wanted.push(['tlsCertFile', cert]);
    for (const [option, path] of wanted) {
      if (path === '') {
        checks.push(
          failed(`The kubelet configuration sets ${option} to an empty value; the file cannot be found.`, target),
        );
        continue;
      }
      try {
        stats.push(await inspector.statFile(path, policy));
      } catch (err) {
        policy.signal.throwIfAborted();
        checks.push(errored(errorMessage(err), target));
      }
    }
    return { stats, checks };
  }
  const { argv } = await inspector.kubelet(policy);
  const dir = singleFlag(argv, 'cert-dir', 'kubelet') ?? DEFAULT_CERT_DIR;
  if (dir === '') throw new Error('The kubelet flag --cert-dir is empty.');
  const files = await inspector.filesUnder(dir, policy);
  if (files === undefined) throw new Error(`The kubelet certificate directory ${dir} does not exist on the node.`);
  const selected = files.filter((f) => matches(f.path, which));
  if (selected.length === 0)
    return {
      stats,
      checks: [
        errored(`The kubelet certificate directory holds no ${SUFFIXES[which].join(', ')} files.`, {
          ...target,
          directory: dir,
        }),
      ],
    };
  return { stats: selected, checks };
}

/** The node-level and kube-proxy halves of a PKI rule. */
async function pkiRule(
  ctx: RuleContext<Options, unknown>,
  which: Which,
  check: (stats: FileStat[], target: Target, inspector: NodeInspector, policy: ExecPolicy) => Promise<CheckResult[]>,
): Promise<CheckResult[]> {
  const options = ctx.options;
  const kubelet = await checkSelectedNodes(ctx, options?.nodeGroupByLabels, async (inspector, target, { policy }) => {
    const { stats, checks } = await kubeletPki(inspector, target, policy, which);
    return [...checks, ...(await check(stats, target, inspector, policy))];
  });
  if (options?.kubeProxy?.disabled) return [...kubelet, accepted(KUBE_PROXY_SKIPPED)];
  const kubeProxy = await checkKubeProxyPods(ctx, options?.kubeProxy, async (proxy) => {
    const { files, problems } = await mountedFiles(proxy);
    const checks: CheckResult[] = problems.map((p) => errored(p, proxy.target));
    const byContainer = Map.groupBy(
      files.filter((f) => matches(f.stat.path, which)),
      (f) => f.container,
    );
    for (const [container, entries] of byContainer)
      checks.push(
        ...(await check(
          entries.map((e) => e.stat),
          { ...proxy.target, containerName: container },
          proxy.inspector,
          proxy.access.policy,
        )),
      );
    return checks;
  });
  return [...kubelet, ...kubeProxy];
}

/** Owner checks of the files and of the directories that hold them. */
async function ownersOfFilesAndDirs(
  stats: FileStat[],
  target: Target,
  inspector: NodeInspector,
  policy: ExecPolicy,
  owners: { users: string[]; groups: string[] },
): Promise<CheckResult[]> {
  const checks = stats.flatMap((stat) => ownerChecks(stat, owners, target));
  const dirs = [...new Set(stats.map((s) => dirOf(s.path)))].sort();
  const dirStats = await inspector.stat(dirs, policy);
  for (const dir of dirs) {
    const stat = dirStats.get(dir);
    if (stat) checks.push(...ownerChecks(stat, owners, target));
    else checks.push(errored(`The directory ${dir} does not exist on the node.`, target));
  }
  return checks;
}

const rule242451 = defineRule({
  id: '242451',
  name: 'The Kubernetes component PKI must be owned by root.',
  severity: 'Medium',
  live: true,
  options: OptionsWithOwner,
  validate,
  run: (ctx) => {
    const owners = expectedOwners(ctx.options?.expectedFileOwner);
    return pkiRule(ctx, 'both', (stats, target, inspector, policy) =>
      ownersOfFilesAndDirs(stats, target, inspector, policy, owners),
    );
  },
});

const rule242466 = defineRule({
  id: '242466',
  name: 'The Kubernetes PKI CRT must have file permissions set to 644 or more restrictive.',
  severity: 'Medium',
  live: true,
  options: Options,
  validate,
  run: (ctx) =>
    pkiRule(ctx, 'cert', async (stats, target) => stats.map((stat) => permissionCheck(stat, '644', target))),
});

const rule242467 = defineRule({
  id: '242467',
  name: 'The Kubernetes PKI keys must have file permissions set to 600 or more restrictive.',
  severity: 'Medium',
  live: true,
  options: Options,
  validate,
  run: (ctx) => pkiRule(ctx, 'key', async (stats, target) => stats.map((stat) => permissionCheck(stat, '640', target))),
});

export const pkiFileRules = [rule242451, rule242466, rule242467];
