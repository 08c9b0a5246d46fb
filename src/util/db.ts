import Database from 'better-sqlite3';

export type DB = Database.Database;

/** Open the daemon's SQLite database in WAL mode. */
export function openDb(path: string): DB {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // WAL + NORMAL is durable across a process crash (kill -9); FULL adds power-loss safety.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (owner TEXT NOT NULL, step INTEGER NOT NULL, PRIMARY KEY (owner, step))');
  return db;
}

/**
 * Each folder owns its tables and migrates them itself: `migrate(db, 'images', [sql0, sql1])`
 * runs the steps not yet applied for that owner, each in a transaction.
 */
export function migrate(db: DB, owner: string, steps: string[]): void {
  const done = new Set(
    (db.prepare('SELECT step FROM schema_migrations WHERE owner = ?').all(owner) as { step: number }[]).map((r) => r.step),
  );
  steps.forEach((sql, step) => {
    if (done.has(step)) return;
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (owner, step) VALUES (?, ?)').run(owner, step);
    })();
  });
}
