// Docker's progress strings (pkg/jsonmessage JSONProgress.String as the daemon
// renders it: 50-column bar, go-units HumanSize, time left) and a throttle so
// that a fast download does not emit a message per chunk.
import type { JSONMessage } from './types.js';

/** go-units HumanSize: decimal units, 4 significant digits ("1.235MB", "512B", "10kB"). */
export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${goG4(v)}${units[i]}`;
}

/** Go's %.4g for 0 ≤ v < 1000: 4 significant digits, trailing zeros dropped. */
function goG4(v: number): string {
  let s = v.toPrecision(4);
  if (s.includes('e')) return String(Number(s));
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s;
}

/** Go's time.Duration.String() for whole seconds: "0s", "45s", "2m5s", "1h0m3s". */
export function goDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h) return `${h}h${m}m${r}s`;
  if (m) return `${m}m${r}s`;
  return `${r}s`;
}

/** `[=====>      ]  1.2MB/3.4MB 2s` as dockerd renders it for a 200-column client. */
export function progressBar(current: number, total: number, startedAt?: number, now = Date.now()): string {
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return humanSize(current).padStart(8);
  let pct = Math.floor((current / total) * 100 / 2);
  if (pct > 50) pct = 50;
  const bar = `[${'='.repeat(pct)}>${' '.repeat(Math.max(0, 50 - pct))}] `;
  const numbers = current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  let left = '';
  if (current > 0 && startedAt !== undefined && pct < 50) {
    const elapsed = (now - startedAt) / 1000;
    left = ` ${goDuration(((total - current) * elapsed) / current)}`;
  }
  return bar + numbers + left;
}

export function progressMessage(id: string, status: string, current: number, total: number, startedAt?: number): JSONMessage {
  return { status, progressDetail: { current, total }, progress: progressBar(current, total, startedAt), id };
}

/**
 * Rate-limits per-id progress messages (Docker updates every 512 KiB; we also
 * cap by time). The last update (current === total) always goes through.
 */
export class ProgressThrottle {
  private readonly last = new Map<string, { bytes: number; at: number }>();
  constructor(private readonly minBytes = 512 << 10, private readonly minMs = 500) {}

  due(id: string, current: number, total: number): boolean {
    const prev = this.last.get(id);
    const now = Date.now();
    const ok = !prev || current >= total || current - prev.bytes >= this.minBytes
      || (current > prev.bytes && now - prev.at >= this.minMs);
    if (ok) this.last.set(id, { bytes: current, at: now });
    return ok;
  }
}
