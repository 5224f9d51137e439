// Pods for the pod-security-standards ruleset tests: for every control at least one pod that complies and one
// that violates it, each with the rule ids it must fail. The unit tests check the rules against these
// expectations offline; the integration test creates the pods in a cluster, checks the same expectations on a
// live scan and compares the ruleset with the API server's own Pod Security Admission.
import type { V1ObjectMeta, V1Pod, V1PodSpec } from '@kubernetes/client-node';

export interface PssCase {
  name: string;
  pod: { metadata?: Omit<V1ObjectMeta, 'name' | 'namespace'>; spec: V1PodSpec };
  /** Rule ids that must report Failed for the pod; every other rule must report Passed. */
  violates: string[];
  /** Not created in a cluster: the API server of the testbed refuses such pods, or only a subresource sets them. */
  offlineOnly?: boolean;
}

const IMAGE = 'registry.example.com/app:1.0';

/** The smallest pod: Baseline allows it, Restricted does not. */
export function minimalSpec(): V1PodSpec {
  return { containers: [{ name: 'app', image: IMAGE }] };
}

/** A pod that meets every Restricted control. */
export function restrictedSpec(): V1PodSpec {
  return {
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: 'app',
        image: IMAGE,
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      },
    ],
  };
}

const RESTRICTED_ONLY = ['PSS-R002', 'PSS-R003', 'PSS-R005', 'PSS-R006'];

/** A Restricted pod changed by `change` (which edits the spec in place). */
function restricted(change: (spec: V1PodSpec) => void): V1PodSpec {
  const spec = restrictedSpec();
  change(spec);
  return spec;
}
const app = (spec: V1PodSpec) => spec.containers[0]!;
const appSc = (spec: V1PodSpec) => (app(spec).securityContext ??= {});
const podSc = (spec: V1PodSpec) => (spec.securityContext ??= {});

