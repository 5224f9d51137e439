// Node rules about the kubelet's own files: its systemd unit and configuration file (242406 owner, 242407
// permissions), its client CA file (242449 permissions, 242450 owner) and its kubeconfig and configuration
// file (242452 permissions, 242453 owner). Paths come from the running kubelet's command line and its
// configuration file as the node has them; files are checked where they are on the node.
import Type, { type Static } from 'typebox';
import { errorMessage } from '../../../../util/log.ts';
import { errored, failed, passed, type CheckResult, type Target } from '../../../engine/result.ts';
import { defineRule } from '../../../engine/rule.ts';
import type { NodeInspector } from '../../../nodes/node-inspector.ts';
import type { ExecPolicy } from '../../../nodes/ops-pods.ts';
import type { FileStat } from '../../../nodes/parse.ts';
import { checkSelectedNodes, ownerChecks, permissionCheck, singleFlag } from './node-checks.ts';
import {
  ExpectedFileOwner,
  expectedOwners,
  NodeGroupByLabels,
  validateExpectedFileOwner,
  validateNodeGroupByLabels,
} from './node-options.ts';

const Grouped = Type.Object({ nodeGroupByLabels: Type.Optional(NodeGroupByLabels) }, { additionalProperties: false });
const GroupedWithOwner = Type.Object(
  { nodeGroupByLabels: Type.Optional(NodeGroupByLabels), expectedFileOwner: Type.Optional(ExpectedFileOwner) },
  { additionalProperties: false },
);
type GroupedWithOwner = Static<typeof GroupedWithOwner>;

const validateGrouped = (options: Static<typeof Grouped>, path: string) =>
  validateNodeGroupByLabels(options.nodeGroupByLabels, `${path}.nodeGroupByLabels`);
const validateGroupedWithOwner = (options: GroupedWithOwner, path: string) => [
  ...validateNodeGroupByLabels(options.nodeGroupByLabels, `${path}.nodeGroupByLabels`),
  ...validateExpectedFileOwner(options.expectedFileOwner, `${path}.expectedFileOwner`),
];

/** Where systemd looks for a unit, in its order of precedence: the first found is the one in use. */
export const KUBELET_UNIT_PATHS = [
  '/etc/systemd/system/kubelet.service',
  '/run/systemd/system/kubelet.service',
  '/usr/lib/systemd/system/kubelet.service',
  '/lib/systemd/system/kubelet.service',
];

/** A file to check, or why it could not be found. */
type Found = { stat: FileStat } | { error: string };

/** Stats of `paths` (missing files are errors). */
async function statAll(inspector: NodeInspector, paths: string[], policy: ExecPolicy): Promise<Found[]> {
  const stats = await inspector.stat(paths, policy);
  return paths.map((path) => {
    const stat = stats.get(path);
    return stat ? { stat } : { error: `The file ${path} does not exist on the node.` };
  });
}

const checkFound = (found: Found[], target: Target, check: (stat: FileStat) => CheckResult[]): CheckResult[] =>
  found.flatMap((f) => ('stat' in f ? check(f.stat) : [errored(f.error, target)]));

/**
 * 242406/242407: the kubelet's systemd unit (as diki, which asks systemd for it) and the configuration file
 * its `--config` names (as the STIG's check text). A node without systemd has only the latter.
 */
async function kubeletServiceFiles(inspector: NodeInspector, policy: ExecPolicy): Promise<Found[]> {
  const units = await inspector.stat(KUBELET_UNIT_PATHS, policy);
  const unit = KUBELET_UNIT_PATHS.map((p) => units.get(p)).find((s) => s !== undefined);
  const found: Found[] = unit ? [{ stat: unit }] : [];
  try {
    const { argv } = await inspector.kubelet(policy);
    const config = singleFlag(argv, 'config', 'kubelet');
    if (config) found.push(...(await statAll(inspector, [config], policy)));
  } catch (err) {
    policy.signal.throwIfAborted();
    if (!unit) throw err;
    found.push({ error: errorMessage(err) });
  }
  if (found.length === 0) throw new Error('Neither a kubelet systemd unit nor a kubelet --config file was found.');
  return found;
}

const rule242406 = defineRule({
  id: '242406',
  name: 'Kubernetes kubelet configuration file must be owned by root.',
  severity: 'Medium',
  live: true,
  options: GroupedWithOwner,
  validate: validateGroupedWithOwner,
  run: (ctx) => {
    const owners = expectedOwners(ctx.options?.expectedFileOwner);
    return checkSelectedNodes(ctx, ctx.options?.nodeGroupByLabels, async (inspector, target, { policy }) =>
      checkFound(await kubeletServiceFiles(inspector, policy), target, (stat) => ownerChecks(stat, owners, target)),
    );
  },
});

