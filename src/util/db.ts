import Database from 'better-sqlite3';

export type DB = Database.Database;

/** Open the daemon's SQLite database in WAL mode. */
export function openDb(path: string): DB {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // WAL + NORMAL: every commit survives a crash of berthd (kill -9), since it
  // is in the WAL file before the call returns; only a power loss or kernel
  // crash may roll back the last commits, to a consistent earlier state. FULL
  // would fsync on every commit, on the event loop: with 20 containers
  // starting at once that was ~0.4 s of the daemon's time.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  cachePreparedStatements(db);
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

/**
 * Make db.prepare(sql) return one compiled statement per SQL text. The
 * stores call prepare inline, next to their SQL, which reads well but
 * compiled the statement anew each time: with many containers starting at
 * once that showed up as the daemon's largest cost after spawning. Callers
 * must not switch a statement's mode (pluck/raw/expand): berth never does.
 */
function cachePreparedStatements(db: DB): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  db.prepare = ((sql: string) => {
    let st = cache.get(sql);
    if (!st) {
      st = prepare(sql);
      if (cache.size < 1000) cache.set(sql, st);
    }
    return st;
  }) as typeof db.prepare;
}
