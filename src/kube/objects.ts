// Write helpers shared by controllers: read-modify-write with conflict retry (for status and anything
// else), finalizers, owner references. Writes carry the resourceVersion they were based on, so a
// concurrent writer causes a 409 and a retry on fresh data instead of a lost update.
import { sleep, jitter } from '../util/time.ts';
import { isConflict, type KubeClient } from './client.ts';
import { apiVersionOf, type KubeObject, type OwnerReference, type ResourceType } from './resources.ts';

export interface UpdateOptions {
  /** Write to a subresource, e.g. "status". */
  subresource?: string;
  fieldManager?: string;
  /** Attempts before a persistent conflict is given up. Default 10. */
  attempts?: number;
}

/**
 * Reads the object, applies `mutate` to a copy and writes it back with the read resourceVersion;
 * on 409 Conflict it reads again and retries. `mutate` returns false to skip the write (nothing to do).
 * Returns the written (or unchanged) object, or undefined if it does not exist.
 */
export async function updateWithRetry<T extends KubeObject>(
  client: KubeClient,
  rt: ResourceType,
  name: string,
  namespace: string | undefined,
  mutate: (obj: T) => boolean | void,
  options: UpdateOptions = {},
): Promise<T | undefined> {
  const attempts = options.attempts ?? 10;
  for (let attempt = 1; ; attempt++) {
    const current = await client.getOrUndefined<T>(rt, name, namespace);
    if (!current) return undefined;
    const next = structuredClone(current);
    if (mutate(next) === false) return current;
    try {
      return await client.replace<T>(rt, next, {
        subresource: options.subresource,
        fieldManager: options.fieldManager,
      });
    } catch (err) {
      if (!isConflict(err) || attempt >= attempts) throw err;
      await sleep(jitter(10 * attempt, 1));
    }
  }
}

/** Updates the status subresource with conflict retry. */
export function updateStatus<T extends KubeObject>(
  client: KubeClient,
  rt: ResourceType,
  name: string,
  namespace: string | undefined,
  mutate: (obj: T) => boolean | void,
  options: Omit<UpdateOptions, 'subresource'> = {},
): Promise<T | undefined> {
  return updateWithRetry(client, rt, name, namespace, mutate, { ...options, subresource: 'status' });
}

export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return obj.metadata?.finalizers?.includes(finalizer) ?? false;
}

/** Adds the finalizer unless present; returns the current object. */
export async function ensureFinalizer<T extends KubeObject>(
  client: KubeClient,
  rt: ResourceType,
  obj: T,
  finalizer: string,
): Promise<T> {
  if (hasFinalizer(obj, finalizer)) return obj;
  const { name = '', namespace } = obj.metadata ?? {};
  const updated = await updateWithRetry<T>(client, rt, name, namespace, (o) => {
    if (hasFinalizer(o, finalizer) || o.metadata?.deletionTimestamp) return false;
    o.metadata = { ...o.metadata, finalizers: [...(o.metadata?.finalizers ?? []), finalizer] };
  });
  return updated ?? obj;
}

/** Removes the finalizer if present; the object may be gone right after. */
export async function removeFinalizer<T extends KubeObject>(
  client: KubeClient,
  rt: ResourceType,
  obj: T,
  finalizer: string,
): Promise<void> {
  if (!hasFinalizer(obj, finalizer)) return;
  const { name = '', namespace } = obj.metadata ?? {};
  await updateWithRetry<T>(client, rt, name, namespace, (o) => {
    if (!hasFinalizer(o, finalizer)) return false;
    o.metadata = { ...o.metadata, finalizers: o.metadata!.finalizers!.filter((f) => f !== finalizer) };
  });
}

/** An owner reference to `owner`; `controller` marks it as the managing controller. */
export function ownerReference(owner: KubeObject, rt: ResourceType, controller = true): OwnerReference {
  const { name, uid } = owner.metadata ?? {};
  if (!name || !uid) throw new Error(`owner ${rt.kind} needs metadata.name and metadata.uid`);
  return {
    apiVersion: owner.apiVersion ?? apiVersionOf(rt),
    kind: owner.kind ?? rt.kind,
    name,
    uid,
    controller,
    blockOwnerDeletion: true,
  };
}

/** Sets `owner` as the controller of `obj` (in place); fails if another controller owns it. */
export function setControllerReference<T extends KubeObject>(owner: KubeObject, rt: ResourceType, obj: T): T {
  const ref = ownerReference(owner, rt);
  const refs = obj.metadata?.ownerReferences ?? [];
  const other = refs.find((r) => r.controller && r.uid !== ref.uid);
  if (other) throw new Error(`${obj.metadata?.name} is already controlled by ${other.kind} ${other.name}`);
  obj.metadata = { ...obj.metadata, ownerReferences: [...refs.filter((r) => r.uid !== ref.uid), ref] };
  return obj;
}

export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller);
}
