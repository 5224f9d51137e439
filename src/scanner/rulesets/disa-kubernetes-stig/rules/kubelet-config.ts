// The rules that read each node's running kubelet configuration through `nodes/<name>/proxy/configz`, with
// diki's semantics: every node is checked (configz needs no ops pod); a node that is not Ready is a Warning,
// a node whose configz cannot be read is Errored for that node only, no nodes at all is a Warning. 242400
// also checks that kube-proxy does not enable all alpha features (its flags, or its config file through the
// ops pod of its node), unless the options say the cluster runs no kube-proxy.
import type { V1Node } from '@kubernetes/client-node';
import Type from 'typebox';
import { parse as parseYaml } from 'yaml';
import type { KubeletConfiguration } from '../../../../kube/kubelet.ts';
import { errorMessage } from '../../../../util/log.ts';
import {
  accepted,
  errored,
  failed,
  passed,
  warning,
  type CheckResult,
  type Severity,
  type Target,
} from '../../../engine/result.ts';
import { defineRule, type RuleContext } from '../../../engine/rule.ts';
import { withNodeAccess } from '../../../nodes/access.ts';
import { flagValues, formatGoDuration, innerValues, parseGoDuration } from '../../../nodes/parse.ts';
import { isNodeReady, NODE_NOT_READY, nodeTarget } from '../../../nodes/selection.ts';
import { Kinds } from '../../../objects/kinds.ts';
import { ObjectReadError } from '../../../objects/source.ts';
import {
  checkKubeProxyPods,
  containerPathOnNode,
  KUBE_PROXY_SKIPPED,
  kubeletRootDir,
  kubeProxyContainer,
  singleFlag,
  type KubeProxyPod,
} from './node-checks.ts';
import { KubeProxyOptions, validateKubeProxySelector } from './node-options.ts';

export const NO_NODES = 'The cluster has no nodes.';

const notSet = (option: string): string => `The kubelet does not set ${option}.`;
const allowed = (option: string): string => `The kubelet sets ${option} to an allowed value.`;
const notAllowed = (option: string): string => `The kubelet sets ${option} to a value that is not allowed.`;
const withDetails = (target: Target, details: string): Target => ({ ...target, details });

type Evaluate = (config: KubeletConfiguration, target: Target) => CheckResult;

/** One check per node from its kubelet configuration (Warning when not Ready, Errored when unreadable). */
async function configzChecks(ctx: RuleContext, evaluate: Evaluate): Promise<CheckResult[]> {
  const nodes = await ctx.objects.list<V1Node>(Kinds.nodes);
  if (nodes.length === 0) return [warning(NO_NODES)];
  return withNodeAccess(ctx, (access) =>
    Promise.all(
      nodes.map(async (node) => {
        const name = node.metadata?.name ?? '';
        const target = nodeTarget(name);
        if (!isNodeReady(node)) return warning(NODE_NOT_READY, target);
        let config: KubeletConfiguration;
        try {
          config = await access.kubeletConfigs.get(name, ctx.signal);
        } catch (err) {
          ctx.signal.throwIfAborted();
          return errored(errorMessage(err), target);
        }
        return evaluate(config, target);
      }),
    ),
  );
}

const configzRule = (id: string, name: string, severity: Severity, evaluate: Evaluate) =>
  defineRule({ id, name, severity, live: true, run: (ctx) => configzChecks(ctx, evaluate) });

/** Checks of a file option: set to a non-blank path passes. */
function fileOption(option: string, value: string | undefined, target: Target): CheckResult {
  if (value === undefined) return failed(notSet(option), target);
  if (value.trim() === '') return failed(`The kubelet sets ${option} to an empty value.`, target);
  return passed(`The kubelet sets ${option}.`, target);
}

/** 242424/242425: a kubelet that bootstraps and rotates its serving certificate needs no files configured. */
function servingCertificateOption(option: 'tlsPrivateKeyFile' | 'tlsCertFile'): Evaluate {
  return (config, target) => {
    const bootstrap = config.serverTLSBootstrap ?? false;
    const rotate = config.featureGates?.RotateKubeletServerCertificate ?? true;
    if (bootstrap && rotate)
      return passed(
        'The kubelet bootstraps and rotates its serving certificate itself (serverTLSBootstrap, RotateKubeletServerCertificate).',
        target,
      );
    return fileOption(option, config[option], target);
  };
}

