// The controls of the Pod Security Standards as pure functions of a pod: each returns the findings that make the
// pod violate the control (none when it complies), or says why the pod is exempt. They follow Pod Security
// Admission's semantics for the policy's release exactly: a pod violates a control here iff PSA at that level
// rejects it for that control. Init, regular and ephemeral containers are all checked.
import type {
  V1Container,
  V1EphemeralContainer,
  V1LifecycleHandler,
  V1Pod,
  V1Probe,
  V1SELinuxOptions,
  V1Volume,
} from '@kubernetes/client-node';
import type { Target } from '../../engine/result.ts';
import type { PssLevel, PssPolicy } from './policy.ts';

/** One reason a pod violates a control; `at` adds what inside the pod is wrong to the pod's target. */
export interface Finding {
  message: string;
  at?: Target;
}

export interface Control {
  id: string;
  name: string;
  level: PssLevel;
  /** The message of a pod that complies. */
  passed: string;
  /** Why this pod is exempt from the control (its check is then Passed with this message), if it is. */
  exempt?: (pod: V1Pod, policy: PssPolicy) => string | undefined;
  check: (pod: V1Pod, policy: PssPolicy) => Finding[];
}

type AnyContainer = V1Container | V1EphemeralContainer;

function containersOf(pod: V1Pod): AnyContainer[] {
  const spec = pod.spec;
  if (!spec) return [];
  return [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
}

const inContainer = (c: AnyContainer): Target => ({ container: c.name });
const quoted = (values: Iterable<string>): string => [...values].map((v) => `"${v}"`).join(', ');
const plural = (n: number, one: string, many: string): string => (n === 1 ? one : many);

const windowsExempt = (pod: V1Pod): string | undefined =>
  pod.spec?.os?.name === 'windows'
    ? 'Pod runs on Windows (spec.os.name: windows), where this control does not apply.'
    : undefined;

const userNamespaceExempt = (pod: V1Pod, policy: PssPolicy): string | undefined =>
  policy.userNamespaceRelaxation && pod.spec?.hostUsers === false
    ? 'Pod runs in a user namespace (hostUsers: false), where this control does not apply.'
    : undefined;

const SECCOMP_ALLOWED = ['RuntimeDefault', 'Localhost'];
const APPARMOR_ALLOWED = ['RuntimeDefault', 'Localhost'];
const APPARMOR_ANNOTATION_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';

/** Findings for a field a pod and each container may set, where only some values are allowed. */
function podAndContainers<V>(
  pod: V1Pod,
  podValue: V | undefined,
  containerValue: (c: AnyContainer) => V | undefined,
  bad: (value: V) => string | undefined,
): Finding[] {
  const findings: Finding[] = [];
  if (podValue !== undefined && podValue !== null) {
    const problem = bad(podValue);
    if (problem) findings.push({ message: `Pod ${problem}` });
  }
  for (const c of containersOf(pod)) {
    const value = containerValue(c);
    if (value === undefined || value === null) continue;
    const problem = bad(value);
    if (problem) findings.push({ message: `Container ${problem}`, at: inContainer(c) });
  }
  return findings;
}

const hostProcess: Control = {
  id: 'PSS-B001',
  name: 'HostProcess',
  level: 'baseline',
  passed: 'Pod runs no Windows HostProcess containers.',
  check: (pod) =>
    podAndContainers(
      pod,
      pod.spec?.securityContext?.windowsOptions?.hostProcess,
      (c) => c.securityContext?.windowsOptions?.hostProcess,
      (value) =>
        value ? 'sets securityContext.windowsOptions.hostProcess to true; only false or unset is allowed.' : undefined,
    ),
};

const hostNamespaces: Control = {
  id: 'PSS-B002',
  name: 'Host Namespaces',
  level: 'baseline',
  passed: 'Pod shares no host namespace.',
  check: (pod) =>
    (['hostNetwork', 'hostPID', 'hostIPC'] as const)
      .filter((field) => pod.spec?.[field] === true)
      .map((field) => ({
        message: `Pod sets spec.${field} to true; sharing host namespaces is not allowed (false or unset).`,
      })),
};

const privileged: Control = {
  id: 'PSS-B003',
  name: 'Privileged Containers',
  level: 'baseline',
  passed: 'Pod runs no privileged containers.',
  check: (pod) =>
    containersOf(pod)
      .filter((c) => c.securityContext?.privileged === true)
      .map((c) => ({
        message: 'Container sets securityContext.privileged to true; only false or unset is allowed.',
        at: inContainer(c),
      })),
};

const capabilitiesBaseline: Control = {
  id: 'PSS-B004',
  name: 'Capabilities (Baseline)',
  level: 'baseline',
  passed: 'Pod adds no capabilities beyond the Baseline set.',
  check: (pod, policy) =>
    containersOf(pod).flatMap((c) => {
      const extra = (c.securityContext?.capabilities?.add ?? []).filter(
        (cap) => !policy.baselineCapabilities.includes(cap),
      );
      if (extra.length === 0) return [];
      return [
        {
          message: `Container adds ${plural(extra.length, 'capability', 'capabilities')} ${quoted(extra)}; only ${policy.baselineCapabilities.join(', ')} may be added.`,
          at: inContainer(c),
        },
      ];
    }),
};

const hostPathVolumes: Control = {
  id: 'PSS-B005',
  name: 'HostPath Volumes',
  level: 'baseline',
  passed: 'Pod has no hostPath volumes.',
  check: (pod) =>
    (pod.spec?.volumes ?? [])
      .filter((v) => v.hostPath)
      .map((v) => ({
        message: 'Volume is of type hostPath; hostPath volumes are not allowed.',
        at: { volume: v.name },
      })),
};

const hostPorts: Control = {
  id: 'PSS-B006',
  name: 'Host Ports',
  level: 'baseline',
  passed: 'Pod uses no host ports.',
  check: (pod) =>
    containersOf(pod).flatMap((c) => {
      const ports = (c.ports ?? []).map((p) => p.hostPort ?? 0).filter((port) => port !== 0);
      if (ports.length === 0) return [];
      return [
        {
          message: `Container uses ${plural(ports.length, 'host port', 'host ports')} ${ports.join(', ')}; hostPort must be unset or 0.`,
          at: inContainer(c),
        },
      ];
    }),
};

const hostProbes: Control = {
  id: 'PSS-B007',
  name: 'Host Probes / Lifecycle Hooks',
  level: 'baseline',
  passed: 'Pod sets no host in probes or lifecycle hooks.',
  check: (pod) =>
    containersOf(pod).flatMap((c) => {
      const handlers: [string, V1Probe | V1LifecycleHandler | undefined][] = [
        ['livenessProbe', c.livenessProbe],
        ['readinessProbe', c.readinessProbe],
        ['startupProbe', c.startupProbe],
        ['lifecycle.postStart', c.lifecycle?.postStart],
        ['lifecycle.preStop', c.lifecycle?.preStop],
      ];
      const hosts: string[] = [];
      for (const [field, handler] of handlers) {
        if (handler?.httpGet?.host) hosts.push(`${field}.httpGet.host "${handler.httpGet.host}"`);
        if (handler?.tcpSocket?.host) hosts.push(`${field}.tcpSocket.host "${handler.tcpSocket.host}"`);
      }
      if (hosts.length === 0) return [];
      return [
        {
          message: `Container sets ${hosts.join(', ')}; the host of probes and lifecycle hooks must be unset or empty.`,
          at: inContainer(c),
        },
      ];
    }),
};

const appArmor: Control = {
  id: 'PSS-B008',
  name: 'AppArmor',
  level: 'baseline',
  passed: 'Pod does not override or disable the default AppArmor profile.',
  check: (pod) => {
    const findings = podAndContainers(
      pod,
      pod.spec?.securityContext?.appArmorProfile,
      (c) => c.securityContext?.appArmorProfile,
      (profile) =>
        APPARMOR_ALLOWED.includes(profile.type)
          ? undefined
          : `sets securityContext.appArmorProfile.type to "${profile.type}"; only RuntimeDefault, Localhost or unset is allowed.`,
    );
    for (const [key, value] of Object.entries(pod.metadata?.annotations ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
      if (!key.startsWith(APPARMOR_ANNOTATION_PREFIX)) continue;
      if (value === '' || value === 'runtime/default' || value.startsWith('localhost/')) continue;
      findings.push({
        message: `Pod annotation sets the AppArmor profile to "${value}"; only runtime/default, localhost/<profile> or empty is allowed.`,
        at: { annotation: key },
      });
    }
    return findings;
  },
};

const seLinux: Control = {
  id: 'PSS-B009',
  name: 'SELinux',
  level: 'baseline',
  passed: 'Pod sets no SELinux user or role and only allowed SELinux types.',
  check: (pod, policy) => {
    const bad = (opts: V1SELinuxOptions): string | undefined => {
      const problems: string[] = [];
      if (opts.type && !policy.seLinuxTypes.includes(opts.type)) problems.push(`type "${opts.type}"`);
      if (opts.user) problems.push(`user "${opts.user}"`);
      if (opts.role) problems.push(`role "${opts.role}"`);
      if (problems.length === 0) return undefined;
      return `sets securityContext.seLinuxOptions ${problems.join(', ')}; only the types ${policy.seLinuxTypes.join(', ')} (or none) are allowed, and user and role must be unset.`;
    };
    return podAndContainers(
      pod,
      pod.spec?.securityContext?.seLinuxOptions,
      (c) => c.securityContext?.seLinuxOptions,
      bad,
    );
  },
};

function procMountFindings(pod: V1Pod, allowedHint: string): Finding[] {
  return containersOf(pod)
    .filter((c) => {
      const procMount = c.securityContext?.procMount;
      return procMount !== undefined && procMount !== null && procMount !== 'Default';
    })
    .map((c) => ({
      message: `Container sets securityContext.procMount to "${c.securityContext?.procMount}"; only Default or unset is allowed${allowedHint}.`,
      at: inContainer(c),
    }));
}

const procMountBaseline: Control = {
  id: 'PSS-B010',
  name: '/proc Mount Type',
  level: 'baseline',
  passed: 'Pod keeps the default /proc masks.',
  exempt: userNamespaceExempt,
  check: (pod, policy) =>
    procMountFindings(pod, policy.userNamespaceRelaxation ? ' (any value when the pod sets hostUsers: false)' : ''),
};

const seccompBaseline: Control = {
  id: 'PSS-B011',
  name: 'Seccomp (Baseline)',
  level: 'baseline',
  passed: 'Pod does not set the seccomp profile to Unconfined.',
  check: (pod) =>
    podAndContainers(
      pod,
      pod.spec?.securityContext?.seccompProfile,
      (c) => c.securityContext?.seccompProfile,
      (profile) =>
        SECCOMP_ALLOWED.includes(profile.type)
          ? undefined
          : `sets securityContext.seccompProfile.type to "${profile.type}"; only RuntimeDefault, Localhost or unset is allowed.`,
    ),
};

const sysctls: Control = {
  id: 'PSS-B012',
  name: 'Sysctls',
  level: 'baseline',
  passed: 'Pod sets only safe sysctls.',
  check: (pod, policy) => {
    const unsafe = (pod.spec?.securityContext?.sysctls ?? [])
      .map((s) => s.name)
      .filter((name) => !policy.safeSysctls.includes(name));
    if (unsafe.length === 0) return [];
    return [
      {
        message: `Pod sets ${plural(unsafe.length, 'sysctl', 'sysctls')} ${quoted(unsafe)}; only the safe sysctls ${policy.safeSysctls.join(', ')} are allowed.`,
      },
    ];
  },
};

/** The volume source a volume uses: its one field besides `name`. */
export function volumeType(volume: V1Volume): string {
  return Object.keys(volume).find((key) => key !== 'name') ?? 'unknown';
}

const volumeTypes: Control = {
  id: 'PSS-R001',
  name: 'Volume Types',
  level: 'restricted',
  passed: 'Pod uses only allowed volume types.',
  check: (pod, policy) =>
    (pod.spec?.volumes ?? [])
      .filter((v) => !policy.restrictedVolumeTypes.some((type) => (v as unknown as Record<string, unknown>)[type]))
      .map((v) => ({
        message: `Volume is of type ${volumeType(v)}; only ${policy.restrictedVolumeTypes.join(', ')} volumes are allowed.`,
        at: { volume: v.name },
      })),
};

const privilegeEscalation: Control = {
  id: 'PSS-R002',
  name: 'Privilege Escalation',
  level: 'restricted',
  passed: 'Every container sets allowPrivilegeEscalation to false.',
  exempt: windowsExempt,
  check: (pod) =>
    containersOf(pod)
      .filter((c) => c.securityContext?.allowPrivilegeEscalation !== false)
      .map((c) => ({
        message:
          c.securityContext?.allowPrivilegeEscalation === true
            ? 'Container sets securityContext.allowPrivilegeEscalation to true; it must be false.'
            : 'Container does not set securityContext.allowPrivilegeEscalation; it must be false.',
        at: inContainer(c),
      })),
};

const runAsNonRoot: Control = {
  id: 'PSS-R003',
  name: 'Running as Non-root',
  level: 'restricted',
  passed: 'Every container must run as non-root (runAsNonRoot: true).',
  exempt: userNamespaceExempt,
  check: (pod) => {
    const findings: Finding[] = [];
    const podValue = pod.spec?.securityContext?.runAsNonRoot;
    if (podValue === false)
      findings.push({
        message: 'Pod sets securityContext.runAsNonRoot to false; it must be true on the pod or on every container.',
      });
    for (const c of containersOf(pod)) {
      const value = c.securityContext?.runAsNonRoot;
      if (value === false)
        findings.push({
          message:
            'Container sets securityContext.runAsNonRoot to false; it must be true (or unset when the pod sets it to true).',
          at: inContainer(c),
        });
      else if ((value === undefined || value === null) && podValue !== true)
        findings.push({
          message: 'Neither the container nor the pod sets securityContext.runAsNonRoot to true; one of them must.',
          at: inContainer(c),
        });
    }
    return findings;
  },
};

const runAsUser: Control = {
  id: 'PSS-R004',
  name: 'Running as Non-root user',
  level: 'restricted',
  passed: 'Pod does not set runAsUser to 0.',
  exempt: userNamespaceExempt,
  check: (pod) =>
    podAndContainers(
      pod,
      pod.spec?.securityContext?.runAsUser,
      (c) => c.securityContext?.runAsUser,
      (uid) =>
        uid === 0 ? 'sets securityContext.runAsUser to 0; only a non-zero user or unset is allowed.' : undefined,
    ),
};

const seccompRestricted: Control = {
  id: 'PSS-R005',
  name: 'Seccomp (Restricted)',
  level: 'restricted',
  passed: 'Every container runs with the RuntimeDefault or a Localhost seccomp profile.',
  exempt: windowsExempt,
  check: (pod) => {
    const allowed = 'it must be RuntimeDefault or Localhost';
    const findings: Finding[] = [];
    const podProfile = pod.spec?.securityContext?.seccompProfile;
    if (podProfile && !SECCOMP_ALLOWED.includes(podProfile.type))
      findings.push({ message: `Pod sets securityContext.seccompProfile.type to "${podProfile.type}"; ${allowed}.` });
    const podSet = podProfile !== undefined && podProfile !== null && SECCOMP_ALLOWED.includes(podProfile.type);
    for (const c of containersOf(pod)) {
      const profile = c.securityContext?.seccompProfile;
      if (profile) {
        if (!SECCOMP_ALLOWED.includes(profile.type))
          findings.push({
            message: `Container sets securityContext.seccompProfile.type to "${profile.type}"; ${allowed}.`,
            at: inContainer(c),
          });
      } else if (!podSet)
        findings.push({
          message: `Neither the container nor the pod sets securityContext.seccompProfile.type; ${allowed}.`,
          at: inContainer(c),
        });
    }
    return findings;
  },
};

const capabilitiesRestricted: Control = {
  id: 'PSS-R006',
  name: 'Capabilities (Restricted)',
  level: 'restricted',
  passed: 'Every container drops ALL capabilities and adds at most NET_BIND_SERVICE.',
  exempt: windowsExempt,
  check: (pod) =>
    containersOf(pod).flatMap((c) => {
      const findings: Finding[] = [];
      const caps = c.securityContext?.capabilities;
      if (!(caps?.drop ?? []).includes('ALL'))
        findings.push({
          message: 'Container does not drop ALL capabilities; securityContext.capabilities.drop must include ALL.',
          at: inContainer(c),
        });
      const extra = (caps?.add ?? []).filter((cap) => cap !== 'NET_BIND_SERVICE');
      if (extra.length > 0)
        findings.push({
          message: `Container adds ${plural(extra.length, 'capability', 'capabilities')} ${quoted(extra)}; only NET_BIND_SERVICE may be added.`,
          at: inContainer(c),
        });
      return findings;
    }),
};

const procMountRestricted: Control = {
  id: 'PSS-R007',
  name: '/proc Mount Type (Restricted)',
  level: 'restricted',
  passed: 'Pod keeps the default /proc masks.',
  check: (pod) => procMountFindings(pod, ', also in a user namespace'),
};

/** Every control, Baseline first, in id order. */
export const controls: readonly Control[] = [
  hostProcess,
  hostNamespaces,
  privileged,
  capabilitiesBaseline,
  hostPathVolumes,
  hostPorts,
  hostProbes,
  appArmor,
  seLinux,
  procMountBaseline,
  seccompBaseline,
  sysctls,
  volumeTypes,
  privilegeEscalation,
  runAsNonRoot,
  runAsUser,
  seccompRestricted,
  capabilitiesRestricted,
  procMountRestricted,
];
