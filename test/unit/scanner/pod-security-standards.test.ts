// The pod-security-standards ruleset without a cluster: every control against pods that comply and pods that
// violate it, exemptions (Windows, user namespaces), the targets and messages of findings, one pod per owner,
// ops pods, acceptances by pod selector and by the namespace's enforce label, and option validation.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Namespace, V1Pod } from '@kubernetes/client-node';
import { ValidationError } from '../../../src/api/validation.ts';
import type { KubeObject } from '../../../src/kube/resources.ts';
import { catalog } from '../../../src/scanner/catalog.ts';
import { resolveConfig } from '../../../src/scanner/engine/config.ts';
import type { CheckResult } from '../../../src/scanner/engine/result.ts';
import type { Rule } from '../../../src/scanner/engine/rule.ts';
import { SnapshotObjectSource } from '../../../src/scanner/objects/source.ts';
import { podSecurityStandards } from '../../../src/scanner/rulesets/pod-security-standards/index.ts';
import { OPS_POD } from '../../../src/scanner/rulesets/pod-security-standards/rules.ts';
import { NO_PODS } from '../../../src/scanner/rulesets/shared/pods.ts';
import { OPS_POD_ROLE, OPS_POD_ROLE_LABEL } from '../../../src/scanner/rulesets/shared/pods.ts';
import { casePod, minimalSpec, pssCases, restrictedSpec } from '../../support/pss-cases.ts';
import { scanConfig } from '../../support/scanner.ts';

const rules = podSecurityStandards.versions[0]!.rules;
const ruleById = (id: string): Rule => {
  const rule = rules.find((r) => r.id === id);
  assert.ok(rule, `no rule ${id}`);
  return rule;
};

interface World {
  pods: V1Pod[];
  namespaces?: V1Namespace[];
  replicaSets?: KubeObject[];
}

async function run(rule: Rule, world: World, options?: unknown, rulesetArgs: unknown = {}): Promise<CheckResult[]> {
  const objects = new SnapshotObjectSource(
    new Map<string, KubeObject[]>([
      ['core/pods', world.pods],
      ['core/namespaces', world.namespaces ?? []],
      ['apps/replicasets', world.replicaSets ?? []],
    ]),
  );
  return rule.run({ objects, live: undefined, options, rulesetArgs, signal: new AbortController().signal });
}

const ns = (name: string, labels: Record<string, string> = {}): V1Namespace => ({ metadata: { name, labels } });
const pod = (name: string, spec = minimalSpec(), extra: Partial<V1Pod['metadata']> = {}): V1Pod => ({
  metadata: { name, namespace: 'apps', ...extra },
  spec,
});

describe('ruleset', () => {
  test('one rule per control with diki ids, Baseline High and Restricted Medium', () => {
    assert.deepEqual(
      podSecurityStandards.versions.map((v) => v.version),
      ['v1.36'],
    );
    assert.deepEqual(
      rules.map((r) => `${r.id} ${r.severity} ${r.name}`),
      [
        'PSS-B001 High HostProcess',
        'PSS-B002 High Host Namespaces',
        'PSS-B003 High Privileged Containers',
        'PSS-B004 High Capabilities (Baseline)',
        'PSS-B005 High HostPath Volumes',
        'PSS-B006 High Host Ports',
        'PSS-B007 High Host Probes / Lifecycle Hooks',
        'PSS-B008 High AppArmor',
        'PSS-B009 High SELinux',
        'PSS-B010 High /proc Mount Type',
        'PSS-B011 High Seccomp (Baseline)',
        'PSS-B012 High Sysctls',
        'PSS-R001 Medium Volume Types',
        'PSS-R002 Medium Privilege Escalation',
        'PSS-R003 Medium Running as Non-root',
        'PSS-R004 Medium Running as Non-root user',
        'PSS-R005 Medium Seccomp (Restricted)',
        'PSS-R006 Medium Capabilities (Restricted)',
        'PSS-R007 Medium /proc Mount Type (Restricted)',
      ],
    );
  });
});

