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
