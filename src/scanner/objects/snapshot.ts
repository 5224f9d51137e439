// Offline scans: objects from a directory of manifests (YAML or JSON, several documents per file) or from a
// `kubectl get -o yaml` List dump. Objects of kinds the scanner does not read are ignored.
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../kube/resources.ts';
import { kindKey, kindOf } from './kinds.ts';
import { slim, SnapshotObjectSource } from './source.ts';

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export class SnapshotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotError';
  }
}

export interface SnapshotSummary {
  files: number;
  objects: number;
  ignored: number;
}

export async function loadSnapshot(path: string): Promise<{ source: SnapshotObjectSource; summary: SnapshotSummary }> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new SnapshotError(`snapshot ${path} does not exist`);
  }
  const files = info.isDirectory() ? await manifestFiles(path) : [path];
  if (files.length === 0) throw new SnapshotError(`snapshot ${path} holds no .yaml, .yml or .json files`);
  const byKind = new Map<string, KubeObject[]>();
  const summary: SnapshotSummary = { files: files.length, objects: 0, ignored: 0 };
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    const documents = parseAllDocuments(text, { prettyErrors: true });
    const docs = Array.isArray(documents) ? documents : [documents];
    docs.forEach((doc, index) => {
      if (doc.errors.length > 0) throw new SnapshotError(`${file}: document ${index + 1}: ${doc.errors[0]!.message}`);
      add(doc.toJS() as unknown, `${file}: document ${index + 1}`);
    });
  }
  return { source: new SnapshotObjectSource(byKind), summary };

  function add(value: unknown, where: string): void {
    if (value === null || value === undefined) return;
    if (typeof value !== 'object' || Array.isArray(value)) throw new SnapshotError(`${where}: not a Kubernetes object`);
    const obj = value as KubeObject & { items?: unknown[] };
    if (typeof obj.kind !== 'string' || typeof obj.apiVersion !== 'string')
      throw new SnapshotError(`${where}: apiVersion and kind are required`);
    if (obj.kind === 'List' || (obj.kind.endsWith('List') && Array.isArray(obj.items))) {
      const itemKind = obj.kind === 'List' ? undefined : obj.kind.slice(0, -'List'.length);
      (obj.items ?? []).forEach((item, i) => {
        const o = item as KubeObject;
        // Typed lists (PodList) may leave kind/apiVersion off their items.
        if (itemKind && o && typeof o === 'object') {
          o.kind ??= itemKind;
          o.apiVersion ??= obj.apiVersion;
        }
        add(o, `${where} item ${i}`);
      });
      return;
    }
    const rt = kindOf(obj.apiVersion, obj.kind);
    if (!rt) {
      summary.ignored += 1;
      return;
    }
    const key = kindKey(rt);
    let list = byKind.get(key);
    if (!list) byKind.set(key, (list = []));
    list.push(slim(obj));
    summary.objects += 1;
  }
}

async function manifestFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && MANIFEST_EXTENSIONS.has(extname(e.name)))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}
