/**
 * A PostgreSQL cluster of the test's own (Debian's pg_createcluster, port 55432), for the
 * tests that restart the server under load: restarting the shared server would break the
 * test files running beside them. Created on demand (needs root, as CI runs), dropped after.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

export const PRIVATE_PG_PORT = 55432;
export const PRIVATE_PG_URL = `postgres://postgres@127.0.0.1:${PRIVATE_PG_PORT}/postgres`;
const CLUSTER = 'conveyor_restart';

const version = () =>
  existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql').sort().at(-1) : undefined;

/** Why a private cluster cannot be made here, or null when it can. */
export function privatePostgresUnavailable(): string | null {
  if (!existsSync('/usr/bin/pg_createcluster'))
    return 'pg_createcluster is not installed (Debian postgresql-common)';
  if (!version()) return 'no PostgreSQL version under /etc/postgresql';
  if (process.getuid?.() !== 0) return 'pg_createcluster needs root';
  return null;
}

const ctl = (...args: string[]) =>
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version()!, CLUSTER, ...args], {
    stdio: 'pipe',
  });

export function startPrivatePostgres(): void {
  const v = version()!;
  if (!existsSync(`/etc/postgresql/${v}/${CLUSTER}`)) {
    execFileSync('pg_createcluster', [v, CLUSTER, '-p', String(PRIVATE_PG_PORT), '--', '-A', 'trust'], {
      stdio: 'pipe',
    });
  }
  try {
    ctl('start');
  } catch (e) {
    // Already running (a previous run that did not clean up) is fine.
    if (!String((e as { stderr?: Buffer }).stderr ?? '').includes('already running')) throw e;
  }
  waitUntilAccepting();
}

/**
 * Returns once the cluster accepts connections. `start` can return before it does (a
 * cluster a previous run left shutting down counts as "already running"); a clean-clone CI
 * run once failed on ECONNREFUSED at the first connect.
 */
function waitUntilAccepting(timeoutMs = 30_000): void {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      execFileSync('pg_isready', ['-q', '-h', '127.0.0.1', '-p', String(PRIVATE_PG_PORT)], { stdio: 'pipe' });
      return;
    } catch (e) {
      if (Date.now() > end) throw e;
      execFileSync('sleep', ['0.1']);
    }
  }
}

/** `pg_ctlcluster … restart`: a fast shutdown (every connection dropped), then a start. */
export function restartPrivatePostgres(): void {
  ctl('restart');
}

export function dropPrivatePostgres(): void {
  execFileSync('pg_dropcluster', ['--stop', version()!, CLUSTER], { stdio: 'pipe' });
}
