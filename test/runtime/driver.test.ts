// The conmon driver against real crun and runc containers on a busybox rootfs.
import { rmSync } from 'node:fs';
import { conmonDriverSuite } from '../../src/runtime/testsuite.js';
import { findExecutable, probeRuntime, prepareHost } from '../../src/runtime/index.js';
import { busyboxRootfs } from '../helpers/fixtures.js';

// crun refuses hybrid hosts until the stray controller left the cgroup2 mount.
await prepareHost();

for (const name of ['crun', 'runc']) {
  const path = findExecutable(name);
  const failure = path ? await probeRuntime(path) : `${name} is not installed`;
  conmonDriverSuite(name, async () => {
    const rootfs = busyboxRootfs();
    return { runtime: { name, path: path! }, rootfs, cleanup: async () => rmSync(rootfs, { recursive: true, force: true }) };
  }, { skip: failure ? `${name} cannot run containers here: ${failure}` : undefined });
}
