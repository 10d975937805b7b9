/**
 * @module registry
 * Shared resources handlers reach through `ctx.resources.get(name)`: declared once with a
 * factory, created on first use, shared by every handler, closed when the Conveyor closes.
 */
import { NotFoundError } from '../core/errors.js';

export type ResourceFactory<T = unknown> = () => T | Promise<T>;

/** A resource with any of these methods is closed with it on shutdown. */
interface Closable {
  close?: () => unknown;
  end?: () => unknown;
  quit?: () => unknown;
  destroy?: () => unknown;
}

export interface Resources {
  get<T = unknown>(name: string): Promise<T>;
  has(name: string): boolean;
}

export class ResourceRegistry implements Resources {
  private readonly factories = new Map<string, ResourceFactory>();
  private readonly instances = new Map<string, Promise<unknown>>();

  constructor(factories: Record<string, ResourceFactory> = {}) {
    for (const [name, f] of Object.entries(factories)) this.factories.set(name, f);
  }

  define(name: string, factory: ResourceFactory): void {
    this.factories.set(name, factory);
  }

  has(name: string): boolean {
    return this.factories.has(name);
  }

  get<T = unknown>(name: string): Promise<T> {
    let instance = this.instances.get(name);
    if (!instance) {
      const factory = this.factories.get(name);
      if (!factory) return Promise.reject(new NotFoundError('resource', name, 'name'));
      instance = Promise.resolve().then(factory);
      // A factory that failed may succeed next time (the database was down): forget it.
      instance.catch(() => this.instances.delete(name));
      this.instances.set(name, instance);
    }
    return instance as Promise<T>;
  }

  /** Closes every resource created so far; errors are collected, not thrown one by one. */
  async closeAll(): Promise<unknown[]> {
    const errors: unknown[] = [];
    const created = [...this.instances.values()];
    this.instances.clear();
    for (const p of created) {
      try {
        const r = (await p) as Closable | null;
        if (!r || typeof r !== 'object') continue;
        const close = r.close ?? r.quit ?? r.end ?? r.destroy;
        if (typeof close === 'function') await close.call(r);
      } catch (e) {
        errors.push(e);
      }
    }
    return errors;
  }
}
