// login / logout: credentials checked by the daemon (POST /auth), stored in config.json
// or a credential helper (see config.ts).

import type { Command, Cli } from '../command.js';
import { StatusError } from '../command.js';
import { setAuth, removeAuth, getAuth } from '../config.js';
import { join } from 'node:path';

const HUB = 'https://index.docker.io/v1/';

/** The config.json key for a server argument, as the docker CLI derives it. */
export function serverKey(server: string | undefined): string {
  if (!server) return HUB;
  const s = server.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  if (['docker.io', 'index.docker.io', 'registry-1.docker.io', 'index.docker.io/v1'].includes(s)) return HUB;
  return s.replace(/\/v[12]$/, '');
}

async function readSecretLine(cli: Cli, prompt: string, hidden: boolean): Promise<string> {
  cli.err(prompt);
  const raw = hidden && cli.stdin.isTTY && cli.stdin.setRawMode;
  if (raw) cli.stdin.setRawMode!(true);
  try {
    return await new Promise((resolve) => {
      let buf = '';
      const onData = (c: Buffer) => {
        for (const ch of c.toString()) {
          if (ch === '\r' || ch === '\n') return done();
          if (ch === '\x03') {
            if (raw) cli.stdin.setRawMode!(false);
            process.exit(130);
          }
          if (ch === '\x7f') buf = buf.slice(0, -1);
          else buf += ch;
        }
      };
      const done = () => {
        cli.stdin.off('data', onData);
        cli.stdin.off('end', done);
        cli.stdin.pause();
        if (hidden) cli.err('\n');
        resolve(buf);
      };
      cli.stdin.on('data', onData);
      cli.stdin.on('end', done);
      cli.stdin.resume();
    });
  } finally {
    if (raw) cli.stdin.setRawMode!(false);
  }
}

export const login: Command = {
  use: 'login [OPTIONS] [SERVER]',
  short: 'Authenticate to a registry',
  long: 'Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.',
  aliases: ['login'],
  args: { max: 1 },
  flags: [
    { name: 'password', short: 'p', kind: 'string', desc: 'Password or Personal Access Token (PAT)' },
    { name: 'password-stdin', kind: 'bool', desc: 'Take the Password or Personal Access Token (PAT) from stdin' },
    { name: 'username', short: 'u', kind: 'string', desc: 'Username' },
  ],
  async run(cli, { flags, args }) {
    const key = serverKey(args[0]);
    let username = flags.username as string;
    let password = flags.password as string;
    if (password) cli.err('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
    if (flags['password-stdin']) {
      if (password) throw new StatusError(1, '--password and --password-stdin are mutually exclusive');
      if (!username) throw new StatusError(1, 'Must provide --username with --password-stdin');
      let data = '';
      for await (const c of cli.stdin) data += c;
      password = data.replace(/\r?\n$/, '');
    }
    if (!username && !password) {
      const saved = getAuth(cli.configDir, key);
      if (saved?.username && saved.password) {
        username = saved.username;
        password = saved.password;
      }
    }
    if (!username) username = (await readSecretLine(cli, 'Username: ', false)).trim();
    if (!username) throw new StatusError(1, 'Error: Non-null Username Required');
    if (!password) password = await readSecretLine(cli, 'Password: ', true);
    if (!password) throw new StatusError(1, 'Error: Password Required');
    const auth = { username, password, serveraddress: key };
    const r = await cli.api().login(auth);
    let inFile: boolean;
    try {
      inFile = setAuth(cli.configDir, key, r.IdentityToken ? { ...auth, identitytoken: r.IdentityToken } : auth);
    } catch (err) {
      throw new StatusError(1, `Error saving credentials: ${(err as Error).message}`);
    }
    if (inFile) {
      cli.err(
        `WARNING! Your credentials are stored unencrypted in '${join(cli.configDir, 'config.json')}'.\n` +
          'Configure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n\n',
      );
    }
    cli.out(`${r.Status || 'Login Succeeded'}\n`);
  },
};

export const logout: Command = {
  use: 'logout [SERVER]',
  short: 'Log out from a registry',
  long: 'Log out from a registry.\nIf no server is specified, the default is defined by the daemon.',
  aliases: ['logout'],
  args: { max: 1 },
  async run(cli, { args }) {
    const key = serverKey(args[0]);
    if (!removeAuth(cli.configDir, key, (m) => cli.err(m))) {
      cli.out(`Not logged in to ${args[0] ?? key}\n`);
      return;
    }
    cli.out(`Removing login credentials for ${key}\n`);
  },
};
