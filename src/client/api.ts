// Typed calls on top of Client, one per Engine API operation the CLI uses.

import type { Readable } from 'node:stream';
import type { Response } from './http1.js';
import { Client, type Hijacked, type Query } from './client.js';
import type {
  AuthConfig, ContainerCreateBody, ContainerInspect, ContainerSummary, CreateResponse, ExecInspect, ImageHistoryItem,
  ImageSummary, Network, VersionResponse, Volume, WaitResponse,
} from './types.js';

const e = encodeURIComponent;

/** base64url(JSON), the X-Registry-Auth encoding. */
export function encodeAuth(auth: AuthConfig | Record<string, AuthConfig>): string {
  return Buffer.from(JSON.stringify(auth)).toString('base64url');
}

export class ApiClient extends Client {
  // --- system
  version(): Promise<VersionResponse> {
    return this.get('/version');
  }
  info(): Promise<Record<string, unknown>> {
    return this.get('/info');
  }
  systemDf(): Promise<Record<string, unknown>> {
    return this.get('/system/df');
  }
  events(query: Query, signal?: AbortSignal): Promise<Response> {
    return this.request('GET', '/events', { query, signal });
  }
  login(auth: AuthConfig): Promise<{ Status: string; IdentityToken?: string }> {
    return this.post('/auth', undefined, auth);
  }