const rule242407 = defineRule({
  id: '242407',
  name: 'The Kubernetes KubeletConfiguration files must have file permissions set to 644 or more restrictive.',
  severity: 'Medium',
  live: true,
  options: Grouped,
  validate: validateGrouped,
  run: (ctx) =>
    checkSelectedNodes(ctx, ctx.options?.nodeGroupByLabels, async (inspector, target, { policy }) =>
      checkFound(await kubeletServiceFiles(inspector, policy), target, (stat) => [
        permissionCheck(stat, '644', target),
      ]),
    ),
});

/** 242449/242450: the client CA file the kubelet's configuration file names; unset or empty fails. */
async function clientCAFile(
  inspector: NodeInspector,
  target: Target,
  policy: ExecPolicy,
): Promise<Found[] | CheckResult[]> {
  const file = await inspector.kubeletConfigFile(policy);
  if (!file) throw new Error('The kubelet runs without a --config file; its client CA file cannot be found.');
  const ca = (file.config.authentication as { x509?: { clientCAFile?: unknown } } | undefined)?.x509?.clientCAFile;
  const at = { ...target, details: `config: ${file.path}` };
  if (ca === undefined || ca === null)
    return [failed('The kubelet configuration sets no client CA file (authentication.x509.clientCAFile).', at)];
  if (typeof ca !== 'string' || ca.trim() === '')
    return [failed('The kubelet configuration sets an empty client CA file (authentication.x509.clientCAFile).', at)];
  return statAll(inspector, [ca.trim()], policy);
}

const isChecks = (x: Found[] | CheckResult[]): x is CheckResult[] => x.length > 0 && 'status' in x[0]!;

const rule242449 = defineRule({
  id: '242449',
  name: 'The Kubernetes Kubelet certificate authority file must have file permissions set to 644 or more restrictive.',
  severity: 'Medium',
  live: true,
  options: Grouped,
  validate: validateGrouped,
  run: (ctx) =>
    checkSelectedNodes(ctx, ctx.options?.nodeGroupByLabels, async (inspector, target, { policy }) => {
      const found = await clientCAFile(inspector, target, policy);
      if (isChecks(found)) return found;
      return checkFound(found, target, (stat) => [permissionCheck(stat, '644', target)]);
    }),
});

const rule242450 = defineRule({
  id: '242450',
  name: 'The Kubernetes Kubelet certificate authority must be owned by root.',
  severity: 'Medium',
  live: true,
  options: GroupedWithOwner,
  validate: validateGroupedWithOwner,
  run: (ctx) => {
    const owners = expectedOwners(ctx.options?.expectedFileOwner);
    return checkSelectedNodes(ctx, ctx.options?.nodeGroupByLabels, async (inspector, target, { policy }) => {
      const found = await clientCAFile(inspector, target, policy);
      if (isChecks(found)) return found;
      return checkFound(found, target, (stat) => ownerChecks(stat, owners, target));
    });
  },
});

/**
 * 242452/242453: the kubelet's `--kubeconfig` (a kubelet without one fails) and its `--config` file (a kubelet
 * without one passes for it).
 */
async function kubeletKubeconfigAndConfig(
  inspector: NodeInspector,
  target: Target,
  policy: ExecPolicy,
  check: (stat: FileStat) => CheckResult[],
): Promise<CheckResult[]> {
  const { argv } = await inspector.kubelet(policy);
  const checks: CheckResult[] = [];
  const paths: string[] = [];
  for (const flag of ['kubeconfig', 'config']) {
    let path: string | undefined;
    try {
      path = singleFlag(argv, flag, 'kubelet');
    } catch (err) {
      checks.push(errored(errorMessage(err), target));
      continue;
    }
    if (path) paths.push(path);
    else if (flag === 'kubeconfig') checks.push(failed('The kubelet runs without --kubeconfig.', target));
    else checks.push(passed('The kubelet runs without a --config file.', target));
  }
  return [...checks, ...checkFound(await statAll(inspector, paths, policy), target, check)];
}

const rule242452 = defineRule({
  id: '242452',
  name: 'The Kubernetes kubelet KubeConfig must have file permissions set to 644 or more restrictive.',
  severity: 'Medium',
  live: true,
  options: Grouped,
  validate: validateGrouped,
  run: (ctx) =>
    checkSelectedNodes(ctx, ctx.options?.nodeGroupByLabels, (inspector, target, { policy }) =>
      kubeletKubeconfigAndConfig(inspector, target, policy, (stat) => [permissionCheck(stat, '644', target)]),
    ),
});

const rule242453 = defineRule({
  id: '242453',
  name: 'The Kubernetes kubelet KubeConfig file must be owned by root.',
  severity: 'Medium',
  live: true,
  options: GroupedWithOwner,
  validate: validateGroupedWithOwner,
  run: (ctx) => {
    const owners = expectedOwners(ctx.options?.expectedFileOwner);
    return checkSelectedNodes(ctx, ctx.options?.nodeGroupByLabels, (inspector, target, { policy }) =>
      kubeletKubeconfigAndConfig(inspector, target, policy, (stat) => ownerChecks(stat, owners, target)),
    );
  },
});

export const kubeletFileRules = [rule242406, rule242407, rule242449, rule242450, rule242452, rule242453];