describe('controls', () => {
  const world: World = { pods: pssCases.map((c) => casePod(c, 'apps')), namespaces: [ns('apps')] };

  for (const rule of rules)
    test(`${rule.id} fails exactly the pods that violate it`, async () => {
      const results = await run(rule, world);
      for (const c of pssCases) {
        const statuses = [...new Set(results.filter((r) => r.target?.name === c.name).map((r) => r.status))];
        const expected = c.violates.includes(rule.id) ? 'Failed' : 'Passed';
        assert.deepEqual(statuses, [expected], `${rule.id} on pod ${c.name}`);
      }
    });

  test('no pods: Passed', async () => {
    assert.deepEqual(await run(ruleById('PSS-B001'), { pods: [] }), [{ status: 'Passed', message: NO_PODS }]);
  });
});

describe('findings', () => {
  const findings = async (id: string, p: V1Pod): Promise<CheckResult[]> =>
    (await run(ruleById(id), { pods: [p], namespaces: [ns('apps')] })).filter((r) => r.status !== 'Passed');
  const base = { kind: 'Pod', name: 'p', namespace: 'apps' };

  test('per container, naming the value and what is allowed', async () => {
    const spec = restrictedSpec();
    spec.initContainers = [
      {
        name: 'init',
        image: 'i',
        securityContext: { capabilities: { drop: ['ALL'], add: ['NET_RAW'] }, allowPrivilegeEscalation: false },
      },
    ];
    spec.containers[0]!.securityContext!.capabilities!.add = ['SYS_ADMIN', 'CHOWN'];
    assert.deepEqual(await findings('PSS-B004', pod('p', spec)), [
      {
        status: 'Failed',
        message:
          'Container adds capability "NET_RAW"; only AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT may be added.',
        target: { ...base, container: 'init' },
      },
      {
        status: 'Failed',
        message:
          'Container adds capability "SYS_ADMIN"; only AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT may be added.',
        target: { ...base, container: 'app' },
      },
    ]);
    assert.deepEqual(await findings('PSS-R006', pod('p', spec)), [
      {
        status: 'Failed',
        message: 'Container adds capability "NET_RAW"; only NET_BIND_SERVICE may be added.',
        target: { ...base, container: 'init' },
      },
      {
        status: 'Failed',
        message: 'Container adds capabilities "SYS_ADMIN", "CHOWN"; only NET_BIND_SERVICE may be added.',
        target: { ...base, container: 'app' },
      },
    ]);
  });

  test('pod-level and container-level settings are told apart', async () => {
    const spec = restrictedSpec();
    spec.securityContext!.seccompProfile = { type: 'Unconfined' };
    spec.containers.push({ name: 'sidecar', image: 'i', securityContext: { seccompProfile: { type: 'Unconfined' } } });
    assert.deepEqual(await findings('PSS-B011', pod('p', spec)), [
      {
        status: 'Failed',
        message:
          'Pod sets securityContext.seccompProfile.type to "Unconfined"; only RuntimeDefault, Localhost or unset is allowed.',
        target: base,
      },
      {
        status: 'Failed',
        message:
          'Container sets securityContext.seccompProfile.type to "Unconfined"; only RuntimeDefault, Localhost or unset is allowed.',
        target: { ...base, container: 'sidecar' },
      },
    ]);
    assert.deepEqual(
      (await findings('PSS-R005', pod('p', spec))).map((f) => f.target?.container ?? 'pod'),
      ['pod', 'app', 'sidecar'],
    );
  });

  test('volumes, annotations and sysctls are named', async () => {
    const spec = restrictedSpec();
    spec.volumes = [
      { name: 'logs', hostPath: { path: '/var/log' } },
      { name: 'share', nfs: { server: 's', path: '/' } },
      { name: 'config', configMap: { name: 'c' } },
    ];
    spec.securityContext!.sysctls = [
      { name: 'kernel.msgmax', value: '1' },
      { name: 'net.ipv4.tcp_syncookies', value: '1' },
    ];
    const annotated = pod('p', spec, {
      annotations: { 'container.apparmor.security.beta.kubernetes.io/app': 'unconfined' },
    });
    assert.deepEqual(await findings('PSS-B005', annotated), [
      {
        status: 'Failed',
        message: 'Volume is of type hostPath; hostPath volumes are not allowed.',
        target: { ...base, volume: 'logs' },
      },
    ]);
    assert.deepEqual(
      (await findings('PSS-R001', annotated)).map((f) => [f.target?.volume, f.message.split(';')[0]]),
      [
        ['logs', 'Volume is of type hostPath'],
        ['share', 'Volume is of type nfs'],
      ],
    );
    assert.match(
      (await findings('PSS-R001', annotated))[0]!.message,
      /only configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected, secret volumes are allowed/,
    );
    assert.deepEqual(await findings('PSS-B008', annotated), [
      {
        status: 'Failed',
        message:
          'Pod annotation sets the AppArmor profile to "unconfined"; only runtime/default, localhost/<profile> or empty is allowed.',
        target: { ...base, annotation: 'container.apparmor.security.beta.kubernetes.io/app' },
      },
    ]);
    const [sysctl] = await findings('PSS-B012', annotated);
    assert.match(sysctl!.message, /^Pod sets sysctl "kernel.msgmax"; only the safe sysctls kernel.shm_rmid_forced, /);
    assert.match(sysctl!.message, /net.ipv4.tcp_rmem, net.ipv4.tcp_wmem are allowed\.$/);
  });

  test('SELinux, probes, host ports and namespaces say what is set', async () => {
    const spec = restrictedSpec();
    spec.hostPID = true;
    spec.securityContext!.seLinuxOptions = { type: 'spc_t', user: 'system_u' };
    spec.containers[0]!.ports = [{ containerPort: 80, hostPort: 80 }, { containerPort: 81 }];
    spec.containers[0]!.startupProbe = { tcpSocket: { host: 'db', port: 5432 } };
    const p = pod('p', spec);
    assert.deepEqual(
      (await findings('PSS-B009', p)).map((f) => f.message),
      [
        'Pod sets securityContext.seLinuxOptions type "spc_t", user "system_u"; only the types container_t, container_init_t, container_kvm_t, container_engine_t (or none) are allowed, and user and role must be unset.',
      ],
    );
    assert.deepEqual(
      (await findings('PSS-B007', p)).map((f) => f.message),
      [
        'Container sets startupProbe.tcpSocket.host "db"; the host of probes and lifecycle hooks must be unset or empty.',
      ],
    );
    assert.deepEqual(
      (await findings('PSS-B006', p)).map((f) => f.message),
      ['Container uses host port 80; hostPort must be unset or 0.'],
    );
    assert.deepEqual(
      (await findings('PSS-B002', p)).map((f) => f.message),
      ['Pod sets spec.hostPID to true; sharing host namespaces is not allowed (false or unset).'],
    );
  });

  test('runAsNonRoot: explicit false, and missing on both pod and container', async () => {
    const spec = restrictedSpec();
    delete spec.securityContext!.runAsNonRoot;
    spec.containers.push({ name: 'root', image: 'i', securityContext: { runAsNonRoot: false } });
    spec.containers.push({ name: 'ok', image: 'i', securityContext: { runAsNonRoot: true } });
    assert.deepEqual(
      (await findings('PSS-R003', pod('p', spec))).map((f) => [f.target?.container, f.message]),
      [
        ['app', 'Neither the container nor the pod sets securityContext.runAsNonRoot to true; one of them must.'],
        [
          'root',
          'Container sets securityContext.runAsNonRoot to false; it must be true (or unset when the pod sets it to true).',
        ],
      ],
    );
  });

  test('exempt pods pass with the reason', async () => {
    const windows = pod('w', { os: { name: 'windows' }, containers: [{ name: 'app', image: 'i' }] });
    const [r002] = await run(ruleById('PSS-R002'), { pods: [windows] });
    assert.deepEqual(r002, {
      status: 'Passed',
      message: 'Pod runs on Windows (spec.os.name: windows), where this control does not apply.',
      target: { kind: 'Pod', name: 'w', namespace: 'apps' },
    });
    const userns = restrictedSpec();
    userns.hostUsers = false;
    userns.securityContext!.runAsUser = 0;
    const [r004] = await run(ruleById('PSS-R004'), { pods: [pod('u', userns)] });
    assert.equal(r004!.status, 'Passed');
    assert.match(r004!.message, /user namespace \(hostUsers: false\)/);
  });
});

