// A bare Engine API call for the benches: the daemon alone, without a client's start-up in the way.
import http from 'node:http';

/** One Engine API call over the daemon's socket (use a keep-alive agent): resolves with the parsed body. */
export function api(agent, sock, method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: sock, agent, method, path, headers: body ? { 'Content-Type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => (res.statusCode >= 300 ? reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`)) : resolve(text ? JSON.parse(text) : null)));
    });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}
