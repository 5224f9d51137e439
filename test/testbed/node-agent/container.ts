// What one container run needs besides its process: the environment (what a kubelet injects, env and
// envFrom from ConfigMaps, Secrets and the downward API), the command line (the image entrypoint `argus` is
// this repository's CLI), the shell script that sets up the container's mount namespace before exec'ing
// the command, and the termination message read back when the container exits.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { V1Container, V1EnvVarSource } from '@kubernetes/client-node';
import { isNotFound } from '../../../src/kube/client.ts';
import { agentRoot, type HostTools } from './host.ts';
import type { PodSource } from './pod-runner.ts';
import { expand, POD_IP } from './util.ts';

const REPOSITORY = resolve(import.meta.dirname, '../../..');
const NODE_DIR = dirname(process.execPath);
/**
 * Where a container sees this repository and the Node runtime: bound there before the pod's own mounts, so a
 * volume mounted over their real place (an emptyDir at /tmp, where a CI checkout may live) hides neither.
 * Needs root (the mounts); otherwise the command runs from the real paths.
 */
const STAGE = process.getuid?.() === 0 ? join(agentRoot(), 'argus') : undefined;
const CLI = join(STAGE ? `${STAGE}/repository` : REPOSITORY, 'src/cli/main.ts');
const NODE = join(STAGE ? `${STAGE}/node` : NODE_DIR, basename(process.execPath));

/** A bind mount in a container's mount namespace. */
export interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
  file: boolean;
}

export async function environment(src: PodSource, spec: V1Container): Promise<Record<string, string>> {
  const port = String(src.ctx.apiServerPort());
  // What a kubelet injects, and PATH so that commands resolve as on the host.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOSTNAME: src.pod.metadata?.name ?? '',
    KUBERNETES_SERVICE_HOST: POD_IP,
    KUBERNETES_SERVICE_PORT: port,
    KUBERNETES_SERVICE_PORT_HTTPS: port,
  };
  for (const source of spec.envFrom ?? []) {
    const ref = source.configMapRef ?? source.secretRef;
    const data = source.configMapRef
      ? await configMapData(src, ref?.name ?? '', ref?.optional)
      : await secretData(src, ref?.name ?? '', ref?.optional);
    for (const [key, value] of Object.entries(data ?? {})) env[`${source.prefix ?? ''}${key}`] = value.toString();
  }
  for (const variable of spec.env ?? []) {
    const value = variable.valueFrom ? await valueFrom(src, variable.valueFrom) : expand(variable.value ?? '', env);
    if (value !== undefined) env[variable.name] = value;
  }
  return env;
}

async function valueFrom(src: PodSource, source: V1EnvVarSource): Promise<string | undefined> {
  if (source.fieldRef) return fieldValue(src, source.fieldRef.fieldPath);
  const ref = source.configMapKeyRef ?? source.secretKeyRef;
  if (!ref) throw new Error('only fieldRef, configMapKeyRef and secretKeyRef env sources are supported');
  const what = source.configMapKeyRef ? 'configmap' : 'secret';
  const data = source.configMapKeyRef
    ? await configMapData(src, ref.name ?? '', ref.optional)
    : await secretData(src, ref.name ?? '', ref.optional);
  const value = data?.[ref.key];
  if (value === undefined && !ref.optional) throw new Error(`${what} "${ref.name}" has no key "${ref.key}"`);
  return value?.toString();
}

/** A downward API field of the pod, for env fieldRefs and downwardAPI volumes. */
export function fieldValue(src: PodSource, path: string): string {
  const { metadata = {}, spec } = src.pod;
  const item = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (item) return (item[1] === 'labels' ? metadata.labels : metadata.annotations)?.[item[2] ?? ''] ?? '';
  switch (path) {
    case 'metadata.name':
      return metadata.name ?? '';
    case 'metadata.namespace':
      return metadata.namespace ?? '';
    case 'metadata.uid':
      return metadata.uid ?? '';
    case 'metadata.labels':
      return formatMap(metadata.labels);
    case 'metadata.annotations':
      return formatMap(metadata.annotations);
    case 'spec.nodeName':
      return src.ctx.nodeName;
    case 'spec.serviceAccountName':
      return spec?.serviceAccountName ?? 'default';
    case 'status.podIP':
    case 'status.podIPs':
    case 'status.hostIP':
    case 'status.hostIPs':
      return POD_IP;
  }
  throw new Error(`fieldRef ${path} is not supported by the testbed node agent`);
}

