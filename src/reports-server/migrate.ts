// `argus reports-server migrate`: moves the reports stored as CRDs in etcd into the reports store and hands
// the API groups over to the reports server. For each report type: list every object through the CRD
// (paginated) and write it to the store, then follow a watch from the list's resourceVersion while the
// APIServices are switched to the reports server's Service (the automanaged label removed, so kube-apiserver
// no longer maintains them for the CRDs), until they are Available and a grace period has passed: writes
// that reached the CRDs before the switch arrive through the watch. Objects keep names, labels,
// annotations, owner references, finalizers and content; the store gives them a new uid, resourceVersion
// and creationTimestamp. Running it again is harmless (existing objects are updated to the CRD's version).
import type { KubeObject } from '../api/meta.ts';
import type { KubeClient } from '../kube/client.ts';
import { ApiError } from '../kube/client.ts';
import { Resources } from '../kube/resources.ts';
import { errorMessage, logger } from '../util/log.ts';
import { sleep, waitFor } from '../util/time.ts';
import { StorageError } from './storage/errors.ts';
import type { ReportStorage, ResourceType } from './storage/types.ts';

const log = logger('reports-migrate');

export interface MigrationOptions {
  /** The reports server's Service the APIServices are pointed at. */
  service: { namespace: string; name: string; port: number };
  /** PEM of the CA of the reports server's serving certificate. */
  caBundle: string;
  /** How long to keep applying CRD watch events after the APIServices are Available (default 5 s). */
  drainMs?: number;
  /** Give up waiting for Available after this long (default 60 s). */
  timeoutMs?: number;
}

export interface MigrationResult {
  /** Objects written per `resource.group`. */
  copied: Record<string, number>;
  /** Changes applied from the watches during the switch. */
  followed: number;
}

const AUTOMANAGED = 'kube-aggregator.kubernetes.io/automanaged';

/** The object as the store should take it: identity and server-set fields removed. */
function portable(object: KubeObject): KubeObject {
  const copy = structuredClone(object);
  const meta = copy.metadata;
  for (const key of [
    'uid',
    'resourceVersion',
    'creationTimestamp',
    'generation',
    'managedFields',
    'selfLink',
  ] as const) {
    delete meta[key];
  }
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  return copy;
}

/** Writes `object` to the store: created, or the stored one replaced by it. */
async function put(storage: ReportStorage, type: ResourceType, object: KubeObject): Promise<void> {
  const next = portable(object);
  for (let attempt = 0; ; attempt++) {
    try {
      await storage.create(type, next);
      return;
    } catch (err) {
      if (!(err instanceof StorageError) || err.reason !== 'AlreadyExists') throw err;
    }
    try {
      const current = await storage.get(type, next.metadata.namespace ?? '', next.metadata.name!);
      await storage.update(type, {
        ...next,
        metadata: { ...next.metadata, resourceVersion: current.metadata.resourceVersion! },
      });
      return;
    } catch (err) {
      const retry = err instanceof StorageError && (err.reason === 'Conflict' || err.reason === 'NotFound');
      if (!retry || attempt >= 5) throw err;
    }
  }
}

async function remove(storage: ReportStorage, type: ResourceType, object: KubeObject): Promise<void> {
  try {
    await storage.delete(type, object.metadata.namespace ?? '', object.metadata.name!);
  } catch (err) {
    if (!(err instanceof StorageError) || err.reason !== 'NotFound') throw err;
  }
}

interface APIService extends KubeObject {
  spec: Record<string, unknown>;
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

export async function migrateFromCrds(
  client: KubeClient,
  storage: ReportStorage,
  options: MigrationOptions,
): Promise<MigrationResult> {
  const result: MigrationResult = { copied: {}, followed: 0 };
  const abort = new AbortController();
  const followers: Promise<void>[] = [];
  try {
    for (const type of storage.types) {
      const key = `${type.resource}.${type.group}`;
      const list = await client.listAll<KubeObject>(type);
      for (const item of list.items) await put(storage, type, item);
      result.copied[key] = list.items.length;
      log.info({ resource: key, objects: list.items.length }, 'copied from the CRD');
      followers.push(
        (async () => {
          try {
            for await (const event of client.watch<KubeObject>(type, {
              resourceVersion: list.metadata.resourceVersion,
              signal: abort.signal,
            })) {
              if (event.type === 'ADDED' || event.type === 'MODIFIED') await put(storage, type, event.object);
              else if (event.type === 'DELETED') await remove(storage, type, event.object);
              else continue;
              result.followed++;
            }
          } catch (err) {
            if (!abort.signal.aborted) log.warn({ resource: key, err: errorMessage(err) }, 'CRD watch ended');
          }
        })(),
      );
    }
    // Switch every group-version to the reports server.
    const names = [...new Set(storage.types.map((t) => `${t.version}.${t.group}`))];
    for (const name of names) {
      for (let attempt = 0; ; attempt++) {
        const current = await client.get<APIService>(Resources.apiServices, name);
        const labels = { ...(current.metadata.labels ?? {}) };
        delete labels[AUTOMANAGED];
        const next: APIService = {
          ...current,
          metadata: { ...current.metadata, labels },
          spec: {
            ...current.spec,
            service: options.service,
            caBundle: Buffer.from(options.caBundle).toString('base64'),
            insecureSkipTLSVerify: false,
          },
        };
        try {
          await client.replace(Resources.apiServices, next);
          break;
        } catch (err) {
          if (err instanceof ApiError && err.code === 409 && attempt < 5) continue;
          throw err;
        }
      }
    }
    for (const name of names) {
      let last = '';
      try {
        await waitFor(
          `APIService ${name} to become Available on the reports server`,
          async () => {
            const current = await client.get<APIService>(Resources.apiServices, name);
            const available = current.status?.conditions?.find((c) => c.type === 'Available');
            last = available ? `${available.reason ?? ''}: ${available.message ?? ''}` : '';
            return available?.status === 'True';
          },
          { timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 250 },
        );
      } catch (err) {
        throw new Error(`${errorMessage(err)}${last ? ` (${last})` : ''}`, { cause: err });
      }
    }
    await sleep(options.drainMs ?? 5_000);
    return result;
  } finally {
    abort.abort();
    await Promise.all(followers);
  }
}
