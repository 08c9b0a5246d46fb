// berthd entry point: parse flags, build the daemon, serve the API, shut down cleanly.
import { parseArgs, USAGE } from './config.js';
import { createLogger, errorKind } from '../util/index.js';
import { startDaemon } from './wire.js';
import { BERTH_VERSION, SERVER_VERSION } from '../api/index.js';

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`berthd: ${(err as Error).message}\n`);
    process.exit(errorKind(err) === 'InvalidArgument' ? 125 : 1);
  }
  if (parsed.help) { process.stdout.write(USAGE); return; }
  if (parsed.version) { process.stdout.write(`berthd version ${BERTH_VERSION} (Docker Engine API compatible, ${SERVER_VERSION})\n`); return; }
  const log = createLogger(parsed.config.logLevel);
  if (process.getuid && process.getuid() !== 0) {
    log.error('berthd needs to run as root (namespaces, mounts and cgroups)');
    process.exit(1);
  }
  const daemon = await startDaemon(parsed.config, log);
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down; running containers keep running', { signal: sig });
    daemon.close().then(() => process.exit(0), (err) => { log.error('shutdown failed', { err }); process.exit(1); });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGPIPE', () => undefined);
}

main().catch((err) => {
  process.stderr.write(`berthd: failed to start daemon: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