export async function configMapData(
  src: PodSource,
  name: string,
  optional?: boolean,
): Promise<Record<string, Buffer> | undefined> {
  const cm = await getOptional<{ data?: Record<string, string>; binaryData?: Record<string, string> }>(
    src,
    'configmaps',
    name,
    optional,
  );
  if (!cm) return undefined;
  return {
    ...mapValues(cm.binaryData, (v) => Buffer.from(v, 'base64')),
    ...mapValues(cm.data, (v) => Buffer.from(v)),
  };
}

export async function secretData(
  src: PodSource,
  name: string,
  optional?: boolean,
): Promise<Record<string, Buffer> | undefined> {
  const secret = await getOptional<{ data?: Record<string, string> }>(src, 'secrets', name, optional);
  return secret && mapValues(secret.data, (v) => Buffer.from(v, 'base64'));
}

/** GETs a ConfigMap or Secret of the pod's namespace; a missing one is an error unless optional. */
async function getOptional<T>(
  src: PodSource,
  resource: string,
  name: string,
  optional?: boolean,
): Promise<T | undefined> {
  const namespace = src.pod.metadata?.namespace ?? '';
  try {
    return await src.ctx.api<T>('GET', `/api/v1/namespaces/${namespace}/${resource}/${name}`);
  } catch (err) {
    if (isNotFound(err) && optional) return undefined;
    if (isNotFound(err)) throw new Error(`${resource} "${name}" not found`, { cause: err });
    throw err;
  }
}

/** The termination message: the file the container wrote, or with FallbackToLogsOnError the log's tail. */
export function terminationMessage(
  spec: V1Container,
  messageFile: string,
  logFile: string,
  exitCode: number,
): string | undefined {
  let text = readFileSync(messageFile).subarray(0, 4096).toString();
  if (!text && exitCode !== 0 && spec.terminationMessagePolicy === 'FallbackToLogsOnError' && existsSync(logFile)) {
    const lines = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-80).join('\n');
    text = Buffer.from(lines).subarray(-2048).toString();
  }
  return text || undefined;
}

/** `command` (default: the image entrypoint `argus`) + `args`; `argus` is this repository's CLI. */
export function commandLine(spec: V1Container, env: Record<string, string>): string[] {
  const argv = [...(spec.command?.length ? spec.command : ['argus']), ...(spec.args ?? [])].map((a) => expand(a, env));
  const [executable = '', ...rest] = argv;
  return executable === 'argus' || executable.endsWith('/argus') ? [NODE, CLI, ...rest] : argv;
}

/**
 * The shell script that runs in the container's mount namespace: /proc of the PID namespace (hostPID pods),
 * bind mounts, working dir, a line to `readyFile` (opened before the mounts could hide it), then the command.
 */
export function mountScript(
  tools: HostTools,
  mounts: Mount[],
  workingDir: string | undefined,
  { readyFile, mountProc }: { readyFile: string; mountProc: boolean },
): string {
  const lines = ['set -e', `exec 3>>${quote(readyFile)}`];
  if (STAGE) {
    for (const [source, target] of [
      [REPOSITORY, `${STAGE}/repository`],
      [NODE_DIR, `${STAGE}/node`],
    ] as const) {
      lines.push(`${tools.mkdir} -p ${quote(target)}`, `${tools.mount} --bind ${quote(source)} ${quote(target)}`);
    }
  }
  if (mountProc) lines.push(`${tools.mount} -t proc proc /proc`);
  for (const { source, target, readOnly, file } of mounts) {
    // Mount points were created on the host; this covers those inside other mounted volumes.
    lines.push(
      file
        ? `${tools.mkdir} -p ${quote(dirname(target))}; [ -e ${quote(target)} ] || : > ${quote(target)}`
        : `${tools.mkdir} -p ${quote(target)}`,
      `${tools.mount} --bind ${quote(source)} ${quote(target)}`,
    );
    if (readOnly) lines.push(`${tools.mount} -o remount,bind,ro ${quote(target)}`);
  }
  if (workingDir) lines.push(`if [ -d ${quote(workingDir)} ]; then cd ${quote(workingDir)}; fi`);
  lines.push('echo started >&3', 'exec 3>&-', 'exec "$@"');
  return lines.join('\n');
}

function formatMap(map: Record<string, string> | undefined): string {
  return Object.entries(map ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join('\n');
}

function mapValues<T>(map: Record<string, string> | undefined, fn: (value: string) => T): Record<string, T> {
  return Object.fromEntries(Object.entries(map ?? {}).map(([k, v]) => [k, fn(v)]));
}

const quote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;
