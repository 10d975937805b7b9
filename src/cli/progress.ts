/**
 * @module cli/progress
 * The live view of `run --watch` and `task add --wait`: one progress bar per step (a
 * cli-progress MultiBar) on a terminal; elsewhere (CI logs, pipes) one plain line per
 * change of state, because redrawn bars turn a log file into noise.
 */
import cliProgress from 'cli-progress';

export interface ProgressUpdate {
  status?: string;
  /** 0–100. */
  percent?: number;
  /** A word on the state (an error, a retry's reason), shown beside it. */
  detail?: string;
}

export interface ProgressBoard {
  /** A row for `key`, in the order rows are added. */
  add(key: string, label: string, status: string): void;
  set(key: string, update: ProgressUpdate): void;
  /** Ends the live display (the bars stay on screen as they last were). */
  stop(): void;
}

interface Row {
  label: string;
  status: string;
  percent: number;
  detail: string;
}

const FINISHED = new Set(['completed', 'failed', 'cancelled', 'skipped']);

/** Bars when `stream` is a terminal, lines otherwise. */
export function createBoard(stream: NodeJS.WriteStream): ProgressBoard {
  return stream.isTTY ? barBoard(stream) : lineBoard(stream);
}

/** Applies `u`; true when the status changed. */
function applyUpdate(row: Row, u: ProgressUpdate): boolean {
  const before = row.status;
  if (u.status !== undefined) row.status = u.status;
  if (u.detail !== undefined) row.detail = u.detail;
  else if (u.status !== undefined) row.detail = '';
  if (u.percent !== undefined) row.percent = Math.max(0, Math.min(100, Math.round(u.percent)));
  if (row.status === 'completed') row.percent = 100;
  return row.status !== before;
}

/**
 * `label  status (detail)` lines, printed when a row's state changes (not its percentage).
 * The first rows are held until the first change, so that they line up with each other.
 */
export function lineBoard(stream: NodeJS.WritableStream): ProgressBoard {
  const rows = new Map<string, Row>();
  const held: Row[] = [];
  let width = 0;
  const print = (row: Row) =>
    stream.write(`${row.label.padEnd(width)}  ${row.status}${row.detail ? ` (${row.detail})` : ''}\n`);
  const flush = () => {
    for (const row of held.splice(0)) print(row);
  };
  return {
    add(key, label, status) {
      const row = { label, status, percent: 0, detail: '' };
      rows.set(key, row);
      held.push(row);
      width = Math.max(width, label.length);
    },
    set(key, update) {
      flush();
      const row = rows.get(key);
      if (row && applyUpdate(row, update)) print(row);
    },
    stop: flush,
  };
}

function barBoard(stream: NodeJS.WriteStream): ProgressBoard {
  const multibar = new cliProgress.MultiBar(
    {
      stream,
      format: '{label} {bar} {percentage}% | {status}',
      barsize: 30,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      autopadding: true,
      // Its own handler would stop the bars but swallow Ctrl-C; ours stops them and exits.
      gracefulExit: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const rows = new Map<string, { row: Row; bar: cliProgress.SingleBar }>();
  let width = 0;
  const interrupted = () => {
    multibar.stop();
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  const payload = (row: Row) => ({
    label: row.label.padEnd(width),
    status: row.detail ? `${row.status} (${row.detail})` : row.status,
  });
  return {
    add(key, label, status) {
      width = Math.max(width, label.length);
      const row = { label, status, percent: 0, detail: '' };
      rows.set(key, { row, bar: multibar.create(100, 0, payload(row)) });
      // Labels line up: the rows made before a longer label get its width too.
      for (const r of rows.values()) r.bar.update(r.row.percent, payload(r.row));
    },
    set(key, update) {
      const entry = rows.get(key);
      if (!entry) return;
      applyUpdate(entry.row, update);
      entry.bar.update(entry.row.percent, payload(entry.row));
    },
    stop() {
      process.off('SIGINT', interrupted);
      multibar.stop();
    },
  };
}

export const isFinished = (status: string): boolean => FINISHED.has(status);
