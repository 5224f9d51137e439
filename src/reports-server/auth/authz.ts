// May this user do this: a SubjectAccessReview per request, as the generic API server's delegated
// authorisation does, with decisions cached briefly (allowed 10 s, denied 5 s). Members of system:masters
// are always allowed (as in k8s.io/apiserver); the health probes need no authorisation at all.
import type { KubeClient } from '../../kube/client.ts';
import type { UserInfo } from './authn.ts';

export type Attributes =
  | {
      verb: string;
      group: string;
      version: string;
      resource: string;
      namespace: string;
      name: string;
    }
  | { path: string; verb: string };

export interface Decision {
  allowed: boolean;
  reason: string;
}

interface SubjectAccessReview {
  status?: { allowed?: boolean; denied?: boolean; reason?: string; evaluationError?: string };
}

export interface AuthorizerOptions {
  allowTtlMs?: number;
  denyTtlMs?: number;
}

export class Authorizer {
  private readonly client: KubeClient;
  private readonly allowTtl: number;
  private readonly denyTtl: number;
  private readonly cache = new Map<string, { decision: Decision; expires: number }>();

  constructor(client: KubeClient, options: AuthorizerOptions = {}) {
    this.client = client;
    this.allowTtl = options.allowTtlMs ?? 10_000;
    this.denyTtl = options.denyTtlMs ?? 5_000;
  }

  async authorize(user: UserInfo, attributes: Attributes): Promise<Decision> {
    if (user.groups.includes('system:masters')) return { allowed: true, reason: '' };
    const spec = {
      user: user.username,
      ...(user.uid ? { uid: user.uid } : {}),
      groups: user.groups,
      extra: user.extra,
      ...('path' in attributes
        ? { nonResourceAttributes: attributes }
        : {
            resourceAttributes: Object.fromEntries(Object.entries(attributes).filter(([, v]) => v !== '')),
          }),
    };
    const key = JSON.stringify(spec);
    const cached = this.cache.get(key);
    if (cached && cached.expires > Date.now()) return cached.decision;
    const review = await this.client.request<SubjectAccessReview>(
      'POST',
      '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      { body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec } },
    );
    const decision: Decision = {
      allowed: review.status?.allowed === true && review.status.denied !== true,
      reason: review.status?.reason ?? '',
    };
    this.cache.set(key, { decision, expires: Date.now() + (decision.allowed ? this.allowTtl : this.denyTtl) });
    if (this.cache.size > 10_000) {
      for (const [k, v] of this.cache) if (v.expires <= Date.now()) this.cache.delete(k);
    }
    return decision;
  }
}

/** kube-apiserver's 403 message: `policyreports.wgpolicyk8s.io is forbidden: User "u" cannot list resource ...`. */
export function forbiddenMessage(user: UserInfo, attributes: Attributes, reason: string): string {
  const why = reason ? `: ${reason}` : '';
  if ('path' in attributes) {
    return `forbidden: User "${user.username}" cannot ${attributes.verb} path "${attributes.path}"${why}`;
  }
  const a = attributes;
  const qualified = a.group ? `${a.resource}.${a.group}` : a.resource;
  const subject = a.name ? `${qualified} "${a.name}"` : qualified;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  return `${subject} is forbidden: User "${user.username}" cannot ${a.verb} resource "${a.resource}" in API group "${a.group}" ${scope}${why}`;
}
