// Where the daemon listens: -H/--host, then DOCKER_HOST, then BERTH_HOST, then the default socket.
// The order follows the docker CLI (flag beats environment); BERTH_HOST exists so a user can keep
// DOCKER_HOST pointed at dockerd and still reach berthd with `berth`.

export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';

export type Endpoint =
  | { kind: 'unix'; socketPath: string; url: string }
  | { kind: 'tcp'; host: string; port: number; url: string };

export function resolveHost(flagHost: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flagHost || env.DOCKER_HOST || env.BERTH_HOST || DEFAULT_HOST;
}

export function parseHost(url: string): Endpoint {
  if (url.startsWith('unix://')) {
    const socketPath = url.slice('unix://'.length);
    if (!socketPath) throw new Error(`invalid host: ${url}`);
    return { kind: 'unix', socketPath, url };
  }
  if (url.startsWith('/')) return { kind: 'unix', socketPath: url, url: `unix://${url}` };
  const m = /^(?:tcp|http):\/\/\[?([^\]/]*?)\]?(?::(\d+))?\/?$/.exec(url);
  if (m) return { kind: 'tcp', host: m[1] || '127.0.0.1', port: m[2] ? Number(m[2]) : 2375, url };
  throw new Error(`invalid host: ${url}: unsupported protocol`);
}
