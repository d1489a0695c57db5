/**
 * One in-flight call per key inside this process: concurrent callers share its promise (e.g. 20 activities
 * needing a token refresh cost one refresh). Across processes the callers use a database lock as well.
 */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  run(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(key);
    if (running) return running;
    const p = fn().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }
}
