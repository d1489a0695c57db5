/** A free TCP port on the loopback interface (the OS picks it), for servers started by tests and benchmarks. */
import net from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * Holds `port` (binding it now) until `release()`: a process that starts other servers before its own (the
 * Temporal dev server takes random free ports for its HTTP API, metrics and services) keeps them off it,
 * and a port already taken is said at once, before anything else starts.
 */
export async function reservePort(host: string, port: number): Promise<{ release(): Promise<void> }> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`port ${port} on ${host} is already in use (PORT): stop what uses it or choose another`)
          : err,
      ),
    );
    srv.listen(port, host, () => resolve());
  });
  let released: Promise<void> | undefined;
  return { release: () => (released ??= new Promise<void>((resolve) => srv.close(() => resolve()))) };
}