describe('pods checked', () => {
  test('one pod per owner, named by its Deployment', async () => {
    const owned = (name: string): V1Pod =>
      pod(name, minimalSpec(), {
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8', uid: 'rs-1' }],
      });
    const replicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: 'web-5d8',
        namespace: 'apps',
        uid: 'rs-1',
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd-1' }],
      },
    };
    const results = await run(ruleById('PSS-R002'), {
      pods: [owned('web-5d8-a'), owned('web-5d8-b')],
      replicaSets: [replicaSet],
    });
    assert.deepEqual(results, [
      {
        status: 'Failed',
        message: 'Container does not set securityContext.allowPrivilegeEscalation; it must be false.',
        target: {
          kind: 'Pod',
          name: 'web-5d8-a',
          namespace: 'apps',
          ownerKind: 'Deployment',
          ownerName: 'web',
          container: 'app',
        },
      },
    ]);
  });

  test('ops pods of the scanner are skipped', async () => {
    const ops = pod(
      'ops',
      { hostPID: true, containers: [{ name: 'c', image: 'i' }] },
      {
        labels: { [OPS_POD_ROLE_LABEL]: OPS_POD_ROLE },
      },
    );
    assert.deepEqual(await run(ruleById('PSS-B002'), { pods: [ops] }), [
      { status: 'Skipped', message: OPS_POD, target: { kind: 'Pod', name: 'ops', namespace: 'apps' } },
    ]);
  });
});

