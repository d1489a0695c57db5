/**
 * Requests written byte for byte on a socket, as an attacker sends them: no client library normalises the
 * target (absolute-form, dot segments, `%2F`, backslashes…). Also: every spelling of a path we know of,
 * and a concrete path for a route pattern.
 */
import http from 'node:http';
import net from 'node:net';

export interface RawRequest {
  method: string;
  /** The request target exactly as sent: `/a/b`, `http://host/a/b`, `*`… */
  target: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface RawAnswer {
  /** 0 when the server closed the connection without an answer. */
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends one request on its own connection (`Connection: close`) and reads the answer. */
export function rawRequest(port: number, req: RawRequest, timeoutMs = 15_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const body = req.body === undefined ? Buffer.alloc(0) : Buffer.from(req.body);
    const headers: Record<string, string> = {
      Host: `127.0.0.1:${port}`,
      Connection: 'close',
      ...(body.length || req.method === 'POST' ? { 'Content-Length': String(body.length) } : {}),
      ...req.headers,
    };
    const head =
      `${req.method} ${req.target} HTTP/1.1\r\n` +
      Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('') +
      '\r\n';
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${req.method} ${req.target}`));
    }, timeoutMs);
    // write, not end: a half-closed socket lets Node's server drop a request it is still answering.
    socket.on('connect', () => socket.write(Buffer.concat([Buffer.from(head, 'latin1'), body])));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined); // a reset after a refusal: whatever arrived is the answer
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parseAnswer(Buffer.concat(chunks).toString('latin1')));
    });
  });
}

function parseAnswer(text: string): RawAnswer {
  const end = text.indexOf('\r\n\r\n');
  const [statusLine = '', ...lines] = (end >= 0 ? text.slice(0, end) : text).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status, headers, body: end >= 0 ? text.slice(end + 4) : '' };
}

/** A keep-alive request through Node's client (faster; targets must be valid for it). */
export function quickRequest(
  agent: http.Agent,
  port: number,
  req: RawRequest,
  timeoutMs = 15_000,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const r = http.request(
      {
        host: '127.0.0.1',
        port,
        agent,
        method: req.method,
        path: req.target,
        // Always a length: without one, Node sends a DELETE or OPTIONS body bare, and the server reads it
        // as the next request.
        headers: {
          'Content-Length': String(req.body === undefined ? 0 : Buffer.byteLength(req.body)),
          ...req.headers,
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, String(v)])),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    r.on('timeout', () =>
      r.destroy(new Error(`no answer within ${timeoutMs} ms to ${req.method} ${req.target}`)),
    );
    r.on('error', reject);
    r.end(req.body);
  });
}

/** A route pattern with its parameters filled in (`:id` -> values.id, `*` -> values['*']). */
export function concretePath(pattern: string, values: Record<string, string>): string {
  return pattern
    .replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => values[name] ?? 'x')
    .replace(/\*$/, values['*'] ?? 'x');
}

const pct = (c: string) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;

/**
 * Every spelling of `path` we know a router or proxy may treat as the same resource (or a different one):
 * percent-encoded letters (upper and lower hex, one or all), `%2F` and doubled slashes, dot segments (plain
 * and encoded), trailing slash, upper case, `;` parameters, backslashes and absolute-form targets.
 */
export function spellings(path: string, port: number): string[] {
  const segs = path.split('/').slice(1);
  const join = (s: string[]) => `/${s.join('/')}`;
  const out = new Set<string>([path]);
  segs.forEach((seg, i) => {
    if (!seg) return;
    const edit = (f: (s: string[]) => void) => {
      const copy = [...segs];
      f(copy);
      out.add(join(copy));
    };
    edit((s) => (s[i] = pct(seg[0] as string) + seg.slice(1)));
    edit((s) => (s[i] = pct(seg[0] as string).toLowerCase() + seg.slice(1)));
    edit((s) => (s[i] = [...seg].map(pct).join('')));
    edit((s) => (s[i] = `${seg};jsessionid=1`));
    edit((s) => (s[i] = seg.toUpperCase()));
    edit((s) => (s[i] = seg[0]?.toUpperCase() + seg.slice(1)));
    edit((s) => s.splice(i, 0, '.'));
    edit((s) => s.splice(i, 0, 'x', '..'));
    edit((s) => s.splice(i, 0, 'x', '%2e%2e'));
    edit((s) => s.splice(i, 0, '%2E'));
    if (i > 0) {
      const [before, after] = [segs.slice(0, i).join('/'), segs.slice(i).join('/')];
      out.add(`/${before}%2F${after}`);
      out.add(`/${before}%2f${after}`);
      out.add(`/${before}//${after}`);
      out.add(`/${before}\\${after}`);
    }
  });
  for (const p of [
    `/${path}`,
    `${path}/`,
    `${path}/.`,
    `${path};`,
    `${path}%20`,
    `${path}%00`,
    `${path}#x`,
    path.toUpperCase(),
    `http://127.0.0.1:${port}${path}`,
    `HTTP://127.0.0.1:${port}${path}`,
    `http://evil.example${path}`,
    `https://127.0.0.1${path}`,
    `http://127.0.0.1:${port}/x/..${path}`,
  ])
    out.add(p);
  return [...out];
}