const FIVE_MINUTES = 5 * 60e9;
const FOUR_HOURS = 4 * 3600e9;

const rule242387 = configzRule(
  '242387',
  'The Kubernetes Kubelet must have the "readOnlyPort" flag disabled.',
  'High',
  (config, target) => {
    const option = 'readOnlyPort';
    // Unset means the kubelet's default, which is disabled.
    if (config.readOnlyPort === undefined) return passed(notSet(option), target);
    if (config.readOnlyPort === 0) return passed(allowed(option), target);
    return failed(notAllowed(option), withDetails(target, `readOnlyPort: ${config.readOnlyPort}`));
  },
);

const rule242391 = configzRule(
  '242391',
  'The Kubernetes Kubelet must have anonymous authentication disabled.',
  'High',
  (config, target) => {
    const option = 'authentication.anonymous.enabled';
    const enabled = config.authentication?.anonymous?.enabled;
    if (enabled === undefined) return failed(notSet(option), target);
    return enabled ? failed(notAllowed(option), target) : passed(allowed(option), target);
  },
);

const rule242392 = configzRule(
  '242392',
  'The Kubernetes kubelet must enable explicit authorization.',
  'High',
  (config, target) => {
    const option = 'authorization.mode';
    const mode = config.authorization?.mode;
    if (mode === undefined) return failed(notSet(option), target);
    if (mode !== 'Webhook') return failed(notAllowed(option), withDetails(target, `authorization.mode: ${mode}`));
    return passed(allowed(option), target);
  },
);

const rule242397 = configzRule(
  '242397',
  'Kubernetes kubelet static PodPath must not enable static pods.',
  'High',
  (config, target) => {
    const option = 'staticPodPath';
    if (config.staticPodPath === undefined) return passed(notSet(option), target);
    return failed(`The kubelet sets ${option}.`, withDetails(target, `staticPodPath: ${config.staticPodPath}`));
  },
);

const rule242420 = configzRule(
  '242420',
  'Kubernetes Kubelet must have the SSL Certificate Authority set.',
  'Medium',
  (config, target) => fileOption('authentication.x509.clientCAFile', config.authentication?.x509?.clientCAFile, target),
);

const rule242424 = configzRule(
  '242424',
  'Kubernetes Kubelet must enable tlsPrivateKeyFile for client authentication to secure service.',
  'Medium',
  servingCertificateOption('tlsPrivateKeyFile'),
);

const rule242425 = configzRule(
  '242425',
  'Kubernetes Kubelet must enable tlsCertFile for client authentication to secure service.',
  'Medium',
  servingCertificateOption('tlsCertFile'),
);

const rule242434 = configzRule(
  '242434',
  'Kubernetes Kubelet must enable kernel protection.',
  'High',
  (config, target) => {
    const option = 'protectKernelDefaults';
    // Unset means the kubelet's default, false.
    if (config.protectKernelDefaults === undefined) return failed(notSet(option), target);
    return config.protectKernelDefaults ? passed(allowed(option), target) : failed(notAllowed(option), target);
  },
);

const rule245541 = configzRule(
  '245541',
  'Kubernetes Kubelet must not disable timeouts.',
  'Medium',
  (config, target) => {
    const option = 'streamingConnectionIdleTimeout';
    const value = config.streamingConnectionIdleTimeout;
    // Unset means the kubelet's default of 4h, which the STIG does not want left implicit.
    if (value === undefined) return failed(notSet(option), target);
    let ns: number;
    try {
      ns = parseGoDuration(value);
    } catch (err) {
      return errored(errorMessage(err), target);
    }
    const detailed = withDetails(target, `${option}: ${formatGoDuration(ns)}`);
    if (ns === FIVE_MINUTES) return passed(allowed(option), target);
    if (ns > FIVE_MINUTES && ns <= FOUR_HOURS)
      return passed(`The kubelet sets ${option} to an allowed value, though 5m is recommended.`, detailed);
    return failed(notAllowed(option), detailed);
  },
);