describe('acceptance', () => {
  const privileged = (name: string, namespace: string, labels: Record<string, string> = {}): V1Pod => ({
    metadata: { name, namespace, labels },
    spec: { containers: [{ name: 'app', image: 'i', securityContext: { privileged: true } }] },
  });
  const world: World = {
    pods: [privileged('agent', 'system', { app: 'agent' }), privileged('other', 'system'), privileged('x', 'apps')],
    namespaces: [ns('system', { tier: 'system' }), ns('apps')],
  };
  const statusOf = (results: CheckResult[], name: string) =>
    results.filter((r) => r.target?.name === name).map((r) => [r.status, r.message]);

  test('acceptedPods: by pod and namespace selector, with justification and status', async () => {
    const options = {
      acceptedPods: [
        {
          labelSelector: { matchLabels: { app: 'agent' } },
          namespaceLabelSelector: { matchLabels: { tier: 'system' } },
          justification: 'The node agent needs privileges.',
        },
      ],
    };
    const results = await run(ruleById('PSS-B003'), world, options);
    assert.deepEqual(statusOf(results, 'agent'), [['Accepted', 'The node agent needs privileges.']]);
    assert.equal(statusOf(results, 'other')[0]![0], 'Failed');
    assert.equal(statusOf(results, 'x')[0]![0], 'Failed');
    const asPassed = { acceptedPods: [{ ...options.acceptedPods[0]!, justification: '', status: 'Passed' }] };
    assert.deepEqual(statusOf(await run(ruleById('PSS-B003'), world, asPassed), 'agent'), [
      ['Passed', 'Pod is accepted to violate this control.'],
    ]);
  });

  test('honorEnforceLabels: findings the namespace level allows are Accepted', async () => {
    const spaces = [
      ns('privileged', { 'pod-security.kubernetes.io/enforce': 'privileged' }),
      ns('baseline', { 'pod-security.kubernetes.io/enforce': 'baseline' }),
      ns('restricted', { 'pod-security.kubernetes.io/enforce': 'restricted' }),
      ns('unlabelled'),
    ];
    const pods = spaces.map((n) => privileged(`p-${n.metadata!.name}`, n.metadata!.name!));
    const byNamespace = async (id: string, args: unknown) =>
      (await run(ruleById(id), { pods, namespaces: spaces }, undefined, args)).map((r) => [
        r.target?.namespace,
        r.status,
      ]);
    assert.deepEqual(await byNamespace('PSS-B003', { honorEnforceLabels: true }), [
      ['privileged', 'Accepted'],
      ['baseline', 'Failed'],
      ['restricted', 'Failed'],
      ['unlabelled', 'Failed'],
    ]);
    assert.deepEqual(await byNamespace('PSS-R002', { honorEnforceLabels: true }), [
      ['privileged', 'Accepted'],
      ['baseline', 'Accepted'],
      ['restricted', 'Failed'],
      ['unlabelled', 'Failed'],
    ]);
    assert.deepEqual(
      (await byNamespace('PSS-R002', {})).map(([, status]) => status),
      ['Failed', 'Failed', 'Failed', 'Failed'],
    );
    const [accepted] = await run(ruleById('PSS-B003'), { pods: [pods[0]!], namespaces: spaces }, undefined, {
      honorEnforceLabels: true,
    });
    assert.equal(
      accepted!.message,
      'The namespace enforces the Pod Security level "privileged" (label pod-security.kubernetes.io/enforce), which allows this.',
    );
  });
});

