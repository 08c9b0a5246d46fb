// cp: files between a container and the local filesystem via the archive endpoints.

import { mkdirSync, existsSync, statSync, createWriteStream, lstatSync, readdirSync, readlinkSync, createReadStream, symlinkSync, chmodSync } from 'node:fs';
import { dirname, join, basename, resolve, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Command } from '../command.js';
import { StatusError } from '../command.js';

function splitSpec(s: string): { container?: string; path: string } {
  if (s.startsWith('/') || s.startsWith('.')) return { path: s };
  const i = s.indexOf(':');
  if (i <= 0) return { path: s };
  return { container: s.slice(0, i), path: s.slice(i + 1) };
}

/** Resolve a tar entry name under `root`, refusing anything that would land outside it. */
function inside(root: string, name: string): string {
  const p = resolve(root, name);
  if (p !== root && !p.startsWith(root + sep)) throw new StatusError(1, `invalid archive entry outside the destination: ${name}`);
  return p;
}

export const cp: Command = {
  use: 'cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-',
  short: 'Copy files/folders between a container and the local filesystem',
  long: "Copy files/folders between a container and the local filesystem\n\nUse '-' as the source to read a tar archive from stdin\nand extract it to a directory destination in a container.\nUse '-' as the destination to stream a tar archive of a\ncontainer source to stdout.",
  aliases: ['container cp', 'cp'],
  args: { exact: 2 },
  flags: [
    { name: 'archive', short: 'a', kind: 'bool', desc: 'Archive mode (copy all uid/gid information)' },
    { name: 'follow-link', short: 'L', kind: 'bool', desc: 'Always follow symbol link in SRC_PATH' },
    { name: 'quiet', short: 'q', kind: 'bool', desc: 'Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached' },
  ],
  async run(cli, { args }) {
    const from = splitSpec(args[0]!);
    const to = splitSpec(args[1]!);
    if (from.container && to.container) throw new StatusError(1, 'copying between containers is not supported');
    if (!from.container && !to.container) throw new StatusError(1, 'must specify at least one container source');
    const tar = await import('tar-stream');
    if (from.container) {
      const res = await cli.api().containerArchive(from.container, from.path);
      if (args[1] === '-') {
        await pipeline(res, cli.stdout, { end: false });
        return;
      }
      const dest = resolve(to.path);
      // Into an existing directory the source keeps its name; otherwise it takes the destination's.
      const intoDir = existsSync(dest) && statSync(dest).isDirectory();
      const root = intoDir ? dest : dirname(dest);
      const srcBase = basename(from.path.replace(/\/+$/, '')) || '/';
      const extract = tar.extract();
      extract.on('entry', (h, stream, next) => {
        void (async () => {
          let name = h.name.replace(/^\.\//, '');
          if (!intoDir) name = name === srcBase ? basename(dest) : name.startsWith(srcBase + '/') ? basename(dest) + name.slice(srcBase.length) : name;
          const p = inside(root, name);
          if (h.type === 'directory') {
            mkdirSync(p, { recursive: true });
            stream.resume();
          } else if (h.type === 'symlink') {
            mkdirSync(dirname(p), { recursive: true });
            if (existsSync(p)) stream.resume();
            else symlinkSync(h.linkname ?? '', p);
            stream.resume();
          } else if (h.type === 'file') {
            mkdirSync(dirname(p), { recursive: true });
            await pipeline(stream, createWriteStream(p, { mode: h.mode }));
            if (h.mode) chmodSync(p, h.mode & 0o7777);
          } else stream.resume();
          next();
        })().catch((err) => extract.destroy(err));
      });
      await pipeline(res, extract);
      return;
    }
    // Local → container. Like the docker CLI: into an existing directory the
    // source keeps its name; otherwise it goes into the parent directory under
    // the destination's name.
    let body: Readable;
    let destDir = to.path;
    let rename: string | undefined;
    if (args[0] !== '-') {
      const st = await cli.api().containerStatPath(to.container!, to.path);
      const isDir = st ? st.mode >= 2 ** 31 : false; // Go's os.ModeDir
      if (!isDir) {
        if (to.path.endsWith('/')) throw new StatusError(1, `no such directory`);
        destDir = dirname(to.path) || '/';
        rename = basename(to.path);
      }
    }
    if (args[0] === '-') body = cli.stdin;
    else {
      const src = resolve(from.path);
      if (!existsSync(src)) throw new StatusError(1, `lstat ${src}: no such file or directory`);
      const pack = tar.pack();
      const base = dirname(src);
      const add = async (p: string) => {
        const st = lstatSync(p);
        let name = relative(base, p);
        if (rename) name = rename + name.slice(basename(src).length);
        const h = { name, mode: st.mode & 0o7777, mtime: st.mtime, uid: st.uid, gid: st.gid };
        if (st.isDirectory()) {
          pack.entry({ ...h, type: 'directory' });
          for (const n of readdirSync(p).sort()) await add(join(p, n));
        } else if (st.isSymbolicLink()) pack.entry({ ...h, type: 'symlink', linkname: readlinkSync(p) });
        else if (st.isFile())
          await new Promise<void>((res, rej) => {
            const w = pack.entry({ ...h, type: 'file', size: st.size }, (err) => (err ? rej(err) : res()));
            createReadStream(p).on('error', rej).pipe(w);
          });
      };
      void add(src).then(() => pack.finalize(), (err) => pack.destroy(err));
      // tar-stream's pack is a streamx stream, not a Node Readable: the HTTP client needs the latter.
      body = Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
    }
    const res = await cli.api().containerPutArchive(to.container!, destDir, body);
    res.resume();
  },
};
