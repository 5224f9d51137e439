// A pod's volumes and a container's mounts: configMap, secret, downwardAPI, projected (service-account
// tokens included) and emptyDir volumes are written into the pod's directory, hostPath volumes resolve under
// the node root (node-host.ts) with the kubelet's type checks, and each container's volumeMounts (plus its termination-message file) become the bind mounts
// that its mount-namespace script sets up.
import { chmodSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import type {
  V1Container,
  V1DownwardAPIVolumeFile,
  V1HostPathVolumeSource,
  V1KeyToPath,
} from '@kubernetes/client-node';
import { configMapData, fieldValue, secretData, type Mount } from './container.ts';
import type { PodSource } from './pod-runner.ts';
import { expand } from './util.ts';

/** Writes every volume into the pod's directory (hostPath volumes: in the node root); fills `volumes`. */
export async function prepareVolumes(src: PodSource, podDir: string, volumes: Map<string, string>): Promise<void> {
  volumes.clear();
  for (const volume of src.pod.spec?.volumes ?? []) {
    if (volume.hostPath) {
      volumes.set(volume.name, hostPath(src.ctx.nodeRoot, volume.hostPath));
      continue;
    }
    const dir = join(podDir, 'volumes', volume.name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const { configMap, secret, downwardAPI, projected } = volume;
    if (volume.emptyDir) {
      // nothing to write
    } else if (configMap) {
      const data = await configMapData(src, configMap.name ?? '', configMap.optional);
      writeKeys(dir, data, configMap.items, configMap.defaultMode, configMap.optional);
    } else if (secret) {
      const data = await secretData(src, secret.secretName ?? '', secret.optional);
      writeKeys(dir, data, secret.items, secret.defaultMode, secret.optional);
    } else if (downwardAPI) {
      writeDownwardAPI(src, dir, downwardAPI.items, downwardAPI.defaultMode);
    } else if (projected) {
      for (const source of projected.sources ?? []) {
        const mode = projected.defaultMode;
        if (source.serviceAccountToken) {
          const { audience, expirationSeconds, path } = source.serviceAccountToken;
          writeFile(join(dir, path), await token(src, audience, expirationSeconds), mode);
        } else if (source.configMap) {
          const { name, items, optional } = source.configMap;
          writeKeys(dir, await configMapData(src, name ?? '', optional), items, mode, optional);
        } else if (source.secret) {
          const { name, items, optional } = source.secret;
          writeKeys(dir, await secretData(src, name ?? '', optional), items, mode, optional);
        } else if (source.downwardAPI) {
          writeDownwardAPI(src, dir, source.downwardAPI.items, mode);
        } else {
          throw new Error(`volume ${volume.name}: unsupported projected source ${Object.keys(source).join(', ')}`);
        }
      }
    } else {
      throw new Error(
        `volume ${volume.name}: the testbed supports configMap, secret, emptyDir, downwardAPI, projected and hostPath volumes`,
      );
    }
    volumes.set(volume.name, dir);
  }
}

/** The path on the machine of a hostPath volume: checked against its type, created for the *OrCreate types. */
function hostPath(nodeRoot: string, source: V1HostPathVolumeSource): string {
  const path = join(nodeRoot, source.path);
  const type = source.type ?? '';
  let stat: Stats | undefined = statSync(path, { throwIfNoEntry: false });
  if (!stat && (type === '' || type === 'DirectoryOrCreate')) {
    // As the container runtime does for a missing bind-mount source (and the kubelet for DirectoryOrCreate).
    mkdirSync(path, { recursive: true, mode: 0o755 });
  } else if (!stat && type === 'FileOrCreate') {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    writeFileSync(path, '', { mode: 0o644 });
  }
  stat = statSync(path, { throwIfNoEntry: false });
  const checks: Record<string, [(s: Stats) => boolean, string]> = {
    Directory: [(s) => s.isDirectory(), 'a directory'],
    DirectoryOrCreate: [(s) => s.isDirectory(), 'a directory'],
    File: [(s) => s.isFile(), 'a file'],
    FileOrCreate: [(s) => s.isFile(), 'a file'],
    Socket: [(s) => s.isSocket(), 'a socket'],
    CharDevice: [(s) => s.isCharacterDevice(), 'a character device'],
    BlockDevice: [(s) => s.isBlockDevice(), 'a block device'],
  };
  const check = checks[type];
  if (type !== '' && !check) throw new Error(`hostPath ${source.path}: unknown type ${type}`);
  if (!stat) throw new Error(`hostPath type check failed: ${source.path} does not exist`);
  if (check && !check[0](stat)) throw new Error(`hostPath type check failed: ${source.path} is not ${check[1]}`);
  return path;
}

function writeDownwardAPI(
  src: PodSource,
  dir: string,
  items: V1DownwardAPIVolumeFile[] = [],
  defaultMode?: number,
): void {
  for (const item of items) {
    if (!item.fieldRef) throw new Error(`downwardAPI ${item.path}: only fieldRef is supported`);
    writeFile(join(dir, item.path), fieldValue(src, item.fieldRef.fieldPath), item.mode ?? defaultMode);
  }
}

/** A service-account token from the TokenRequest API, bound to the pod like the kubelet's. */
async function token(
  src: PodSource,
  audience: string | undefined,
  expirationSeconds: number | undefined,
): Promise<string> {
  const { namespace, name, uid } = src.pod.metadata ?? {};
  const serviceAccount = src.pod.spec?.serviceAccountName ?? 'default';
  const review = await src.ctx.api<{ status?: { token?: string } }>(
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
    {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: {
        audiences: audience ? [audience] : [], // none: the API server's own audiences
        expirationSeconds: expirationSeconds ?? 3600,
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name, uid },
      },
    },
  );
  if (!review.status?.token) throw new Error(`no token for service account ${namespace}/${serviceAccount}`);
  return review.status.token;
}

/** The bind mounts of a container: its volumeMounts, then its termination-message file; parents first. */
export function containerMounts(
  volumes: Map<string, string>,
  spec: V1Container,
  env: Record<string, string>,
  messageFile: string,
): Mount[] {
  const mounts: Mount[] = [];
  for (const vm of spec.volumeMounts ?? []) {
    const volume = volumes.get(vm.name);
    if (!volume) throw new Error(`volumeMount ${vm.mountPath}: no volume ${vm.name}`);
    const subPath = vm.subPathExpr ? expand(vm.subPathExpr, env) : vm.subPath;
    const source = subPath ? join(volume, subPath) : volume;
    if (!existsSync(source)) mkdirSync(source, { recursive: true }); // as the kubelet does for subPaths
    mounts.push({
      source,
      target: vm.mountPath,
      readOnly: vm.readOnly === true,
      file: !statSync(source).isDirectory(),
    });
  }
  const target = spec.terminationMessagePath ?? '/dev/termination-log';
  mounts.push({ source: messageFile, target, readOnly: false, file: true });
  // Parents first, so that mounts nested in other mounts stay visible.
  return mounts.sort((a, b) => a.target.split('/').length - b.target.split('/').length);
}

function writeKeys(
  dir: string,
  data: Record<string, Buffer> | undefined,
  items: V1KeyToPath[] | undefined,
  defaultMode: number | undefined,
  optional: boolean | undefined,
): void {
  if (!data) return; // optional and missing
  if (!items?.length) {
    for (const [key, value] of Object.entries(data)) writeFile(join(dir, key), value, defaultMode);
    return;
  }
  for (const item of items) {
    const value = data[item.key];
    if (value === undefined && optional) continue;
    if (value === undefined) throw new Error(`key "${item.key}" not found`);
    writeFile(join(dir, item.path), value, item.mode ?? defaultMode);
  }
}

function writeFile(path: string, content: string | Buffer, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  chmodSync(path, mode); // exact mode, whatever the umask
}
