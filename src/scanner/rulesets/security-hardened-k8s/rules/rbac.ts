// 2006 and 2007: Roles and ClusterRoles do not grant wildcards ("*" anywhere in a resource or a verb), which
// silently cover resources and verbs added later.
import type { V1ClusterRole, V1PolicyRule, V1Role } from '@kubernetes/client-node';
import Type, { type Static } from 'typebox';
import type { FieldError } from '../../../../api/validation.ts';
import { defineRule, type Rule } from '../../../engine/rule.ts';
import { failed, passed, type CheckResult, type Severity } from '../../../engine/result.ts';
import { Kinds } from '../../../objects/kinds.ts';
import { namespaceLabels } from '../../shared/pods.ts';
import {
  type Acceptance,
  acceptanceOf,
  AcceptedClusterObjectSchema,
  acceptedFinding,
  AcceptedNamespacedObjectSchema,
  clusterAcceptanceOf,
  validateAcceptedCluster,
  validateAcceptedNamespaced,
} from '../../shared/selectors.ts';

const Options = Type.Object(
  {
    acceptedRoles: Type.Optional(Type.Array(AcceptedNamespacedObjectSchema)),
    acceptedClusterRoles: Type.Optional(Type.Array(AcceptedClusterObjectSchema)),
  },
  { additionalProperties: false },
);

function validate(options: Static<typeof Options>, path: string): FieldError[] {
  return [
    ...validateAcceptedNamespaced(options.acceptedRoles, `${path}.acceptedRoles`),
    ...validateAcceptedCluster(options.acceptedClusterRoles, `${path}.acceptedClusterRoles`),
  ];
}

interface WildcardRule {
  id: string;
  name: string;
  severity: Severity;
  /** What the wildcard is in: "resources" or "verbs". */
  field: 'resources' | 'verbs';
}

function wildcardRule({ id, name, severity, field }: WildcardRule): Rule {
  const check = (
    rules: V1PolicyRule[] | undefined,
    acceptance: Acceptance | undefined,
    target: Record<string, string>,
  ) => {
    const usesWildcard = (rules ?? []).some((r) => (r[field] ?? []).some((value) => value.includes('*')));
    if (!usesWildcard) return passed(`Role grants no wildcard ("*") ${field}.`, target);
    return acceptance
      ? acceptedFinding(acceptance, `Wildcard ("*") ${field} are accepted for this role.`, target)
      : failed(`Role grants wildcard ("*") ${field}.`, target);
  };
  return defineRule({
    id,
    name,
    severity,
    options: Options,
    validate,
    async run(ctx) {
      const [roles, clusterRoles] = await Promise.all([
        ctx.objects.list<V1Role>(Kinds.roles),
        ctx.objects.list<V1ClusterRole>(Kinds.clusterRoles),
      ]);
      if (roles.length === 0 && clusterRoles.length === 0)
        return [passed('There are no Roles or ClusterRoles in the cluster.')];
      const nsLabels = await namespaceLabels(ctx.objects);
      const results: CheckResult[] = [];
      for (const role of roles) {
        const namespace = role.metadata?.namespace ?? '';
        const acceptance = acceptanceOf(ctx.options?.acceptedRoles, role.metadata?.labels, nsLabels.get(namespace));
        results.push(check(role.rules, acceptance, { kind: 'Role', name: role.metadata?.name ?? '', namespace }));
      }
      for (const clusterRole of clusterRoles) {
        const acceptance = clusterAcceptanceOf(ctx.options?.acceptedClusterRoles, clusterRole.metadata?.labels);
        results.push(
          check(clusterRole.rules, acceptance, { kind: 'ClusterRole', name: clusterRole.metadata?.name ?? '' }),
        );
      }
      return results;
    },
  });
}

export const rule2006 = wildcardRule({
  id: '2006',
  name: 'Limit the use of wildcards in RBAC resources.',
  severity: 'Medium',
  field: 'resources',
});

export const rule2007 = wildcardRule({
  id: '2007',
  name: 'Limit the use of wildcards in RBAC verbs.',
  severity: 'Medium',
  field: 'verbs',
});
