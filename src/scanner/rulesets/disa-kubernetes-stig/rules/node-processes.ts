// Node rules about what runs and is installed on the nodes: the SSH daemon running (242393) or enabled
// (242394), the kubectl version installed (242396), the kubelet's hostname override (242404). Each checks one
// node per group (`nodeGroupByLabels`) or every node, through the node's ops pod.
import Type from 'typebox';
import { errored, failed, passed, skipped, type CheckResult, type Target } from '../../../engine/result.ts';
import { defineRule } from '../../../engine/rule.ts';
import type { NodeInspector, SshUnit } from '../../../nodes/node-inspector.ts';
import type { ExecPolicy } from '../../../nodes/ops-pods.ts';
import { flagValues, parseVersion, versionBelow } from '../../../nodes/parse.ts';
import { checkSelectedNodes } from './node-checks.ts';
import { NodeGroupByLabels, validateNodeGroupByLabels } from './node-options.ts';

const Grouped = Type.Object({ nodeGroupByLabels: Type.Optional(NodeGroupByLabels) }, { additionalProperties: false });

const validateGrouped = (options: { nodeGroupByLabels?: string[] | undefined }, path: string) =>
  validateNodeGroupByLabels(options.nodeGroupByLabels, `${path}.nodeGroupByLabels`);

const SSH_PORT = 22;
const LISTENS_ON_SSH_PORT = 'Something listens on TCP port 22, the SSH port, on the node.';

/** Failed when something listens on the SSH port (both sshd rules start there, as diki). */
async function sshPortCheck(inspector: NodeInspector, target: Target, policy: ExecPolicy): Promise<CheckResult[]> {
  const ports = await inspector.listeningPorts(policy);
  return ports.has(SSH_PORT) ? [failed(LISTENS_ON_SSH_PORT, target)] : [];
}

const rule242393 = defineRule({
  id: '242393',
  name: 'Kubernetes Worker Nodes must not have sshd service running.',
  severity: 'Medium',
  live: true,
  options: Grouped,
  validate: validateGrouped,
  run: (ctx) =>
    checkSelectedNodes(ctx, ctx.options?.nodeGroupByLabels, async (inspector, target, { policy }) => {
      const port = await sshPortCheck(inspector, target, policy);
      if (port.length > 0) return port;
      const pids = await inspector.processes('sshd', policy);
      if (pids.length > 0)
        return [failed('The SSH daemon runs on the node.', { ...target, details: `sshd pids: ${pids.join(', ')}` })];
      return [passed('The SSH daemon does not run on the node.', target)];
    }),
});

const UNIT_NAME = /[^/]+$/;
const unitName = (unit: SshUnit): string => UNIT_NAME.exec(unit.path)?.[0] ?? unit.path;

/** Whether systemd would start the SSH daemon at boot, from its unit files and links on the node. */
export function sshServiceState(units: readonly SshUnit[]): {
  state: 'enabled' | 'masked' | 'disabled' | 'absent';
  unit?: string;
} {
  if (units.length === 0) return { state: 'absent' };
  const masked = new Set(
    units.filter((u) => /^\/(etc|run)\/systemd\/system\/[^/]+$/.test(u.path) && u.target === '/dev/null').map(unitName),
  );
  const enabled = units.find(
    (u) => /\.(wants|requires)\/[^/]+$/.test(u.path) && u.target !== '/dev/null' && !masked.has(unitName(u)),
  );
  if (enabled) return { state: 'enabled', unit: enabled.path };
  if (masked.size > 0) return { state: 'masked' };
  return { state: 'disabled' };
}

const rule242394 = defineRule({
  id: '242394',
  name: 'Kubernetes Worker Nodes must not have the sshd service enabled.',
  severity: 'Medium',
  live: true,
  options: Grouped,
  validate: validateGrouped,
  run: (ctx) =>
    checkSelectedNodes(ctx, ctx.options?.nodeGroupByLabels, async (inspector, target, { policy }) => {
      const port = await sshPortCheck(inspector, target, policy);
      if (port.length > 0) return port;
      const { state, unit } = sshServiceState(await inspector.sshUnits(policy));
      switch (state) {
        case 'enabled':
          return [failed('The SSH daemon service is enabled.', { ...target, details: `unit: ${unit}` })];
        case 'masked':
          return [passed('The SSH daemon service is masked.', target)];
        case 'disabled':
          return [passed('The SSH daemon service is installed but not enabled.', target)];
        case 'absent':
          return [passed('The SSH daemon service is not installed.', target)];
      }
    }),
});

/** kubectl before this release copied files out of containers unsafely (CVE-2019-11246). */
const KUBECTL_FIXED: [number, number, number] = [1, 12, 9];

const rule242396 = defineRule({
  id: '242396',
  name: 'Kubernetes Kubectl cp command must give expected access and results.',
  severity: 'Medium',
  live: true,
  options: Grouped,
  validate: validateGrouped,
  run: (ctx) =>
    checkSelectedNodes(ctx, ctx.options?.nodeGroupByLabels, async (inspector, target, { policy }) => {
      const probe = await inspector.kubectl(policy);
      if (!probe.found) return [skipped('kubectl is not installed on the node.', target)];
      const { result, path } = probe;
      const at = { ...target, details: `path: ${path}` };
      if (result.exitCode === 127) return [skipped('kubectl could not be run on the node.', at)];
      if (result.exitCode !== 0)
        return [errored(`kubectl version failed with exit code ${result.exitCode}: ${result.stderr.trim()}`, at)];
      let gitVersion: unknown;
      try {
        gitVersion = (JSON.parse(result.stdout) as { clientVersion?: { gitVersion?: unknown } }).clientVersion
          ?.gitVersion;
      } catch (err) {
        return [errored(`kubectl printed no JSON: ${(err as Error).message}`, at)];
      }
      if (typeof gitVersion !== 'string' || gitVersion === '')
        return [errored('kubectl did not print its client version.', { ...at, output: result.stdout.slice(0, 200) })];
      const version = parseVersion(gitVersion);
      if (!version) return [errored(`kubectl printed an unknown version: ${gitVersion}`, at)];
      const detailed = { ...target, details: `kubectl client version ${version.text}` };
      return versionBelow(version, KUBECTL_FIXED)
        ? [failed(`The node has a kubectl older than v${KUBECTL_FIXED.join('.')}.`, detailed)]
        : [passed(`The node has a kubectl of v${KUBECTL_FIXED.join('.')} or later.`, detailed)];
    }),
});

const rule242404 = defineRule({
  id: '242404',
  name: 'Kubernetes Kubelet must deny hostname override.',
  severity: 'Medium',
  live: true,
  options: Grouped,
  validate: validateGrouped,
  run: (ctx) =>
    checkSelectedNodes(ctx, ctx.options?.nodeGroupByLabels, async (inspector, target, { policy }) => {
      // hostname-override is a flag only; the kubelet configuration file has no such field.
      const { argv } = await inspector.kubelet(policy);
      const values = flagValues(argv, 'hostname-override');
      if (values.length > 0)
        return [
          failed('The kubelet runs with --hostname-override.', {
            ...target,
            details: `hostname-override: ${values.join(', ')}`,
          }),
        ];
      return [passed('The kubelet runs without --hostname-override.', target)];
    }),
});

export const nodeProcessRules = [rule242393, rule242394, rule242396, rule242404];
