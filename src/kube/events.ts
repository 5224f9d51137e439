// Kubernetes events (events.k8s.io/v1) about objects, for `kubectl describe` and `kubectl events`.
// Repeats of the same event within ten minutes update one Event's series instead of creating new ones.
import { hostname } from 'node:os';
import { errorMessage, logger } from '../util/log.ts';
import { microTime } from '../util/time.ts';
import type { KubeClient } from './client.ts';
import { Resources, type KubeObject } from './resources.ts';

export type EventType = 'Normal' | 'Warning';

const SERIES_WINDOW_MS = 10 * 60_000;
const log = logger('events');

export class EventRecorder {
  private readonly client: KubeClient;
  private readonly controller: string;
  private readonly instance: string;
  private readonly recent = new Map<string, { name: string; namespace: string; count: number; at: number }>();

  /** `controller` is the reporting controller, e.g. "argus.io/operator". */
  constructor(client: KubeClient, controller: string, instance = hostname()) {
    this.client = client;
    this.controller = controller;
    this.instance = instance.slice(0, 128);
  }

  /** Records an event; failures are logged, never thrown (events are best effort). */
  async record(regarding: KubeObject, type: EventType, reason: string, note: string, action = reason): Promise<void> {
    const meta = regarding.metadata ?? {};
    const namespace = meta.namespace || 'default';
    const seriesKey = `${meta.uid ?? meta.name}|${type}|${reason}|${note}`;
    const now = Date.now();
    try {
      const previous = this.recent.get(seriesKey);
      if (previous && now - previous.at < SERIES_WINDOW_MS) {
        previous.count++;
        previous.at = now;
        await this.client.patch(
          Resources.events,
          previous.name,
          { series: { count: previous.count, lastObservedTime: microTime() } },
          'merge',
          { namespace: previous.namespace },
        );
        return;
      }
      const name = `${meta.name ?? 'object'}.${now.toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`;
      await this.client.create(Resources.events, {
        metadata: { name, namespace },
        eventTime: microTime(),
        reportingController: this.controller,
        reportingInstance: this.instance,
        action: action.slice(0, 128),
        reason: reason.slice(0, 128),
        note: note.slice(0, 1024),
        type,
        regarding: {
          apiVersion: regarding.apiVersion,
          kind: regarding.kind,
          name: meta.name,
          namespace: meta.namespace,
          uid: meta.uid,
          resourceVersion: meta.resourceVersion,
        },
      } as KubeObject);
      this.recent.set(seriesKey, { name, namespace, count: 1, at: now });
      if (this.recent.size > 4096) this.prune(now);
    } catch (err) {
      log.warn({ err: errorMessage(err), reason }, 'could not record event');
    }
  }

  private prune(now: number): void {
    for (const [key, entry] of this.recent) if (now - entry.at > SERIES_WINDOW_MS) this.recent.delete(key);
  }
}