describe('options', () => {
  function errors(rulesets: Parameters<typeof scanConfig>[0]): string[] {
    try {
      resolveConfig(scanConfig(rulesets), catalog);
    } catch (err) {
      assert.ok(err instanceof ValidationError, String(err));
      return err.errors.map((e) => `${e.field}: ${e.message}`);
    }
    return [];
  }
  const id = 'pod-security-standards';

  test('valid options and args resolve; v1.36 is the default version', () => {
    const resolved = resolveConfig(
      scanConfig([
        {
          id,
          args: { honorEnforceLabels: true },
          ruleOptions: [
            {
              ruleID: 'PSS-B003',
              args: {
                acceptedPods: [
                  { labelSelector: { matchLabels: { a: 'b' } }, namespaceLabelSelector: {}, status: 'Passed' },
                ],
              },
            },
            { ruleID: 'PSS-R003', skip: { enabled: true, justification: 'Legacy images run as root.' } },
          ],
        },
      ]),
      catalog,
    );
    assert.equal(resolved.providers[0]!.rulesets[0]!.version.version, 'v1.36');
  });

  test('bad options name the field', () => {
    assert.deepEqual(
      errors([
        {
          id,
          ruleOptions: [
            { ruleID: 'PSS-B003', args: { acceptedPods: [{ labelSelector: { matchLabels: { a: 'b' } } }] } },
          ],
        },
      ]),
      [
        'providers[0].rulesets[0].ruleOptions[0].args.acceptedPods[0]: both labelSelector and namespaceLabelSelector must be set',
      ],
    );
    assert.deepEqual(
      errors([{ id, ruleOptions: [{ ruleID: 'PSS-R001', args: { acceptedPods: [{ status: 'Ignored' }] } }] }]).map(
        (e) => e.split(':')[0],
      ),
      ['providers[0].rulesets[0].ruleOptions[0].args.acceptedPods[0].status'],
    );
    assert.deepEqual(
      errors([{ id, args: { honorEnforceLabels: 'yes' } }]).map((e) => e.split(':')[0]),
      ['providers[0].rulesets[0].args.honorEnforceLabels'],
    );
    assert.deepEqual(errors([{ id, ruleOptions: [{ ruleID: 'PSS-B013' }] }]), [
      'providers[0].rulesets[0].ruleOptions[0].ruleID: unknown rule "PSS-B013" in pod-security-standards v1.36',
    ]);
    assert.deepEqual(errors([{ id, version: 'v0.1.0' }]), [
      'providers[0].rulesets[0].version: unknown version "v0.1.0" of pod-security-standards (known: v1.36)',
    ]);
  });
});
