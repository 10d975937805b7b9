/**
 * @module lazy-abort
 * An AbortController made on first use. Every execution gets a signal (`ctx.signal`), but
 * most handlers never look at it and most runs are never aborted; making one per item cost
 * ~5 µs of a no-op drain's ~100 µs per item. A run aborted before anyone asked for its
 * signal hands out one that is already aborted, with the first reason given.
 */
export class LazyAbort {
  private controller: AbortController | undefined;
  private aborted = false;
  private reason: unknown;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason?: unknown): void {
    if (this.controller) this.controller.abort(reason);
    else if (!this.aborted) {
      this.aborted = true;
      this.reason = reason;
    }
  }
}
