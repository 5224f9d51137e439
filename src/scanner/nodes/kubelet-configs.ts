// The running kubelet configuration of each node, through the API server's node proxy (`nodes/<name>/proxy/
// configz`), fetched at most once per node per scan however many rules read it, with a bounded number of
// requests at once. A node whose kubelet cannot be reached fails for that node only: every rule reports the
// same error for it, and the other nodes are checked.
import { nodeConfigz, type KubeletConfiguration } from '../../kube/kubelet.ts';
import type { KubeClient } from '../../kube/client.ts';
import { Limiter } from './limit.ts';

export interface KubeletConfigsOptions {
  /** Requests at once (default 10). */
  concurrency?: number;
  /** Time for one request (default 15 s). */
  timeoutMs?: number;
}

export class KubeletConfigs {
  readonly #client: KubeClient;
  readonly #limiter: Limiter;
  readonly #timeoutMs: number;
  readonly #configs = new Map<string, Promise<KubeletConfiguration>>();

  constructor(client: KubeClient, options: KubeletConfigsOptions = {}) {
    this.#client = client;
    this.#limiter = new Limiter(options.concurrency ?? 10);
    this.#timeoutMs = options.timeoutMs ?? 15_000;
  }

  /** The node's kubelet configuration; rejects with the same error for every caller when it cannot be read. */
  get(node: string, signal?: AbortSignal): Promise<KubeletConfiguration> {
    let config = this.#configs.get(node);
    if (!config) {
      config = this.#limiter.run(() =>
        nodeConfigz(this.#client, node, { timeoutMs: this.#timeoutMs, ...(signal ? { signal } : {}) }),
      );
      // Callers handle the rejection; this only keeps an unawaited one from being reported as unhandled.
      config.catch(() => undefined);
      this.#configs.set(node, config);
    }
    return config;
  }
}
