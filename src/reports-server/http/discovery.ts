// Discovery documents, legacy and aggregated: /apis (APIGroupList, or APIGroupDiscoveryList v2/v2beta1 when
// asked for it; the aggregator falls back to legacy discovery only on 406), /apis/<group> (APIGroup) and
// /apis/<group>/<version> (APIResourceList, which the aggregator's availability check reads). kubectl, the
// garbage collector and the namespace controller find the report types, their verbs and short names here.
import { groupsOf, type ServedType } from './resources.ts';

/** Every verb a report type supports, as kube-apiserver lists them for custom resources. */
export const resourceVerbs = ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'];

const groupVersion = (group: string, version: string) => ({ groupVersion: `${group}/${version}`, version });

function apiGroup(group: string, versions: string[]) {
  return {
    name: group,
    versions: versions.map((v) => groupVersion(group, v)),
    preferredVersion: groupVersion(group, versions[0]!),
  };
}

export function apiGroupList(served: readonly ServedType[]) {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groupsOf(served).map(({ group, versions }) => apiGroup(group, versions)),
  };
}

export function apiGroupDocument(served: readonly ServedType[], group: string) {
  const found = groupsOf(served).find((g) => g.group === group);
  if (!found) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group, found.versions) };
}

export function apiResourceList(served: readonly ServedType[], group: string, version: string) {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: `${group}/${version}`,
    resources: served
      .filter((s) => s.type.group === group && s.type.version === version)
      .map((s) => ({
        name: s.type.resource,
        singularName: s.singular,
        namespaced: s.type.namespaced,
        kind: s.type.kind,
        verbs: resourceVerbs,
        ...(s.shortNames.length ? { shortNames: s.shortNames } : {}),
        ...(s.categories.length ? { categories: s.categories } : {}),
      })),
  };
}

/** apidiscovery.k8s.io APIGroupDiscoveryList (v2 and v2beta1 have the same shape). */
export function aggregatedDiscovery(served: readonly ServedType[], version: 'v2' | 'v2beta1') {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items: groupsOf(served).map(({ group, versions }) => ({
      metadata: { name: group, creationTimestamp: null },
      versions: versions.map((v) => ({
        version: v,
        resources: served
          .filter((s) => s.type.group === group && s.type.version === v)
          .map((s) => ({
            resource: s.type.resource,
            responseKind: { group, version: v, kind: s.type.kind },
            scope: s.type.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: s.singular,
            verbs: resourceVerbs,
            ...(s.shortNames.length ? { shortNames: s.shortNames } : {}),
            ...(s.categories.length ? { categories: s.categories } : {}),
          })),
        freshness: 'Current',
      })),
    })),
  };
}
