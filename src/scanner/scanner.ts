// The scanner as one call: resolve the configuration, connect to the cluster (or load a snapshot), run the
// rulesets and build the report. Used by `argus scan` and by the in-Job runner.
import { KubeClient } from '../kube/client.ts';
import { loadKubeConfig } from '../kube/config.ts';
import { errorMessage } from '../util/log.ts';
import { catalog as defaultCatalog } from './catalog.ts';
import { resolveConfig, type Catalog, type ScanConfig } from './engine/config.ts';
import type { Status } from './engine/result.ts';
import type { LiveCluster } from './engine/rule.ts';
import { ScanState } from './engine/scan-state.ts';
import { runScan, type ScanEvent } from './engine/scan.ts';
import { loadSnapshot } from './objects/snapshot.ts';
import { LiveObjectSource, type ObjectSource, type ReadProgress } from './objects/source.ts';
import { buildReport, type Report } from './report/report.ts';

export interface ScanRequest {
  config: ScanConfig;
  /** Where the config came from, for error messages. */
  configSource?: string;
  /** Read manifests from here instead of a cluster. */
  snapshot?: string | undefined;
  kubeconfig?: string | undefined;
  context?: string | undefined;
  minStatus?: Status | undefined;
  metadata?: Record<string, unknown> | undefined;
  catalog?: Catalog;
  signal?: AbortSignal;
  onEvent?: (event: ScanEvent) => void;
  onRead?: (progress: ReadProgress) => void;
}

/** The kubeconfig is missing or names no usable cluster or context. */
export class KubeconfigError extends Error {
  constructor(cause: unknown) {
    super(errorMessage(cause), { cause });
    this.name = 'KubeconfigError';
  }
}

/** The cluster could not be reached or refused our credentials: nothing was scanned. */
export class ClusterUnreachableError extends Error {
  constructor(server: string, cause: unknown) {
    super(`cannot reach the cluster at ${server}: ${errorMessage(cause)}`);
    this.name = 'ClusterUnreachableError';
  }
}

export async function scan(request: ScanRequest): Promise<Report> {
  const resolved = resolveConfig(request.config, request.catalog ?? defaultCatalog, request.configSource);
  let objects: ObjectSource;
  let live: LiveCluster | undefined;
  let client: KubeClient | undefined;
  if (request.snapshot) {
    objects = (await loadSnapshot(request.snapshot)).source;
  } else {
    // A kubeconfigPath in the provider args counts like --kubeconfig (diki's managedk8s arg).
    const fromConfig = resolved.providers[0]?.args.kubeconfigPath as string | undefined;
    let kubeConfig;
    try {
      kubeConfig = loadKubeConfig({ kubeconfig: request.kubeconfig ?? fromConfig, context: request.context });
    } catch (err) {
      throw new KubeconfigError(err);
    }
    client = new KubeClient(kubeConfig, { userAgent: 'argus-scanner' });
    try {
      await client.request('GET', '/version', { timeoutMs: 15_000 });
    } catch (err) {
      await client.close();
      throw new ClusterUnreachableError(client.server, err);
    }
    objects = new LiveObjectSource(client, request.onRead ? { onRead: request.onRead } : {});
    // Kubelet configurations and ops pods are shared by the rules and released when the scan ends.
    live = { client, providerArgs: resolved.providers[0]?.args ?? {}, state: new ScanState() };
  }
  try {
    const results = await runScan(resolved, {
      objects,
      live,
      ...(request.signal ? { signal: request.signal } : {}),
      ...(request.onEvent ? { onEvent: request.onEvent } : {}),
    });
    return buildReport(results, {
      minStatus: request.minStatus ?? resolved.config.output?.minStatus,
      metadata: { ...resolved.config.metadata, ...request.metadata },
    });
  } finally {
    await live?.state?.dispose();
    await client?.close();
  }
}
