// Reading the Secrets a ReportOutput refers to (credentialsRef, tls.caSecretRef), with errors that name the
// Secret and the key.
import { Resources } from '../../kube/resources.ts';
import { isNotFound, type KubeClient } from '../../kube/client.ts';
import { OutputError, errorMessage } from './types.ts';

interface SecretObject {
  metadata?: { name?: string };
  data?: Record<string, string>;
}

export interface SecretRef {
  name: string;
  namespace: string;
}

/** The Secret's data, decoded; OutputError SecretNotFound / SecretUnreadable. */
export async function readSecret(client: KubeClient, ref: SecretRef): Promise<Map<string, Buffer>> {
  let secret: SecretObject;
  try {
    secret = await client.get<SecretObject>(Resources.secrets, ref.name, ref.namespace);
  } catch (err) {
    if (isNotFound(err)) throw new OutputError('SecretNotFound', `Secret ${ref.namespace}/${ref.name} not found`);
    throw new OutputError('SecretUnreadable', `reading Secret ${ref.namespace}/${ref.name}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return new Map(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
}

/** One key of a Secret as text; undefined when absent unless `required`. */
export function secretKey(data: Map<string, Buffer>, ref: SecretRef, key: string, required: true): string;
export function secretKey(data: Map<string, Buffer>, ref: SecretRef, key: string, required?: false): string | undefined;
export function secretKey(
  data: Map<string, Buffer>,
  ref: SecretRef,
  key: string,
  required = false,
): string | undefined {
  const value = data.get(key);
  if (value === undefined || value.length === 0) {
    if (required) throw new OutputError('SecretKeyMissing', `Secret ${ref.namespace}/${ref.name} has no key ${key}`);
    return undefined;
  }
  return value.toString('utf8');
}

/** The PEM CA bundle of a `tls.caSecretRef` (key default `ca.crt`). */
export async function readCA(
  client: KubeClient,
  ref: { name: string; namespace: string; key?: string | undefined } | undefined,
): Promise<string | undefined> {
  if (!ref) return undefined;
  return secretKey(await readSecret(client, ref), ref, ref.key || 'ca.crt', true);
}
