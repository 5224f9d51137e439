// How an extension API server behind the aggregation layer authenticates callers, as kube-apiserver
// publishes it in ConfigMap kube-system/extension-apiserver-authentication: the client CA for direct
// callers, and the request-header (front-proxy) settings for requests the aggregator proxies.
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { KubeClient } from './client.ts';
import { Resources } from './resources.ts';

export const AUTHENTICATION_CONFIGMAP = { namespace: 'kube-system', name: 'extension-apiserver-authentication' };

export interface RequestHeaderConfig {
  /** PEM bundle that signs the front-proxy client certificate. */
  clientCA: string;
  /** Common names the front-proxy client certificate may carry; empty means any name signed by clientCA. */
  allowedNames: string[];
  usernameHeaders: string[];
  groupHeaders: string[];
  extraHeaderPrefixes: string[];
}

export interface AuthenticationConfig {
  /** PEM bundle of the CA for client certificates of direct callers (--client-ca-file), if set. */
  clientCA?: string;
  /** Front-proxy settings; absent when kube-apiserver runs without --requestheader-client-ca-file. */
  requestHeader?: RequestHeaderConfig;
}

export interface ProxiedUser {
  username: string;
  groups: string[];
  extra: Record<string, string[]>;
}

/** Reads the authentication settings that kube-apiserver publishes for extension API servers. */
export async function readAuthenticationConfig(client: KubeClient): Promise<AuthenticationConfig> {
  const { namespace, name } = AUTHENTICATION_CONFIGMAP;
  const cm = await client.get<V1ConfigMap>(Resources.configMaps, name, namespace);
  return parseAuthenticationConfig(cm.data ?? {});
}

export function parseAuthenticationConfig(data: Record<string, string>): AuthenticationConfig {
  // The list-valued keys hold JSON arrays, e.g. '["X-Remote-User"]'.
  const list = (key: string): string[] => {
    const value = data[key];
    if (!value) return [];
    const parsed: unknown = JSON.parse(value);
    if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'string')) {
      throw new Error(`${AUTHENTICATION_CONFIGMAP.name}: ${key} is not a JSON list of strings`);
    }
    return parsed;
  };
  const config: AuthenticationConfig = {};
  if (data['client-ca-file']) config.clientCA = data['client-ca-file'];
  if (data['requestheader-client-ca-file']) {
    config.requestHeader = {
      clientCA: data['requestheader-client-ca-file'],
      allowedNames: list('requestheader-allowed-names'),
      usernameHeaders: list('requestheader-username-headers'),
      groupHeaders: list('requestheader-group-headers'),
      extraHeaderPrefixes: list('requestheader-extra-headers-prefix'),
    };
  }
  return config;
}

/**
 * The user a front-proxy request speaks for, or undefined when the request does not come from an allowed
 * front proxy. `clientCommonName` is the CN of a client certificate that TLS has already verified against
 * `config.clientCA`; `headers` holds every value of every header (Node's `req.headersDistinct`), because
 * group names may contain commas.
 */
export function proxiedUser(
  config: RequestHeaderConfig,
  clientCommonName: string | undefined,
  headers: Record<string, string[] | undefined>,
): ProxiedUser | undefined {
  if (clientCommonName === undefined) return undefined;
  if (config.allowedNames.length > 0 && !config.allowedNames.includes(clientCommonName)) return undefined;
  const values = (name: string): string[] => headers[name.toLowerCase()] ?? [];
  const username = config.usernameHeaders.map((h) => values(h)[0]).find((v) => v);
  if (!username) return undefined;
  const groups = config.groupHeaders.flatMap(values);
  const extra: Record<string, string[]> = {};
  for (const prefix of config.extraHeaderPrefixes.map((p) => p.toLowerCase())) {
    for (const [header, headerValues] of Object.entries(headers)) {
      if (!header.startsWith(prefix) || !headerValues) continue;
      // Keys are percent-encoded in header names, which are case-insensitive: Kubernetes lower-cases them.
      const key = decodeURIComponent(header.slice(prefix.length)).toLowerCase();
      (extra[key] ??= []).push(...headerValues);
    }
  }
  return { username, groups, extra };
}