// --- 242400: no alpha features on the kubelet and on kube-proxy ---------------------------------------------

const ALL_ALPHA = 'featureGates.AllAlpha';

const Options242400 = Type.Object({ kubeProxy: Type.Optional(KubeProxyOptions) }, { additionalProperties: false });

/** kube-proxy's AllAlpha gate from its config file (`--config`) or else its `--feature-gates` flag. */
async function kubeProxyAllAlpha(proxy: KubeProxyPod): Promise<CheckResult> {
  const { pod, target, inspector, access } = proxy;
  const { container, argv } = kubeProxyContainer(pod);
  const configPath = singleFlag(argv, 'config', 'kube-proxy');
  let allAlpha: boolean | undefined;
  if (configPath) {
    const nodePath = containerPathOnNode(pod, container, configPath, await kubeletRootDir(inspector, access));
    const text = await inspector.read(nodePath, access.policy);
    if (text === undefined) throw new Error(`The kube-proxy configuration file ${nodePath} is not on the node.`);
    const config = parseYaml(text) as { featureGates?: Record<string, unknown> } | null;
    const value = config?.featureGates?.AllAlpha;
    if (value !== undefined && typeof value !== 'boolean')
      return warning(`kube-proxy sets ${ALL_ALPHA} to something other than true or false.`, target);
    allAlpha = value;
  } else {
    const values = innerValues(flagValues(argv, 'feature-gates'), 'AllAlpha');
    if (values.length > 1) return warning(`kube-proxy sets ${ALL_ALPHA} more than once on its command line.`, target);
    if (values[0] !== undefined && values[0] !== 'true' && values[0] !== 'false')
      return warning(`kube-proxy sets ${ALL_ALPHA} to something other than true or false.`, target);
    allAlpha = values[0] === undefined ? undefined : values[0] === 'true';
  }
  if (allAlpha === undefined) return passed(`kube-proxy does not set ${ALL_ALPHA}.`, target);
  return allAlpha
    ? failed(`kube-proxy sets ${ALL_ALPHA} to a value that is not allowed.`, target)
    : passed(`kube-proxy sets ${ALL_ALPHA} to an allowed value.`, target);
}

const rule242400 = defineRule({
  id: '242400',
  name: 'The Kubernetes API server must have Alpha APIs disabled.',
  severity: 'Medium',
  live: true,
  options: Options242400,
  validate: (options, path) => validateKubeProxySelector(options.kubeProxy, `${path}.kubeProxy`),
  async run(ctx) {
    const kubelet = await configzChecks(ctx, (config, target) => {
      const allAlpha = config.featureGates?.AllAlpha;
      if (allAlpha === undefined) return passed(notSet(ALL_ALPHA), target);
      return allAlpha ? failed(notAllowed(ALL_ALPHA), target) : passed(allowed(ALL_ALPHA), target);
    });
    // With no nodes there is nothing to check on them, kube-proxy included (diki stops there too).
    if (kubelet.length === 1 && kubelet[0]!.message === NO_NODES) return kubelet;
    const kubeProxy = ctx.options?.kubeProxy;
    if (kubeProxy?.disabled) return [...kubelet, accepted(KUBE_PROXY_SKIPPED)];
    try {
      return [...kubelet, ...(await checkKubeProxyPods(ctx, kubeProxy, async (p) => [await kubeProxyAllAlpha(p)]))];
    } catch (err) {
      // The kubelet checks stand when the pods cannot be listed.
      if (err instanceof ObjectReadError) return [...kubelet, errored(err.message, { kind: `${err.kind}List` })];
      throw err;
    }
  },
});

export const kubeletConfigRules = [
  rule242387,
  rule242391,
  rule242392,
  rule242397,
  rule242400,
  rule242420,
  rule242424,
  rule242425,
  rule242434,
  rule245541,
];