  // --- containers
  containerList(query: Query = {}): Promise<ContainerSummary[]> {
    return this.get('/containers/json', query);
  }
  containerInspect(id: string, size = false): Promise<ContainerInspect> {
    return this.get(`/containers/${e(id)}/json`, size ? { size: true } : undefined);
  }
  containerCreate(body: ContainerCreateBody, query: Query = {}): Promise<CreateResponse> {
    return this.post('/containers/create', query, body);
  }
  containerStart(id: string, query?: Query): Promise<void> {
    return this.post(`/containers/${e(id)}/start`, query);
  }
  containerStop(id: string, query?: Query): Promise<void> {
    return this.post(`/containers/${e(id)}/stop`, query);
  }
  containerRestart(id: string, query?: Query): Promise<void> {
    return this.post(`/containers/${e(id)}/restart`, query);
  }
  containerKill(id: string, signal?: string): Promise<void> {
    return this.post(`/containers/${e(id)}/kill`, signal ? { signal } : undefined);
  }
  containerPause(id: string): Promise<void> {
    return this.post(`/containers/${e(id)}/pause`);
  }
  containerUnpause(id: string): Promise<void> {
    return this.post(`/containers/${e(id)}/unpause`);
  }
  containerRemove(id: string, query?: Query): Promise<void> {
    return this.delete(`/containers/${e(id)}`, query);
  }
  containerUpdate(id: string, body: Record<string, unknown>): Promise<{ Warnings?: string[] | null }> {
    return this.post(`/containers/${e(id)}/update`, undefined, body);
  }
  containerRename(id: string, name: string): Promise<void> {
    return this.post(`/containers/${e(id)}/rename`, { name });
  }
  containerTop(id: string, psArgs?: string): Promise<{ Titles: string[]; Processes: string[][] }> {
    return this.get(`/containers/${e(id)}/top`, psArgs ? { ps_args: psArgs } : undefined);
  }
  containerResize(id: string, h: number, w: number): Promise<void> {
    return this.post(`/containers/${e(id)}/resize`, { h, w });
  }
  /** Returns once the headers arrive (the daemon flushes them at once); `.result` resolves on exit. */
  async containerWait(id: string, condition: string): Promise<{ result: Promise<WaitResponse> }> {
    const res = await this.request('POST', `/containers/${e(id)}/wait`, { query: { condition } });
    const result = (async () => {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      const text = Buffer.concat(chunks).toString().trim();
      if (!text) throw new Error('wait: the daemon closed the connection without a status');
      return JSON.parse(text) as WaitResponse;
    })();
    result.catch(() => undefined);
    return { result };
  }
  containerAttach(id: string, query: Query): Promise<Hijacked> {
    return this.hijack('POST', `/containers/${e(id)}/attach`, { query });
  }
  containerLogs(id: string, query: Query, signal?: AbortSignal): Promise<Response> {
    return this.request('GET', `/containers/${e(id)}/logs`, { query, signal });
  }
  containerStats(id: string, query: Query, signal?: AbortSignal): Promise<Response> {
    return this.request('GET', `/containers/${e(id)}/stats`, { query, signal });
  }
  containerPrune(filters?: string): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }> {
    return this.post('/containers/prune', filters ? { filters } : undefined);
  }
  containerArchive(id: string, path: string): Promise<Response> {
    return this.request('GET', `/containers/${e(id)}/archive`, { query: { path } });
  }
  containerPutArchive(id: string, path: string, body: Readable): Promise<Response> {
    return this.request('PUT', `/containers/${e(id)}/archive`, { query: { path }, body, headers: { 'Content-Type': 'application/x-tar' } });
  }
  /** HEAD /containers/{id}/archive: the stat of a path in a container, or undefined on 404. */
  async containerStatPath(id: string, path: string): Promise<{ name: string; size: number; mode: number; mtime: string; linkTarget: string } | undefined> {
    const res = await this.raw('HEAD', `/containers/${e(id)}/archive`, { query: { path } });
    res.resume();
    if (res.statusCode === 404) return undefined;
    if (res.statusCode >= 400) throw new Error(`Error response from daemon: stat ${path}: ${res.statusMessage}`);
    return JSON.parse(Buffer.from(res.headers['x-docker-container-path-stat'] ?? '', 'base64').toString('utf8') || '{}');
  }
  containerExport(id: string): Promise<Response> {
    return this.request('GET', `/containers/${e(id)}/export`);
  }
  containerChanges(id: string): Promise<{ Path: string; Kind: number }[] | null> {
    return this.get(`/containers/${e(id)}/changes`);
  }

  // --- exec
  execCreate(id: string, body: Record<string, unknown>): Promise<{ Id: string }> {
    return this.post(`/containers/${e(id)}/exec`, undefined, body);
  }
  execStart(execId: string, body: Record<string, unknown>): Promise<Hijacked> {
    return this.hijack('POST', `/exec/${e(execId)}/start`, { body });
  }
  execStartDetached(execId: string, body: Record<string, unknown>): Promise<void> {
    return this.post(`/exec/${e(execId)}/start`, undefined, body);
  }
  execResize(execId: string, h: number, w: number): Promise<void> {
    return this.post(`/exec/${e(execId)}/resize`, { h, w });
  }
  execInspect(execId: string): Promise<ExecInspect> {
    return this.get(`/exec/${e(execId)}/json`);
  }

  // --- images
  imageList(query: Query = {}): Promise<ImageSummary[]> {
    return this.get('/images/json', query);
  }
  imageInspect(name: string): Promise<Record<string, unknown>> {
    return this.get(`/images/${e(name)}/json`);
  }
  imageHistory(name: string): Promise<ImageHistoryItem[]> {
    return this.get(`/images/${e(name)}/history`);
  }
  imageRemove(name: string, query?: Query): Promise<{ Untagged?: string; Deleted?: string }[]> {
    return this.delete(`/images/${e(name)}`, query);
  }
  imageTag(name: string, repo: string, tag?: string): Promise<void> {
    return this.post(`/images/${e(name)}/tag`, { repo, tag });
  }
  imageCreate(query: Query, auth?: string, body?: Readable): Promise<Response> {
    return this.request('POST', '/images/create', { query, body, headers: auth ? { 'X-Registry-Auth': auth } : {} });
  }
  imagePush(name: string, tag: string | undefined, auth: string): Promise<Response> {
    return this.request('POST', `/images/${e(name)}/push`, { query: { tag }, headers: { 'X-Registry-Auth': auth } });
  }
  imageLoad(body: Readable, quiet: boolean): Promise<Response> {
    return this.request('POST', '/images/load', { query: { quiet }, body, headers: { 'Content-Type': 'application/x-tar' } });
  }
  imageSave(names: string[]): Promise<Response> {
    return this.request('GET', '/images/get', { query: { names } });
  }
  imagePrune(filters?: string): Promise<{ ImagesDeleted: { Untagged?: string; Deleted?: string }[] | null; SpaceReclaimed: number }> {
    return this.post('/images/prune', filters ? { filters } : undefined);
  }
  build(query: Query, context: Readable, headers: Record<string, string>): Promise<Response> {
    return this.request('POST', '/build', { query, body: context, headers: { 'Content-Type': 'application/x-tar', ...headers } });
  }

  // --- volumes
  volumeList(query: Query = {}): Promise<{ Volumes: Volume[] | null; Warnings: string[] | null }> {
    return this.get('/volumes', query);
  }
  volumeCreate(body: Record<string, unknown>): Promise<Volume> {
    return this.post('/volumes/create', undefined, body);
  }
  volumeInspect(name: string): Promise<Volume> {
    return this.get(`/volumes/${e(name)}`);
  }
  volumeRemove(name: string, force = false): Promise<void> {
    return this.delete(`/volumes/${e(name)}`, force ? { force } : undefined);
  }
  volumePrune(filters?: string): Promise<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }> {
    return this.post('/volumes/prune', filters ? { filters } : undefined);
  }

  // --- networks
  networkList(query: Query = {}): Promise<Network[]> {
    return this.get('/networks', query);
  }
  networkInspect(id: string): Promise<Network> {
    return this.get(`/networks/${e(id)}`);
  }
  networkCreate(body: Record<string, unknown>): Promise<{ Id: string; Warning?: string }> {
    return this.post('/networks/create', undefined, body);
  }
  networkRemove(id: string): Promise<void> {
    return this.delete(`/networks/${e(id)}`);
  }
  networkConnect(id: string, body: Record<string, unknown>): Promise<void> {
    return this.post(`/networks/${e(id)}/connect`, undefined, body);
  }
  networkDisconnect(id: string, body: Record<string, unknown>): Promise<void> {
    return this.post(`/networks/${e(id)}/disconnect`, undefined, body);
  }
  networkPrune(filters?: string): Promise<{ NetworksDeleted: string[] | null }> {
    return this.post('/networks/prune', filters ? { filters } : undefined);
  }
}
