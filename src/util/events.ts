// The daemon's event bus contract. Stores and services report what happened
// (`container start`, `image tag`, …); api/ streams them on GET /events.
export type EventType = 'container' | 'image' | 'volume' | 'network' | 'daemon' | 'builder';

export interface EventActor {
  ID: string;
  Attributes: Record<string, string>;
}

export interface BerthEvent {
  Type: EventType;
  Action: string;
  Actor: EventActor;
  scope: 'local';
  time: number;
  timeNano: number;
}

/** What a store needs to report an event; the daemon wires it to the bus. */
export type EventSink = (type: EventType, action: string, id: string, attributes?: Record<string, string>) => void;

export const noEvents: EventSink = () => undefined;

/** In-memory event bus with a bounded history for `since` queries. */
export class EventBus {
  private history: BerthEvent[] = [];
  private listeners = new Set<(e: BerthEvent) => void>();
  constructor(private readonly keep = 1024) {}

  readonly emit: EventSink = (type, action, id, attributes = {}) => {
    const now = Date.now();
    const timeNano = BigInt(now) * 1_000_000n + BigInt(Math.floor(Math.random() * 1000)) * 1000n;
    const ev: BerthEvent = {
      Type: type, Action: action, Actor: { ID: id, Attributes: attributes }, scope: 'local',
      time: Math.floor(now / 1000), timeNano: Number(timeNano),
    };
    this.history.push(ev);
    if (this.history.length > this.keep) this.history.splice(0, this.history.length - this.keep);
    for (const l of this.listeners) l(ev);
  };

  since(sinceNano: number): BerthEvent[] {
    return this.history.filter((e) => e.timeNano >= sinceNano);
  }

  subscribe(fn: (e: BerthEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
