// meta.k8s.io Table output (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), as kube-apiserver
// builds it for custom resources: a Name column, then the type's printer columns (priority > 0 only
// shown by `kubectl get -o wide`), dates as human-readable ages, and per row the object as requested by
// `includeObject` (None, Metadata (default) as PartialObjectMetadata, or Object).
import type { PrinterColumn } from '../../api/crd.ts';
import type { KubeObject } from '../storage/types.ts';
import { badRequest } from './status.ts';
import type { ServedType } from './resources.ts';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface TableColumn {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface TableRow {
  cells: unknown[];
  object?: unknown;
}

export interface Table {
  kind: 'Table';
  apiVersion: string;
  metadata: { resourceVersion?: string; continue?: string };
  columnDefinitions: TableColumn[];
  rows: TableRow[];
}

export function parseIncludeObject(value: string | undefined): IncludeObject {
  if (value === undefined || value === '') return 'Metadata';
  if (value === 'None' || value === 'Metadata' || value === 'Object') return value;
  throw badRequest(`includeObject: Unsupported value: "${value}": supported values: "Metadata", "None", "Object"`);
}

const nameColumn: TableColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description:
    'Name must be unique within a namespace. More info: http://kubernetes.io/docs/user-guide/identifiers#names',
  priority: 0,
};

export function columnDefinitions(served: ServedType): TableColumn[] {
  return [
    nameColumn,
    ...served.printerColumns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.description ?? '',
      priority: c.priority ?? 0,
    })),
  ];
}

/** The value at a simple JSONPath (`.a.b`, `.a[0].b`) of a printer column, or undefined. */
export function valueAt(object: unknown, jsonPath: string): unknown {
  const steps = jsonPath
    .replace(/^\{?\.?/, '')
    .replace(/\}$/, '')
    .split(/\.|\[(\d+)\]/)
    .filter((s) => s !== undefined && s !== '');
  let value: unknown = object;
  for (const step of steps) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[step];
  }
  return value;
}

/** k8s.io/apimachinery's duration.HumanDuration: 45s, 3m20s, 5h10m, 3d4h, 2y10d. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8)
    return hours % 24 === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.trunc(hours / 24) % 365;
    const years = Math.trunc(hours / 24 / 365);
    return days === 0 ? `${years}y` : `${years}y${days}d`;
  }
  return `${Math.trunc(hours / 24 / 365)}y`;
}

function cell(column: PrinterColumn, object: KubeObject, now: number): unknown {
  const value = valueAt(object, column.jsonPath);
  if (column.type === 'date') {
    if (typeof value !== 'string') return '<unknown>';
    const t = Date.parse(value);
    return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
  }
  if (value === undefined) return null;
  if (column.type === 'integer' || column.type === 'number') return typeof value === 'number' ? value : null;
  if (column.type === 'boolean') return typeof value === 'boolean' ? value : null;
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : value;
}

export function partialObjectMetadata(object: KubeObject, version = 'v1') {
  return { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${version}`, metadata: object.metadata };
}

export interface TableOptions {
  version?: 'v1' | 'v1beta1';
  includeObject?: IncludeObject;
  resourceVersion?: string;
  continue?: string;
  /** Leave out the column definitions (watch events after the first). */
  noHeaders?: boolean;
  now?: number;
}

export function buildTable(served: ServedType, objects: KubeObject[], options: TableOptions = {}): Table {
  const now = options.now ?? Date.now();
  const include = options.includeObject ?? 'Metadata';
  const metadata: Table['metadata'] = {};
  if (options.resourceVersion) metadata.resourceVersion = options.resourceVersion;
  if (options.continue) metadata.continue = options.continue;
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${options.version ?? 'v1'}`,
    metadata,
    columnDefinitions: options.noHeaders ? [] : columnDefinitions(served),
    rows: objects.map((object) => {
      const row: TableRow = {
        cells: [object.metadata.name, ...served.printerColumns.map((c) => cell(c, object, now))],
      };
      if (include === 'Object') row.object = object;
      else if (include === 'Metadata') row.object = partialObjectMetadata(object, options.version);
      return row;
    }),
  };
}
