// build: the classic builder (POST /build) with a tar of the context, .dockerignore applied,
// owners set to root, as the docker CLI sends it when BuildKit is not used.

import { readFileSync, lstatSync, readdirSync, readlinkSync, createReadStream, writeFileSync, existsSync } from 'node:fs';
import { join, relative, resolve, isAbsolute } from 'node:path';
import { Readable } from 'node:stream';
import type { Command, Cli } from '../command.js';
import { StatusError } from '../command.js';
import { encodeAuth } from '../../client/index.js';
import { authKeys, getAuth } from '../config.js';
import { displayStream } from '../progress.js';
import { isIgnored, parseDockerignore, hasExclusions } from '../opts/dockerignore.js';
import { ramInBytes } from '../format/units.js';

interface Entry {
  name: string;
  abs?: string;
  data?: Buffer;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  mtime: Date;
  size: number;
  linkname?: string;
}

/** Walk the context, leaving out what .dockerignore excludes (Dockerfile and .dockerignore always go). */
export function contextEntries(dir: string, dockerfileRel: string): Entry[] {
  let patterns = parseDockerignore('');
  try {
    patterns = parseDockerignore(readFileSync(join(dir, '.dockerignore'), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const keep = new Set(['.dockerignore', dockerfileRel]);
  const out: Entry[] = [];
  const walk = (abs: string) => {
    for (const name of readdirSync(abs).sort()) {
      const p = join(abs, name);
      const rel = relative(dir, p);
      const st = lstatSync(p);
      const ignored = isIgnored(rel, patterns) && !keep.has(rel);
      if (ignored && !(st.isDirectory() && hasExclusions(patterns))) continue;
      const base = { name: rel, mode: st.mode & 0o7777, mtime: st.mtime };
      if (st.isDirectory()) {
        if (!ignored) out.push({ ...base, type: 'directory', size: 0 });
        walk(p);
      } else if (ignored) continue;
      else if (st.isSymbolicLink()) out.push({ ...base, type: 'symlink', size: 0, linkname: readlinkSync(p) });
      else if (st.isFile()) out.push({ ...base, type: 'file', size: st.size, abs: p });
    }
  };
  walk(dir);
  return out;
}

async function tarStream(entries: Entry[]): Promise<Readable> {
  const tar = await import('tar-stream');
  const pack = tar.pack();
  void (async () => {
    try {
      for (const e of entries) {
        const header = { name: e.name, mode: e.mode, mtime: e.mtime, uid: 0, gid: 0, uname: '', gname: '', type: e.type, size: e.size, linkname: e.linkname };
        if (e.type !== 'file') {
          pack.entry(header);
          continue;
        }
        if (e.data) {
          pack.entry(header, e.data);
          continue;
        }
        await new Promise<void>((res, rej) => {
          const w = pack.entry(header, (err) => (err ? rej(err) : res()));
          createReadStream(e.abs!).on('error', rej).pipe(w);
        });
      }
      pack.finalize();
    } catch (err) {
      pack.destroy(err as Error);
    }
  })();
  // tar-stream packs are streamx streams: give the HTTP client a Node Readable.
  return Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
}

function kvJSON(items: string[], env: NodeJS.ProcessEnv): string | undefined {
  if (!items.length) return undefined;
  const m: Record<string, string | null> = {};
  for (const it of items) {
    const eq = it.indexOf('=');
    if (eq >= 0) m[it.slice(0, eq)] = it.slice(eq + 1);
    else m[it] = env[it] ?? null;
  }
  return JSON.stringify(m);
}

function registryConfig(cli: Cli): string {
  const all: Record<string, unknown> = {};
  for (const key of authKeys(cli.configDir)) {
    // As the docker CLI: a helper that fails for one registry leaves that one out.
    try {
      const a = getAuth(cli.configDir, key);
      if (a) all[key] = a;
    } catch { /* skipped */ }
  }
  return encodeAuth(all as Record<string, never>);
}

export const build: Command = {
  use: 'build [OPTIONS] PATH | URL | -',
  short: 'Build an image from a Dockerfile',
  aliases: ['image build', 'build', 'builder build'],
  args: { exact: 1 },
  flags: [
    { name: 'add-host', kind: 'list', desc: 'Add a custom host-to-IP mapping ("host:ip")' },
    { name: 'build-arg', kind: 'list', desc: 'Set build-time variables' },
    { name: 'cache-from', kind: 'list', type: 'strings', desc: 'Images to consider as cache sources' },
    { name: 'compress', kind: 'bool', desc: 'Compress the build context using gzip' },
    { name: 'cpu-shares', short: 'c', kind: 'int', desc: 'CPU shares (relative weight)' },
    { name: 'file', short: 'f', kind: 'string', desc: "Name of the Dockerfile (Default is \"PATH/Dockerfile\")" },
    { name: 'force-rm', kind: 'bool', desc: 'Always remove intermediate containers' },
    { name: 'iidfile', kind: 'string', desc: 'Write the image ID to the file' },
    { name: 'label', kind: 'list', desc: 'Set metadata for an image' },
    { name: 'memory', short: 'm', kind: 'string', type: 'bytes', desc: 'Memory limit' },
    { name: 'network', kind: 'string', desc: 'Set the networking mode for the RUN instructions during build', def: 'default' },
    { name: 'no-cache', kind: 'bool', desc: 'Do not use cache when building the image' },
    { name: 'platform', kind: 'string', desc: 'Set platform if server is multi-platform capable' },
    { name: 'pull', kind: 'bool', desc: 'Always attempt to pull a newer version of the image' },
    { name: 'quiet', short: 'q', kind: 'bool', desc: 'Suppress the build output and print image ID on success' },
    { name: 'rm', kind: 'bool', desc: 'Remove intermediate containers after a successful build', def: true },
    { name: 'shm-size', kind: 'string', type: 'bytes', desc: 'Size of "/dev/shm"' },
    { name: 'tag', short: 't', kind: 'list', desc: 'Name and optionally a tag in the "name:tag" format' },
    { name: 'target', kind: 'string', desc: 'Set the target build stage to build.' },
    { name: 'ulimit', kind: 'list', type: 'ulimit', desc: 'Ulimit options' },
  ],
  async run(cli, { flags, args }) {
    const src = args[0]!;
    let body: Readable;
    let dockerfile = (flags.file as string) || 'Dockerfile';
    if (src === '-') {
      // Either a tar context or a lone Dockerfile on stdin.
      const chunks: Buffer[] = [];
      for await (const c of cli.stdin) chunks.push(c as Buffer);
      const data = Buffer.concat(chunks);
      const isTar = data.length > 262 && data.subarray(257, 262).toString() === 'ustar';
      const isGzip = data[0] === 0x1f && data[1] === 0x8b;
      body = isTar || isGzip ? Readable.from([data]) : await tarStream([{ name: 'Dockerfile', data, type: 'file', mode: 0o644, mtime: new Date(), size: data.length }]);
      if (!isTar && !isGzip) dockerfile = 'Dockerfile';
    } else if (/^(https?|git):\/\//.test(src)) {
      throw new StatusError(1, 'building from a URL is not supported by berth yet');
    } else {
      const dir = resolve(src);
      if (!existsSync(dir)) throw new StatusError(1, `unable to prepare context: path "${src}" not found`);
      const dfAbs = flags.file ? (isAbsolute(dockerfile) || dockerfile === '-' ? dockerfile : resolve(dockerfile)) : join(dir, 'Dockerfile');
      let extra: Entry | undefined;
      if (dockerfile === '-') {
        const chunks: Buffer[] = [];
        for await (const c of cli.stdin) chunks.push(c as Buffer);
        const data = Buffer.concat(chunks);
        dockerfile = `.dockerfile.${Math.random().toString(16).slice(2, 14)}`;
        extra = { name: dockerfile, data, type: 'file', mode: 0o644, mtime: new Date(), size: data.length };
      } else {
        if (!existsSync(dfAbs)) throw new StatusError(1, `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${dfAbs}: no such file or directory`);
        const rel = relative(dir, dfAbs);
        if (rel.startsWith('..') || isAbsolute(rel)) {
          // A Dockerfile outside the context travels inside it under a random name.
          const data = readFileSync(dfAbs);
          dockerfile = `.dockerfile.${Math.random().toString(16).slice(2, 14)}`;
          extra = { name: dockerfile, data, type: 'file', mode: 0o644, mtime: new Date(), size: data.length };
        } else dockerfile = rel;
      }
      const entries = contextEntries(dir, dockerfile);
      if (extra) entries.push(extra);
      body = await tarStream(entries);
      if (flags.compress) body = body.pipe((await import('node:zlib')).createGzip());
    }
    const ulimits = (flags.ulimit as string[]).map((u) => {
      const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(u);
      if (!m) throw new StatusError(125, `invalid argument "${u}" for "--ulimit" flag: invalid ulimit argument: ${u}`);
      return { Name: m[1], Soft: Number(m[2]), Hard: Number(m[3] ?? m[2]) };
    });
    const query = {
      t: flags.tag as string[],
      dockerfile,
      q: (flags.quiet as boolean) || undefined,
      nocache: (flags['no-cache'] as boolean) || undefined,
      rm: flags.rm ? undefined : false,
      forcerm: (flags['force-rm'] as boolean) || undefined,
      pull: (flags.pull as boolean) || undefined,
      buildargs: kvJSON(flags['build-arg'] as string[], cli.env),
      labels: kvJSON(flags.label as string[], {}),
      cachefrom: (flags['cache-from'] as string[]).length ? JSON.stringify(flags['cache-from']) : undefined,
      target: (flags.target as string) || undefined,
      platform: (flags.platform as string) || undefined,
      networkmode: flags.network as string,
      extrahosts: (flags['add-host'] as string[]).length ? (flags['add-host'] as string[]).join(',') : undefined,
      shmsize: flags['shm-size'] ? ramInBytes(flags['shm-size'] as string) : undefined,
      memory: flags.memory ? ramInBytes(flags.memory as string) : undefined,
      cpushares: (flags['cpu-shares'] as number) || undefined,
      ulimits: ulimits.length ? JSON.stringify(ulimits) : undefined,
    };
    const res = await cli.api().build(query, body, { 'X-Registry-Config': registryConfig(cli) });
    let imageId = '';
    const quiet = flags.quiet as boolean;
    const sink = quiet ? ({ write: () => true } as unknown as NodeJS.WritableStream) : cli.stdout;
    await displayStream(res, sink as never, {
      tty: !quiet && !!cli.stdout.isTTY,
      width: cli.stdout.columns,
      onAux: (aux) => {
        if (typeof aux.ID === 'string') imageId = aux.ID;
      },
    });
    if (quiet && imageId) cli.out(`${imageId}\n`);
    if (flags.iidfile && imageId) writeFileSync(flags.iidfile as string, imageId);
  },
};
