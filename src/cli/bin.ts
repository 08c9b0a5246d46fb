// Entry point of bin/berth.
import { main } from './main.js';

// Exit once stdout has flushed: when it is a pipe, writes can still be queued
// and process.exit() would cut the tail off (`berth save | ...`, `berth export`).
const exit = (code: number) => { process.stdout.write('', () => process.exit(code)); };

main(process.argv.slice(2)).then(
  (code) => exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    exit(1);
  },
);
