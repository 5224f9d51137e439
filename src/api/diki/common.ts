// Parts shared by the diki.gardener.cloud/v1alpha1 types (GEP-0063): the group, references to ConfigMaps and
// Secrets, conditions, and the CEL rules the CRDs carry.
import Type from 'typebox';
import type { ObjectMeta } from '../meta.ts';

export const DIKI_GROUP = 'diki.gardener.cloud';
export const DIKI_VERSION = 'v1alpha1';
export const DIKI_API_VERSION = `${DIKI_GROUP}/${DIKI_VERSION}`;

/** Categories of every diki type: `kubectl get diki` or `kubectl get compliance` lists them all. */
export const DIKI_CATEGORIES = ['diki', 'compliance'];

/** `metadata` is `type: object` in the CRD (ObjectMeta has its own validation). */
export const MetadataSchema = Type.Unsafe<ObjectMeta>({ type: 'object' });
export const apiVersionSchema = Type.String({ description: 'The versioned schema of this object.' });
export const kindSchema = Type.String({ description: 'The REST resource this object represents.' });

/** A CEL rule of the CRD (`x-kubernetes-validations`), checked by kube-apiserver itself. */
export interface CelRule {
  rule: string;
  message: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  fieldPath?: string;
}

export const immutable = (what: string): { 'x-kubernetes-validations': CelRule[] } => ({
  'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: `${what} is immutable` }],
});

export const nonEmpty = (description: string) => Type.String({ minLength: 1, description });

/** A key of a ConfigMap in a namespace. */
export const ConfigMapKeyRefSchema = Type.Object(
  {
    name: nonEmpty('Name of the ConfigMap.'),
    namespace: Type.Optional(
      Type.String({ default: 'kube-system', description: 'Namespace of the ConfigMap (default kube-system).' }),
    ),
    key: Type.Optional(
      Type.String({
        description:
          'Key in the ConfigMap; defaults to `<rulesetID>` for ruleset options and `<rulesetID>-rules` for rule options.',
      }),
    ),
  },
  { description: 'A key of a ConfigMap.' },
);

/** A Secret, as the GEP's credentialsRef: apiVersion and kind default to v1 Secret. */
export const CredentialsRefSchema = Type.Object(
  {
    apiVersion: Type.Optional(Type.String({ default: 'v1', description: 'API version of the referent (v1).' })),
    kind: Type.Optional(Type.String({ default: 'Secret', description: 'Kind of the referent (Secret).' })),
    name: nonEmpty('Name of the Secret.'),
    namespace: nonEmpty('Namespace of the Secret.'),
  },
  { description: 'The Secret holding the credentials of the output.' },
);

/** A key of a Secret holding a PEM CA bundle. */
export const SecretKeyRefSchema = Type.Object(
  {
    name: nonEmpty('Name of the Secret.'),
    namespace: nonEmpty('Namespace of the Secret.'),
    key: Type.Optional(Type.String({ default: 'ca.crt', description: 'Key in the Secret (default ca.crt).' })),
  },
  { description: 'A key of a Secret.' },
);

export const TLSSchema = Type.Object(
  {
    enabled: Type.Optional(
      Type.Boolean({
        description:
          'PostgreSQL: connect with TLS (default false). OpenSearch and webhook: the URL scheme decides; when set it must agree.',
      }),
    ),
    caSecretRef: Type.Optional(SecretKeyRefSchema),
  },
  { description: 'TLS settings; without caSecretRef the system trust store verifies the server.' },
);

export const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;

/** A condition as the GEP defines it (with lastUpdateTime, unlike metav1.Condition). */
export const conditionSchema = <T extends readonly string[]>(types: T) =>
  Type.Object({
    type: Type.Unsafe<T[number]>({ type: 'string', enum: [...types], description: 'Type of the condition.' }),
    status: Type.Unsafe<(typeof CONDITION_STATUSES)[number]>({
      type: 'string',
      enum: [...CONDITION_STATUSES],
      description: 'Status of the condition: True, False or Unknown.',
    }),
    lastUpdateTime: Type.Optional(Type.String({ format: 'date-time', description: 'When the condition was updated.' })),
    lastTransitionTime: Type.Optional(
      Type.String({ format: 'date-time', description: 'When the status last changed.' }),
    ),
    reason: Type.Optional(Type.String({ description: 'Why, in CamelCase (e.g. ComplianceScanCompleted).' })),
    message: Type.Optional(Type.String({ description: 'Why, for people.' })),
  });
