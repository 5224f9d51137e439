// State that the rules of one scan share beyond object lists: kubelet configurations fetched once per node,
// privileged ops pods created once per node. The scan creates it with its LiveCluster and disposes it when
// it ends, whether it completed, failed or was aborted, so that nothing it created outlives it.
import { errorMessage, logger } from '../../util/log.ts';

const log = logger('scanner');

export class ScanState {
  readonly #values = new Map<string, unknown>();
  readonly #disposers: { key: string; dispose: () => Promise<void> }[] = [];
  #disposed = false;

  /** The value kept under `key`, created on first use; `dispose` releases it when the scan ends. */
  get<T>(key: string, create: () => T, dispose?: (value: T) => Promise<void>): T {
    if (this.#disposed) throw new Error('the scan has ended');
    if (this.#values.has(key)) return this.#values.get(key) as T;
    const value = create();
    this.#values.set(key, value);
    if (dispose) this.#disposers.push({ key, dispose: () => dispose(value) });
    return value;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Releases every value, newest first; a failure is logged and does not stop the others. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const { key, dispose } of this.#disposers.reverse()) {
      try {
        await dispose();
      } catch (err) {
        log.warn({ state: key, err: errorMessage(err) }, 'could not release scan state');
      }
    }
    this.#values.clear();
  }
}
