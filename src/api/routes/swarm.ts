// Swarm and plugin endpoints on a daemon that is not in a swarm and has no
// plugins: answer as an inactive dockerd does, so `docker node ls`,
// `docker service ls`, `docker secret ls`, `docker plugin ls` and the SDKs get
// Docker's words instead of "page not found".
import { unavailable, notImplemented, notFound } from '../../util/index.js';
import type { Router } from '../server.js';

const NO_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
const NO_SWARM = 'This node is not part of a swarm';

export function swarmRoutes(r: Router): void {
  r.get('/swarm', () => { throw unavailable(NO_SWARM); });
  r.get('/swarm/unlockkey', () => { throw unavailable(NO_MANAGER); });
  r.post('/swarm/leave', () => { throw unavailable(NO_SWARM); });
  r.post('/swarm/update', () => { throw unavailable(NO_MANAGER); });
  for (const verb of ['init', 'join', 'unlock']) {
    r.post(`/swarm/${verb}`, () => { throw notImplemented('swarm mode is not supported by berth'); });
  }
  for (const kind of ['nodes', 'services', 'tasks', 'secrets', 'configs']) {
    r.get(`/${kind}`, () => { throw unavailable(NO_MANAGER); });
    r.get(`/${kind}/{id}`, () => { throw unavailable(NO_MANAGER); });
    r.delete(`/${kind}/{id}`, () => { throw unavailable(NO_MANAGER); });
  }
  for (const kind of ['services', 'secrets', 'configs']) r.post(`/${kind}/create`, () => { throw unavailable(NO_MANAGER); });
  r.get('/services/{id}/logs', () => { throw unavailable(NO_MANAGER); });
  // No plugins are installed, and none can be.
  r.get('/plugins', (ctx) => { ctx.json(200, []); });
  r.get('/plugins/{name}/json', (ctx) => { throw notFound(`plugin "${ctx.params.name!}" not found`); });
}

