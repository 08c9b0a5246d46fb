import type { DB } from '../util/index.js';
import { migrate, notFound, conflict, invalidArgument } from '../util/index.js';
import type { ContainerRecord } from './types.js';

/** Container records in SQLite: one row per container, the record as JSON. */
export class ContainerStore {
  private cache = new Map<string, ContainerRecord>();
  constructor(private readonly db: DB) {
    migrate(db, 'containers', [
      `CREATE TABLE containers_records (
         id TEXT PRIMARY KEY,
         name TEXT NOT NULL UNIQUE,
         record TEXT NOT NULL
       )`,
    ]);
    for (const row of db.prepare('SELECT record FROM containers_records').all() as { record: string }[]) {
      const rec = JSON.parse(row.record) as ContainerRecord;
      this.cache.set(rec.Id, rec);
    }
  }

  all(): ContainerRecord[] {
    return [...this.cache.values()].sort((a, b) => (a.Created < b.Created ? 1 : a.Created > b.Created ? -1 : 0));
  }

  /** Docker's lookup order: full id, exact name, then unique id prefix. */
  find(ref: string): ContainerRecord | undefined {
    const name = ref.replace(/^\//, '');
    const byId = this.cache.get(ref);
    if (byId) return byId;
    for (const r of this.cache.values()) if (r.Name === name) return r;
    if (!/^[a-f0-9]+$/.test(ref)) return undefined;
    const matches = [...this.cache.values()].filter((r) => r.Id.startsWith(ref));
    if (matches.length > 1) throw invalidArgument(`multiple IDs found with provided prefix: ${ref}`);
    return matches[0];
  }

  get(ref: string): ContainerRecord {
    const r = this.find(ref);
    if (!r) throw notFound(`No such container: ${ref}`);
    return r;
  }

  byName(name: string): ContainerRecord | undefined {
    for (const r of this.cache.values()) if (r.Name === name) return r;
    return undefined;
  }

  insert(rec: ContainerRecord): void {
    const other = this.byName(rec.Name);
    if (other) {
      throw conflict(`Conflict. The container name "/${rec.Name}" is already in use by container "${other.Id}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    this.db.prepare('INSERT INTO containers_records (id, name, record) VALUES (?, ?, ?)').run(rec.Id, rec.Name, JSON.stringify(rec));
    this.cache.set(rec.Id, rec);
  }

  save(rec: ContainerRecord): void {
    if (!this.cache.has(rec.Id)) return; // removed meanwhile
    this.db.prepare('UPDATE containers_records SET name = ?, record = ? WHERE id = ?').run(rec.Name, JSON.stringify(rec), rec.Id);
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM containers_records WHERE id = ?').run(id);
    this.cache.delete(id);
  }
}
