// Writing k8s-file logs by hand, and running real conmon to write them.
import { mkdtempSync, writeFileSync, chmodSync, mkdirSync, existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';

/** A k8s-file timestamp as conmon writes it: local wall time with an explicit offset. */
export function k8sTime(epochSec: number, nanos: number, offsetMin = 120): string {
  const d = new Date((epochSec + offsetMin * 60) * 1000);
  const iso = d.toISOString().slice(0, 19);
  const sign = offsetMin < 0 ? '-' : '+';
  const a = Math.abs(offsetMin);
  return `${iso}.${String(nanos).padStart(9, '0')}${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

export function k8sLine(epochSec: number, nanos: number, stream: 'stdout' | 'stderr', tag: 'F' | 'P', text: string, offsetMin = 120): string {
  return `${k8sTime(epochSec, nanos, offsetMin)} ${stream} ${tag} ${text}\n`;
}

export const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), `berth-${prefix}-`));

export const conmonAvailable = (() => {
  try {
    execFileSync('conmon', ['--version']);
    return true;
  } catch {
    return false;
  }
})();

/**
 * Run a shell script under real conmon with a k8s-file log. The OCI runtime is
 * a stand-in script whose `create` starts the payload directly (conmon's log
 * path does not depend on the runtime; a real runc/crun needs a rootfs, which
 * the runtime suite covers). Returns paths and a way to wait for the exit.
 */
export function runUnderConmon(script: string, extraArgs: string[] = []): {
  dir: string; log: string; bundle: string; exitFile: string; exited: () => boolean; waitExit: (ms?: number) => Promise<void>; stop: () => void;
} {
  const dir = tmp('conmon');
  const bundle = join(dir, 'bundle');
  mkdirSync(bundle);
  mkdirSync(join(dir, 'exits'));
  mkdirSync(join(dir, 'socks'));
  writeFileSync(join(bundle, 'config.json'), '{}');
  writeFileSync(join(bundle, 'payload.sh'), script);
  const rt = join(dir, 'runtime');
  writeFileSync(rt, `#!/bin/sh
cmd=""; pidfile=""; bundle=""
while [ $# -gt 0 ]; do
  case "$1" in
    create) cmd=create;;
    --pid-file) pidfile="$2"; shift;;
    --bundle) bundle="$2"; shift;;
  esac
  shift
done
if [ "$cmd" = create ]; then
  sh "$bundle/payload.sh" &
  echo $! > "$pidfile"
fi
exit 0
`);
  chmodSync(rt, 0o755);
  const cid = randomBytes(16).toString('hex');
  const log = join(dir, 'ctr.log');
  execFileSync('conmon', [
    '--api-version', '1', '-c', cid, '-u', cid, '-n', 'logtest', '-r', rt, '-b', bundle,
    '-p', join(bundle, 'pidfile'), '-l', `k8s-file:${log}`, '--exit-dir', join(dir, 'exits'),
    '--socket-dir-path', join(dir, 'socks'), '--conmon-pidfile', join(dir, 'conmon.pid'), ...extraArgs,
  ], { stdio: 'ignore' });
  const exitFile = join(dir, 'exits', cid);
  const conmonPid = parseInt(readFileSync(join(dir, 'conmon.pid'), 'utf8'), 10);
  const exited = () => existsSync(exitFile);
  const waitExit = async (ms = 10_000) => {
    const end = Date.now() + ms;
    while (!exited()) {
      if (Date.now() > end) throw new Error('container did not exit');
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  // Kill what we started, by pid: the payload and its conmon, if still around.
  const stop = () => {
    for (const pid of [parseInt(readFileSync(join(bundle, 'pidfile'), 'utf8'), 10), conmonPid]) {
      try { if (pid > 0) process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  };
  return { dir, log, bundle, exitFile, exited, waitExit, stop };
}