export const pssCases: PssCase[] = [
  { name: 'restricted', pod: { spec: restrictedSpec() }, violates: [] },
  { name: 'minimal', pod: { spec: minimalSpec() }, violates: RESTRICTED_ONLY },
  // PSS-B001 HostProcess
  {
    name: 'host-process',
    pod: {
      spec: restricted((s) => {
        s.hostNetwork = true;
        podSc(s).windowsOptions = { hostProcess: true };
      }),
    },
    violates: ['PSS-B001', 'PSS-B002'],
  },
  {
    name: 'host-process-false',
    pod: { spec: restricted((s) => (appSc(s).windowsOptions = { hostProcess: false })) },
    violates: [],
  },
  // PSS-B002 Host Namespaces
  { name: 'host-network', pod: { spec: restricted((s) => (s.hostNetwork = true)) }, violates: ['PSS-B002'] },
  {
    name: 'host-pid-ipc',
    pod: {
      spec: restricted((s) => {
        s.hostPID = true;
        s.hostIPC = true;
      }),
    },
    violates: ['PSS-B002'],
  },
  {
    name: 'host-namespaces-false',
    pod: {
      spec: restricted((s) => {
        s.hostNetwork = false;
        s.hostPID = false;
        s.hostIPC = false;
      }),
    },
    violates: [],
  },
  // PSS-B003 Privileged Containers (privileged implies privilege escalation)
  {
    name: 'privileged',
    pod: {
      spec: restricted((s) => {
        appSc(s).privileged = true;
        delete appSc(s).allowPrivilegeEscalation;
      }),
    },
    violates: ['PSS-B003', 'PSS-R002'],
  },
  {
    name: 'privileged-init',
    pod: {
      spec: restricted((s) => {
        s.initContainers = [{ name: 'init', image: IMAGE, securityContext: { privileged: true } }];
      }),
    },
    violates: ['PSS-B003', 'PSS-R002', 'PSS-R006'],
  },
  {
    name: 'privileged-false',
    pod: { spec: restricted((s) => (appSc(s).privileged = false)) },
    violates: [],
  },
  // PSS-B004 Capabilities (Baseline) and PSS-R006 Capabilities (Restricted)
  {
    name: 'caps-net-bind',
    pod: { spec: restricted((s) => (appSc(s).capabilities = { drop: ['ALL'], add: ['NET_BIND_SERVICE'] })) },
    violates: [],
  },
  {
    name: 'caps-chown',
    pod: { spec: restricted((s) => (appSc(s).capabilities = { drop: ['ALL'], add: ['CHOWN'] })) },
    violates: ['PSS-R006'],
  },
  {
    name: 'caps-net-raw',
    pod: { spec: restricted((s) => (appSc(s).capabilities = { drop: ['ALL'], add: ['NET_RAW', 'SYS_ADMIN'] })) },
    violates: ['PSS-B004', 'PSS-R006'],
  },
  {
    name: 'caps-no-drop',
    pod: { spec: restricted((s) => (appSc(s).capabilities = { drop: ['NET_RAW'] })) },
    violates: ['PSS-R006'],
  },
  {
    name: 'caps-drop-lowercase-all',
    pod: { spec: restricted((s) => (appSc(s).capabilities = { drop: ['all'] })) },
    violates: ['PSS-R006'],
  },
  // PSS-B005 HostPath Volumes and PSS-R001 Volume Types
  {
    name: 'volume-host-path',
    pod: { spec: restricted((s) => (s.volumes = [{ name: 'host', hostPath: { path: '/var/log' } }])) },
    violates: ['PSS-B005', 'PSS-R001'],
  },
  {
    name: 'volume-nfs',
    pod: { spec: restricted((s) => (s.volumes = [{ name: 'share', nfs: { server: 'nfs.example.com', path: '/' } }])) },
    violates: ['PSS-R001'],
  },
  {
    name: 'volume-git-repo',
    pod: {
      spec: restricted((s) => (s.volumes = [{ name: 'src', gitRepo: { repository: 'https://git.example.com/x' } }])),
    },
    violates: ['PSS-R001'],
  },
  {
    name: 'volume-allowed',
    pod: {
      spec: restricted((s) => {
        s.volumes = [
          { name: 'config', configMap: { name: 'config' } },
          { name: 'secret', secret: { secretName: 'secret' } },
          { name: 'scratch', emptyDir: {} },
          { name: 'claim', persistentVolumeClaim: { claimName: 'claim' } },
          { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
          { name: 'token', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } },
          { name: 'inline', csi: { driver: 'csi.example.com' } },
          {
            name: 'generic',
            ephemeral: {
              volumeClaimTemplate: {
                spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
              },
            },
          },
        ];
      }),
    },
    violates: [],
  },
  {
    name: 'volume-image',
    pod: { spec: restricted((s) => (s.volumes = [{ name: 'data', image: { reference: IMAGE } }])) },
    violates: [],
  },
  // PSS-B006 Host Ports
  {
    name: 'host-port',
    pod: { spec: restricted((s) => (app(s).ports = [{ containerPort: 8080, hostPort: 8080 }])) },
    violates: ['PSS-B006'],
  },
  {
    name: 'container-port',
    pod: { spec: restricted((s) => (app(s).ports = [{ containerPort: 8080 }])) },
    violates: [],
  },
  // PSS-B007 Host Probes / Lifecycle Hooks
  {
    name: 'probe-host',
    pod: {
      spec: restricted((s) => (app(s).livenessProbe = { httpGet: { host: '10.0.0.1', path: '/healthz', port: 8080 } })),
    },
    violates: ['PSS-B007'],
  },
  {
    name: 'probe-tcp-host',
    pod: { spec: restricted((s) => (app(s).readinessProbe = { tcpSocket: { host: 'example.com', port: 8080 } })) },
    violates: ['PSS-B007'],
  },
  {
    name: 'lifecycle-host',
    pod: {
      spec: restricted(
        (s) => (app(s).lifecycle = { preStop: { httpGet: { host: 'example.com', path: '/stop', port: 80 } } }),
      ),
    },
    violates: ['PSS-B007'],
  },
  {
    name: 'probe-no-host',
    pod: {
      spec: restricted((s) => {
        app(s).livenessProbe = { httpGet: { path: '/healthz', port: 8080 } };
        app(s).lifecycle = { preStop: { httpGet: { path: '/stop', port: 80 } } };
      }),
    },
    violates: [],
  },
  // PSS-B008 AppArmor
  {
    name: 'apparmor-unconfined',
    pod: { spec: restricted((s) => (podSc(s).appArmorProfile = { type: 'Unconfined' })) },
    violates: ['PSS-B008'],
  },
  {
    name: 'apparmor-container-unconfined',
    pod: { spec: restricted((s) => (appSc(s).appArmorProfile = { type: 'Unconfined' })) },
    violates: ['PSS-B008'],
  },
  {
    name: 'apparmor-annotation-unconfined',
    pod: {
      metadata: { annotations: { 'container.apparmor.security.beta.kubernetes.io/app': 'unconfined' } },
      spec: restricted(() => {}),
    },
    violates: ['PSS-B008'],
  },
  {
    name: 'apparmor-allowed',
    pod: {
      spec: restricted((s) => {
        podSc(s).appArmorProfile = { type: 'RuntimeDefault' };
        appSc(s).appArmorProfile = { type: 'Localhost', localhostProfile: 'k8s-app' };
      }),
    },
    violates: [],
  },
  // PSS-B009 SELinux
  {
    name: 'selinux-type',
    pod: { spec: restricted((s) => (podSc(s).seLinuxOptions = { type: 'spc_t' })) },
    violates: ['PSS-B009'],
  },
  {
    name: 'selinux-user-role',
    pod: { spec: restricted((s) => (appSc(s).seLinuxOptions = { user: 'system_u', role: 'system_r' })) },
    violates: ['PSS-B009'],
  },
  {
    name: 'selinux-allowed',
    pod: {
      spec: restricted((s) => {
        podSc(s).seLinuxOptions = { type: 'container_engine_t', level: 's0:c123,c456' };
        appSc(s).seLinuxOptions = { type: 'container_t' };
      }),
    },
    violates: [],
  },
  // PSS-B010 and PSS-R007 /proc Mount Type; user namespaces relax B010, R003 and R004
  {
    name: 'proc-mount-unmasked',
    pod: { spec: restricted((s) => (appSc(s).procMount = 'Unmasked')) },
    violates: ['PSS-B010', 'PSS-R007'],
    // Since Kubernetes v1.33 the API server accepts Unmasked only with hostUsers: false; older pods may have it.
    offlineOnly: true,
  },
  {
    name: 'userns-proc-mount-unmasked',
    pod: {
      spec: restricted((s) => {
        s.hostUsers = false;
        appSc(s).procMount = 'Unmasked';
      }),
    },
    violates: ['PSS-R007'],
  },
  {
    name: 'proc-mount-default',
    pod: { spec: restricted((s) => (appSc(s).procMount = 'Default')) },
    violates: [],
  },
  {
    name: 'userns-root',
    pod: {
      spec: restricted((s) => {
        s.hostUsers = false;
        podSc(s).runAsNonRoot = false;
        podSc(s).runAsUser = 0;
      }),
    },
    violates: [],
  },
  // PSS-B011 Seccomp (Baseline) and PSS-R005 Seccomp (Restricted)
  {
    name: 'seccomp-unconfined',
    pod: { spec: restricted((s) => (podSc(s).seccompProfile = { type: 'Unconfined' })) },
    violates: ['PSS-B011', 'PSS-R005'],
  },
  {
    name: 'seccomp-container-unconfined',
    pod: { spec: restricted((s) => (appSc(s).seccompProfile = { type: 'Unconfined' })) },
    violates: ['PSS-B011', 'PSS-R005'],
  },
  {
    name: 'seccomp-unset',
    pod: { spec: restricted((s) => delete podSc(s).seccompProfile) },
    violates: ['PSS-R005'],
  },
  {
    name: 'seccomp-container-only',
    pod: {
      spec: restricted((s) => {
        delete podSc(s).seccompProfile;
        appSc(s).seccompProfile = { type: 'Localhost', localhostProfile: 'profiles/app.json' };
      }),
    },
    violates: [],
  },
  // PSS-B012 Sysctls
  {
    name: 'sysctls-safe',
    pod: {
      spec: restricted(
        (s) =>
          (podSc(s).sysctls = [
            { name: 'kernel.shm_rmid_forced', value: '1' },
            { name: 'net.ipv4.tcp_rmem', value: '4096 87380 6291456' },
          ]),
      ),
    },
    violates: [],
  },
  {
    name: 'sysctls-unsafe',
    pod: { spec: restricted((s) => (podSc(s).sysctls = [{ name: 'kernel.msgmax', value: '65536' }])) },
    violates: ['PSS-B012'],
  },
  // PSS-R002 Privilege Escalation
  {
    name: 'privilege-escalation',
    pod: { spec: restricted((s) => (appSc(s).allowPrivilegeEscalation = true)) },
    violates: ['PSS-R002'],
  },
  {
    name: 'privilege-escalation-unset',
    pod: { spec: restricted((s) => delete appSc(s).allowPrivilegeEscalation) },
    violates: ['PSS-R002'],
  },
  // PSS-R003 Running as Non-root
  {
    name: 'run-as-root-pod',
    pod: {
      spec: restricted((s) => {
        podSc(s).runAsNonRoot = false;
        appSc(s).runAsNonRoot = true;
      }),
    },
    violates: ['PSS-R003'],
  },
  {
    name: 'run-as-non-root-container',
    pod: {
      spec: restricted((s) => {
        delete podSc(s).runAsNonRoot;
        appSc(s).runAsNonRoot = true;
      }),
    },
    violates: [],
  },
  {
    name: 'run-as-non-root-unset',
    pod: { spec: restricted((s) => delete podSc(s).runAsNonRoot) },
    violates: ['PSS-R003'],
  },
  // PSS-R004 Running as Non-root user
  {
    name: 'run-as-user-0',
    pod: { spec: restricted((s) => (appSc(s).runAsUser = 0)) },
    violates: ['PSS-R004'],
  },
  {
    name: 'run-as-user-1000',
    pod: { spec: restricted((s) => (podSc(s).runAsUser = 1000)) },
    violates: [],
  },
  // Windows pods are exempt from R002, R005 and R006.
  {
    name: 'windows',
    pod: {
      spec: {
        os: { name: 'windows' },
        securityContext: { runAsNonRoot: true },
        containers: [{ name: 'app', image: IMAGE }],
      },
    },
    violates: [],
  },
  // Ephemeral containers count like the others (added through a subresource, so only offline here).
  {
    name: 'ephemeral-privileged',
    pod: {
      spec: restricted((s) => {
        s.ephemeralContainers = [{ name: 'debug', image: IMAGE, securityContext: { privileged: true } }];
      }),
    },
    violates: ['PSS-B003', 'PSS-R002', 'PSS-R006'],
    offlineOnly: true,
  },
];

/** The pod object of a case in a namespace. */
export function casePod(c: PssCase, namespace: string, labels: Record<string, string> = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...c.pod.metadata,
      name: c.name,
      namespace,
      labels: { ...c.pod.metadata?.labels, ...labels },
    },
    spec: structuredClone(c.pod.spec),
  };
}
