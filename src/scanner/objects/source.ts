// Where a scan's objects come from: a live cluster or a snapshot. Every kind is read once per scan, on first
// use, and the same array is handed to every rule that asks (rules must not mutate objects).
import type { KubeClient } from '../../kube/client.ts';
import type { KubeObject, ResourceType } from '../../kube/resources.ts';
import { errorMessage } from '../../util/log.ts';
import { kindKey } from './kinds.ts';

/** A kind could not be read; rules turn this into an `Errored` check with target `kind: <Kind>List`. */
export class ObjectReadError extends Error {
  readonly kind: string;
  constructor(kind: string, cause: unknown) {
    super(errorMessage(cause));
    this.name = 'ObjectReadError';
    this.kind = kind;
  }
}

export interface ReadProgress {
  kind: string;
  objects: number;
}

export interface ObjectSource {
  /** `live` reads a cluster's API; `snapshot` reads manifests captured earlier. */
  readonly mode: 'live' | 'snapshot';
  /** Every object of a kind, across namespaces. Throws ObjectReadError when the kind cannot be read. */
  list<T extends KubeObject = KubeObject>(rt: ResourceType): Promise<T[]>;
  /** Number of objects read so far, for progress. */
  readonly objectsRead: number;
}

/** Fields no rule reads; dropping them on arrival keeps a large scan's memory down. */
export function slim<T extends KubeObject>(obj: T): T {
  if (obj.metadata && 'managedFields' in obj.metadata)
    delete (obj.metadata as { managedFields?: unknown }).managedFields;
  return obj;
}

/** Reads from a cluster: paginated lists, different kinds concurrently, one list per kind per scan. */
export class LiveObjectSource implements ObjectSource {
  readonly mode = 'live' as const;
  readonly client: KubeClient;
  objectsRead = 0;
  readonly #pageSize: number;
  readonly #onRead: ((progress: ReadProgress) => void) | undefined;
  readonly #lists = new Map<string, Promise<KubeObject[]>>();

  constructor(client: KubeClient, options: { pageSize?: number; onRead?: (progress: ReadProgress) => void } = {}) {
    this.client = client;
    this.#pageSize = options.pageSize ?? 500;
    this.#onRead = options.onRead;
  }

  list<T extends KubeObject = KubeObject>(rt: ResourceType): Promise<T[]> {
    const key = kindKey(rt);
    let list = this.#lists.get(key);
    if (!list) {
      list = this.#read(rt);
      this.#lists.set(key, list);
    }
    return list as Promise<T[]>;
  }

  async #read(rt: ResourceType): Promise<KubeObject[]> {
    const items: KubeObject[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.list(rt, { limit: this.#pageSize, continue: token });
        for (const item of page.items) items.push(slim(item));
        this.objectsRead += page.items.length;
        this.#onRead?.({ kind: rt.kind, objects: items.length });
        token = page.metadata.continue || undefined;
      } while (token);
    } catch (err) {
      throw new ObjectReadError(rt.kind, err);
    }
    // The API leaves apiVersion/kind off list items; rules and reports want them.
    const apiVersion = rt.group ? `${rt.group}/${rt.version}` : rt.version;
    for (const item of items) {
      item.apiVersion ??= apiVersion;
      item.kind ??= rt.kind;
    }
    return items;
  }
}

/** Objects captured earlier (objects/snapshot.ts loads them); kinds absent from the snapshot are empty. */
export class SnapshotObjectSource implements ObjectSource {
  readonly mode = 'snapshot' as const;
  readonly #byKind: Map<string, KubeObject[]>;
  objectsRead = 0;

  constructor(byKind: Map<string, KubeObject[]>) {
    this.#byKind = byKind;
  }

  list<T extends KubeObject = KubeObject>(rt: ResourceType): Promise<T[]> {
    const items = (this.#byKind.get(kindKey(rt)) ?? []) as T[];
    return Promise.resolve(items);
  }
}
