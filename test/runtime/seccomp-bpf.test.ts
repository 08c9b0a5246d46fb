// Precompiled seccomp programs: berthd hands crun the BPF program in the
// run.oci.seccomp_bpf_data annotation instead of letting crun compile the
// section at every create. These check, against the real crun, that the
// program is the one crun builds itself and that a container really gets it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir, release } from 'node:os';
import { join } from 'node:path';
import {
  precompiledSeccomp, SECCOMP_BPF_ANNOTATION, resolveSeccomp, loadDefaultProfile, DEFAULT_CAPS, findExecutable, probeRuntime, prepareHost,
} from '../../src/runtime/index.js';
import { busyboxRootfs } from '../helpers/fixtures.js';

await prepareHost();
const crun = findExecutable('crun');
const skip = !crun ? 'crun is not installed' : (await probeRuntime(crun)) || false;
const kernel = release().split('.').slice(0, 2).map(Number) as [number, number];
const section = () => resolveSeccomp(loadDefaultProfile(), { caps: DEFAULT_CAPS, arch: 'amd64', kernel });

function bundle(args: string[], annotate: boolean): { dir: string; root: string } {
  const dir = mkdtempSync(join(tmpdir(), 'berth-seccomp-'));
  busyboxRootfs(join(dir, 'rootfs'));
  execFileSync(crun!, ['spec'], { cwd: dir });
  const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  spec.process.terminal = false;
  spec.process.args = args;
  spec.linux.seccomp = section();
  if (annotate) spec.annotations = { [SECCOMP_BPF_ANNOTATION]: precompiledSeccomp(spec.linux.seccomp) };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
  const root = join(dir, 'state');
  mkdirSync(root);
  return { dir, root };
}

test('the program is byte for byte the one crun compiles from the same section', { skip }, () => {
  const { dir, root } = bundle(['/bin/true'], false);
  try {
    execFileSync(crun!, ['--root', root, 'create', '--bundle', dir, 'sc1'], { stdio: 'ignore' });
    const crunsOwn = readFileSync(join(root, 'sc1', 'seccomp.bpf'));
    const ours = Buffer.from(precompiledSeccomp(section())!, 'base64');
    assert.ok(crunsOwn.length > 1000, 'crun wrote a real program');
    assert.ok(ours.equals(crunsOwn), `programs differ: ours ${ours.length} bytes, crun's ${crunsOwn.length}`);
  } finally {
    spawnSync(crun!, ['--root', root, 'delete', '--force', 'sc1']);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a container started with the annotation runs under the filter, and the filter denies', { skip }, () => {
  // The process holds CAP_SYS_ADMIN, but the profile was resolved for Docker's default capabilities, which
  // leaves unshare(2) out: only the seccomp program can refuse `unshare -m`. Without a filter it succeeds.
  const script = 'grep Seccomp: /proc/self/status; unshare -m true && echo unshare=ok || echo unshare=refused';
  const run = (seccomp: boolean, name: string) => {
    const { dir, root } = bundle(['/bin/sh', '-c', script], seccomp);
    try {
      const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      for (const set of ['bounding', 'effective', 'permitted']) spec.process.capabilities[set].push('CAP_SYS_ADMIN');
      if (!seccomp) delete spec.linux.seccomp;
      writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
      return execFileSync(crun!, ['--root', root, 'run', '--bundle', dir, name], { encoding: 'utf8' });
    } finally {
      spawnSync(crun!, ['--root', root, 'delete', '--force', name]);
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const filtered = run(true, 'sc2');
  assert.match(filtered, /Seccomp:\s+2/);
  assert.match(filtered, /unshare=refused/);
  const open = run(false, 'sc3');
  assert.match(open, /Seccomp:\s+0/);
  assert.match(open, /unshare=ok/);
});

test('sections crun would refuse or that need a listener are left to the runtime', () => {
  assert.equal(precompiledSeccomp({ defaultAction: 'SCMP_ACT_NOTIFY' }), undefined);
  assert.equal(precompiledSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: 1 }), undefined, 'errno on a non-errno action');
  assert.equal(precompiledSeccomp({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_BOGUS' }] }), undefined);
  assert.equal(precompiledSeccomp({ defaultAction: 'SCMP_ACT_ERRNO', listenerPath: '/run/x.sock' }), undefined);
  assert.ok(precompiledSeccomp({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read', 'no_such_syscall'], action: 'SCMP_ACT_ALLOW' }] }));
});
