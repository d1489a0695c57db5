/**
 * The API's Temporal client, connected on first use (TRG-1: the API starts and stores webhooks while
 * Temporal is down). `get()` yields a Client or throws TemporalUnavailable quickly; a failed attempt is
 * forgotten, so the next caller (a request, the inbox relay) tries again. Once connected, gRPC reconnects
 * by itself after a later outage; calls made meanwhile fail with UNAVAILABLE (see `isTemporalDown`).
 */
import { Client, Connection, type DataConverter } from '@temporalio/client';

/** Temporal could not be reached: the caller answers 503 or leaves the work for later. */
export class TemporalUnavailable extends Error {
  constructor(address: string, cause: unknown) {
    super(
      `Temporal is unreachable at ${address} (${cause instanceof Error ? cause.message : String(cause)}); try again once it is back`,
    );
    this.name = 'TemporalUnavailable';
  }
}

/** gRPC UNAVAILABLE (14) / DEADLINE_EXCEEDED (4) from a connected client: the server went away. */
export function isTemporalDown(err: unknown): boolean {
  if (err instanceof TemporalUnavailable) return true;
  const codes = [err, (err as { cause?: unknown } | null)?.cause].map(
    (e) => (e as { code?: unknown } | null)?.code,
  );
  return codes.includes(14) || codes.includes(4);
}

export interface LazyTemporalOptions {
  address: string;
  namespace: string;
  /** The payload codec and failure converter (infra/payload-codec.ts dataConverterFrom). */
  dataConverter: DataConverter;
  /** How long one connection attempt may take (default 2 s: a caller waiting on it is an HTTP request). */
  connectTimeoutMs?: number;
}

export class LazyTemporal {
  private client: Client | null = null;
  private connecting: Promise<Client> | null = null;
  /** false for a borrowed client: its owner closes it. */
  private owned = true;

  constructor(private readonly opts: LazyTemporalOptions) {}

  /** An already connected client (tests, and processes that need Temporal anyway). */
  static of(client: Client): LazyTemporal {
    const lazy = new LazyTemporal({
      address: 'connected client',
      namespace: client.options.namespace,
      dataConverter: client.options.dataConverter,
    });
    lazy.client = client;
    lazy.owned = false;
    return lazy;
  }

  async get(): Promise<Client> {
    if (this.client) return this.client;
    this.connecting ??= Connection.connect({
      address: this.opts.address,
      connectTimeout: this.opts.connectTimeoutMs ?? 2000,
    })
      .then(
        (connection) =>
          new Client({ connection, namespace: this.opts.namespace, dataConverter: this.opts.dataConverter }),
      )
      .finally(() => (this.connecting = null));
    try {
      this.client = await this.connecting;
      return this.client;
    } catch (err) {
      throw new TemporalUnavailable(this.opts.address, err);
    }
  }

  /** Whether Temporal answers now, within `timeoutMs` (for /health). */
  async reachable(timeoutMs = 2000): Promise<boolean> {
    try {
      const client = await this.get();
      await client.connection.withDeadline(Date.now() + timeoutMs, () =>
        client.connection.workflowService.getSystemInfo({}),
      );
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.connecting?.catch(() => undefined);
    if (this.owned) await this.client?.connection.close();
  }
}
