// The values of the Kubernetes Pod Security Standards that change between Kubernetes releases: the safe sysctls,
// the SELinux types, and which controls exist or are relaxed in a release. One constant per ruleset version; the
// controls (controls.ts) read everything version-specific from here.

export type PssLevel = 'baseline' | 'restricted';

export interface PssPolicy {
  /** The Kubernetes minor release whose Pod Security Standards this is, e.g. `v1.36`. */
  version: string;
  /** Capabilities a container may add under Baseline. */
  baselineCapabilities: readonly string[];
  /** Sysctls a pod may set under Baseline ("safe": namespaced and isolated from other pods). */
  safeSysctls: readonly string[];
  /** SELinux types a pod or container may set under Baseline; "" (unset) is always allowed. */
  seLinuxTypes: readonly string[];
  /** Inline volume sources allowed under Restricted. */
  restrictedVolumeTypes: readonly string[];
  /** Whether pods in a user namespace (`hostUsers: false`) are exempt from procMount (Baseline), runAsNonRoot and runAsUser. */
  userNamespaceRelaxation: boolean;
}

/** Pod Security Standards as of Kubernetes v1.36 (unchanged since v1.35). */
export const PSS_V1_36: PssPolicy = {
  version: 'v1.36',
  baselineCapabilities: [
    'AUDIT_WRITE',
    'CHOWN',
    'DAC_OVERRIDE',
    'FOWNER',
    'FSETID',
    'KILL',
    'MKNOD',
    'NET_BIND_SERVICE',
    'SETFCAP',
    'SETGID',
    'SETPCAP',
    'SETUID',
    'SYS_CHROOT',
  ],
  safeSysctls: [
    'kernel.shm_rmid_forced',
    'net.ipv4.ip_local_port_range',
    'net.ipv4.ip_unprivileged_port_start',
    'net.ipv4.tcp_syncookies',
    'net.ipv4.ping_group_range',
    'net.ipv4.ip_local_reserved_ports',
    'net.ipv4.tcp_keepalive_time',
    'net.ipv4.tcp_fin_timeout',
    'net.ipv4.tcp_keepalive_intvl',
    'net.ipv4.tcp_keepalive_probes',
    'net.ipv4.tcp_rmem',
    'net.ipv4.tcp_wmem',
  ],
  seLinuxTypes: ['container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t'],
  restrictedVolumeTypes: [
    'configMap',
    'csi',
    'downwardAPI',
    'emptyDir',
    'ephemeral',
    'image',
    'persistentVolumeClaim',
    'projected',
    'secret',
  ],
  userNamespaceRelaxation: true,
};

/** The namespace label Pod Security Admission enforces, and the levels it takes, least strict first. */
export const ENFORCE_LABEL = 'pod-security.kubernetes.io/enforce';
export const LEVELS = ['privileged', 'baseline', 'restricted'] as const;
