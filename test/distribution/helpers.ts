// Test helpers: a real registry (Debian's docker-registry) on 127.0.0.1, OCI
// layouts written by hand and pushed with skopeo, a token server like Docker
// Hub's, and a test CA made with openssl.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import http from 'node:http';
import https from 'node:https';
import { createHash, sign, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

export const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface RunningRegistry {
  host: string; // 127.0.0.1:PORT, or ADDR:PORT with `addr`
  port: number;
  dir: string;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  htpasswd?: { user: string; password: string }[];
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
  tls?: { cert: string; key: string; /** CA file: clients must present a certificate it signed. */ clientCas?: string };
  /** Listen address (default 127.0.0.1). */
  addr?: string;
}

/** Starts docker-registry with a generated config; resolves once /v2/ answers. */
export async function startRegistry(o: RegistryOptions = {}): Promise<RunningRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-registry-'));
  const port = await freePort();
  const addr = o.addr ?? '127.0.0.1';
  let yml = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${dir}/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: ${addr}:${port}
  secret: ${randomBytes(16).toString('hex')}
`;
  if (o.tls) yml += `  tls:\n    certificate: ${o.tls.cert}\n    key: ${o.tls.key}\n`;
  if (o.tls?.clientCas) yml += `    clientcas:\n      - ${o.tls.clientCas}\n`;
  if (o.htpasswd) {
    const lines = o.htpasswd.map((u) => `${u.user}:${bcrypt(u.password)}`).join('\n') + '\n';
    writeFileSync(join(dir, 'htpasswd'), lines);
    yml += `auth:\n  htpasswd:\n    realm: basic-realm\n    path: ${dir}/htpasswd\n`;
  } else if (o.token) {
    yml += `auth:\n  token:\n    realm: ${o.token.realm}\n    service: ${o.token.service}\n    issuer: ${o.token.issuer}\n    rootcertbundle: ${o.token.rootCertBundle}\n`;
  }
  writeFileSync(join(dir, 'config.yml'), yml);
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  const scheme = o.tls ? 'https' : 'http';
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
    const ok = await new Promise<boolean>((resolve) => {
      const mod = scheme === 'https' ? https : http;
      // With clientcas the handshake itself fails without a client certificate: a TLS alert still means it is up.
      const req = mod.get(`${scheme}://${addr}:${port}/v2/`, { rejectUnauthorized: false } as http.RequestOptions, (res) => { res.resume(); resolve(true); });
      req.on('error', (e: NodeJS.ErrnoException) => resolve(/^ERR_SSL_/.test(e.code ?? '')));
    });
    if (ok) break;
    if (i > 100) throw new Error(`docker-registry did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: `${addr}:${port}`,
    port,
    dir,
    stop: async () => {
      if (child.exitCode === null) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await done;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}


function bcrypt(password: string): string {
  return execFileSync('python3', ['-W', 'ignore', '-c', 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1<<4)))', password]).toString().trim();
}

// ---- OCI layouts ------------------------------------------------------------

export interface BuiltImage {
  manifest: Buffer;
  manifestDigest: string;
  config: Buffer;
  configDigest: string;
  layers: { digest: string; size: number; diffId: string; mediaType: string }[];
  platform: { os: string; architecture: string; variant?: string };
}

/** A tar of the given files (name → content), made with tar(1) for realism. */
export function makeTar(files: Record<string, string | Buffer>): Buffer {
  const d = mkdtempSync(join(tmpdir(), 'berth-tarsrc-'));
  try {
    for (const [name, body] of Object.entries(files)) {
      mkdirSync(join(d, name, '..'), { recursive: true });
      writeFileSync(join(d, name), body);
    }
    return execFileSync('tar', ['-C', d, '--numeric-owner', '--owner=0', '--group=0', '--mtime=@0', '--sort=name', '-cf', '-', '.'], { maxBuffer: 1 << 30 });
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

export class OciLayout {
  readonly dir: string;
  private readonly index: { schemaVersion: 2; manifests: unknown[] } = { schemaVersion: 2, manifests: [] };

  constructor(dir = mkdtempSync(join(tmpdir(), 'berth-oci-'))) {
    this.dir = dir;
    mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  }

  blob(b: Buffer): { digest: string; size: number } {
    const digest = sha(b);
    writeFileSync(join(this.dir, 'blobs', 'sha256', digest.slice(7)), b);
    return { digest, size: b.length };
  }

  /** An image of the given layer tars (gzip'd unless `gzip: false`). Not tagged: see tag(). */
  image(tars: Buffer[], o: { platform?: { os: string; architecture: string; variant?: string }; gzip?: boolean; cmd?: string[]; docker?: boolean } = {}): BuiltImage {
    const platform = o.platform ?? { os: 'linux', architecture: 'amd64' };
    const gz = o.gzip !== false;
    const layers = tars.map((t) => {
      const blob = gz ? gzipSync(t, { level: 1 }) : t;
      const { digest, size } = this.blob(blob);
      const mediaType = o.docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip'
        : gz ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar';
      return { digest, size, diffId: sha(t), mediaType };
    });
    const config = Buffer.from(JSON.stringify({
      architecture: platform.architecture, os: platform.os, ...(platform.variant ? { variant: platform.variant } : {}),
      created: '2024-01-01T00:00:00Z',
      config: { Cmd: o.cmd ?? ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'test' })),
    }));
    const c = this.blob(config);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: o.docker ? 'application/vnd.docker.distribution.manifest.v2+json' : 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: o.docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json', digest: c.digest, size: c.size },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }));
    const m = this.blob(manifest);
    return { manifest, manifestDigest: m.digest, config, configDigest: c.digest, layers, platform };
  }

  tag(tag: string, img: BuiltImage, mediaType = JSON.parse(img.manifest.toString()).mediaType as string): void {
    this.index.manifests.push({ mediaType, digest: img.manifestDigest, size: img.manifest.length, annotations: { 'org.opencontainers.image.ref.name': tag } });
    this.flush();
  }

  /** A multi-arch index of the images, tagged. */
  tagIndex(tag: string, imgs: BuiltImage[]): { digest: string; bytes: Buffer } {
    const bytes = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: imgs.map((i) => ({ mediaType: JSON.parse(i.manifest.toString()).mediaType, digest: i.manifestDigest, size: i.manifest.length, platform: i.platform })),
    }));
    const { digest, size } = this.blob(bytes);
    this.index.manifests.push({ mediaType: 'application/vnd.oci.image.index.v1+json', digest, size, annotations: { 'org.opencontainers.image.ref.name': tag } });
    this.flush();
    return { digest, bytes };
  }

  private flush(): void {
    writeFileSync(join(this.dir, 'index.json'), JSON.stringify(this.index));
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** skopeo copy oci:DIR:tag docker://HOST/name:tag */
export function skopeoPush(layout: OciLayout, tag: string, dest: string, o: { all?: boolean; creds?: string; certDir?: string } = {}): void {
  const args = ['copy', '--quiet', '--dest-tls-verify=false', '--preserve-digests'];
  if (o.all) args.push('--all');
  if (o.creds) args.push('--dest-creds', o.creds);
  args.push(`oci:${layout.dir}:${tag}`, `docker://${dest}`);
  execFileSync('skopeo', args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HOME: layout.dir } });
}

// ---- TLS and tokens -----------------------------------------------------------

/**
 * A CA and a server certificate signed by it, valid for 127.0.0.1, localhost and
 * `ips`; with `client`, a client certificate pair (client.cert/client.key) too.
 */
export function makeTestCa(dir = mkdtempSync(join(tmpdir(), 'berth-ca-')), o: { ips?: string[]; client?: boolean } = {}): { dir: string; caCert: string; cert: string; key: string; clientCert: string; clientKey: string } {
  mkdirSync(dir, { recursive: true });
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=berth test CA']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  const sans = ['IP:127.0.0.1', 'DNS:localhost', ...(o.ips ?? []).map((ip) => `IP:${ip}`)];
  writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=${sans.join(',')}\nextendedKeyUsage=serverAuth\n`);
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext.cnf']);
  if (o.client) {
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=berth test client']);
    writeFileSync(join(dir, 'client.cnf'), 'extendedKeyUsage=clientAuth\n');
    run(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.cert', '-days', '2', '-extfile', 'client.cnf']);
  }
  return { dir, caCert: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key'), clientCert: join(dir, 'client.cert'), clientKey: join(dir, 'client.key') };
}

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  rootCertBundle: string;
  /** Every token request seen: method, scopes, account (user) and grant type. */
  requests: { method: string; scopes: string[]; user?: string; grant?: string; offline?: boolean }[];
  stop(): Promise<void>;
}

/**
 * A token server that behaves like Docker Hub's auth: anonymous users may pull
 * `public/*`; `users` may pull and push everything; GET with Basic auth or POST
 * (OAuth2 password / refresh_token). Tokens are RS256 JWTs with an x5c chain.
 */
export async function startTokenServer(o: { users: Record<string, string>; expiresIn?: number }): Promise<TokenServer> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-token-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=berth token signer'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const key = readFileSync(join(dir, 'key.pem'));
  const certPem = readFileSync(join(dir, 'cert.pem'), 'utf8');
  const certDer = Buffer.from(certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const service = 'berth-test-registry';
  const issuer = 'berth-test-issuer';
  const refreshTokens = new Map<string, string>();
  const requests: TokenServer['requests'] = [];
  const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');

  const grant = (user: string | undefined, scopes: string[]) => scopes.flatMap((s) => {
    const [type, name, actions] = s.split(':');
    if (type !== 'repository' || !name || !actions) return [];
    const want = actions.split(',');
    const allowed = user ? want : want.filter((a) => a === 'pull' && name.startsWith('public/'));
    return allowed.length ? [{ type, name, actions: allowed }] : [];
  });
  const jwt = (user: string | undefined, scopes: string[]) => {
    const now = Math.floor(Date.now() / 1000);
    const header = b64u(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] }));
    const claims = b64u(JSON.stringify({
      iss: issuer, sub: user ?? '', aud: service, exp: now + 300, nbf: now - 10, iat: now,
      jti: randomBytes(8).toString('hex'), access: grant(user, scopes),
    }));
    const sig = sign('sha256', Buffer.from(`${header}.${claims}`), key);
    return `${header}.${claims}.${b64u(sig)}`;
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (req.method === 'POST') {
        const form = new URLSearchParams(body);
        const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        const gt = form.get('grant_type') ?? '';
        let user: string | undefined;
        if (gt === 'refresh_token') user = refreshTokens.get(form.get('refresh_token') ?? '');
        else if (gt === 'password' && o.users[form.get('username') ?? ''] === form.get('password')) user = form.get('username')!;
        requests.push({ method: 'POST', scopes, user, grant: gt });
        if (!user) return reply(401, { details: 'incorrect username or password' });
        const out: Record<string, unknown> = { access_token: jwt(user, scopes), expires_in: o.expiresIn ?? 300, scope: scopes.join(' ') };
        if (form.get('access_type') === 'offline') {
          const rt = randomBytes(16).toString('hex');
          refreshTokens.set(rt, user);
          out.refresh_token = rt;
        }
        return reply(200, out);
      }
      const scopes = url.searchParams.getAll('scope');
      let user: string | undefined;
      const authz = req.headers.authorization;
      if (authz?.startsWith('Basic ')) {
        const [u, p] = Buffer.from(authz.slice(6), 'base64').toString().split(':');
        if (!u || o.users[u] !== p) {
          requests.push({ method: 'GET', scopes, user: u });
          return reply(401, { details: 'incorrect username or password' });
        }
        user = u;
      }
      const offline = url.searchParams.get('offline_token') === 'true';
      requests.push({ method: 'GET', scopes, user, offline });
      const out: Record<string, unknown> = { token: jwt(user, scopes), expires_in: o.expiresIn ?? 300, issued_at: new Date().toISOString() };
      if (offline && user) {
        const rt = randomBytes(16).toString('hex');
        refreshTokens.set(rt, user);
        out.refresh_token = rt;
      }
      reply(200, out);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    rootCertBundle: join(dir, 'cert.pem'),
    requests,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
