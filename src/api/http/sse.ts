/**
 * @module sse
 * `GET /api/events` (CONTRACT §6): Server-Sent Events served from the persisted event log.
 * Each frame's `id:` is the event's seq, so a client that reconnects with `Last-Event-ID`
 * resumes right after the last event it got: none missed, none twice. The stream is a
 * subscription that reads the log page by page and waits for the socket to drain before
 * it writes more, so a reader that stops reading holds one page of events in memory at
 * most, not everything that happened since. Comments (`: ping`) keep idle connections open
 * through proxies.
 */
import { once } from 'node:events';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Conveyor } from '../../client/conveyor.js';
import { sseEventName } from '../../client/views.js';
import type { ConveyorEvent } from '../../core/types.js';

export interface StreamFilter {
  tenant: string;
  workflowId?: string | undefined;
  itemId?: string | undefined;
  /** Resume after this seq; undefined: from the start of a filtered stream, else from now. */
  afterSeq?: number | undefined;
}

/** What a frame carries: the event's facts in the API's snake_case. */
function frameData(e: ConveyorEvent, name: string): Record<string, unknown> {
  const patch = (e.data.patch ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {
    seq: e.seq,
    type: name,
    at: e.at,
    task_id: e.itemId,
    workflow_id: e.workflowId,
    status: e.data.to ?? null,
  };
  if (e.data.from !== undefined) out.from = e.data.from;
  if (patch.progress !== undefined) out.progress = patch.progress;
  if (patch.progressMessage !== undefined) out.message = patch.progressMessage;
  if (patch.output !== undefined) out.result = patch.output;
  if (patch.error !== undefined) out.error = patch.error;
  const item = e.data.item as { type?: string } | undefined;
  if (item?.type !== undefined) out.task_type = item.type;
  // A step's item id is `<workflow id>:<step id>` (`:<index>` more for a map's child).
  if (e.itemId !== null && e.workflowId !== null && e.itemId.startsWith(`${e.workflowId}:`)) {
    const [step, index] = e.itemId.slice(e.workflowId.length + 1).split(':');
    out.step_id = step;
    if (index !== undefined) out.map_index = Number(index);
  }
  if (e.itemId === null && e.data.state !== undefined) out.name = (e.data.state as { name?: string }).name;
  return out;
}

export function streamEvents(
  cv: Conveyor,
  request: FastifyRequest,
  reply: FastifyReply,
  filter: StreamFilter,
  heartbeatSeconds: number,
): void {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  raw.write('retry: 2000\n\n');
  let closed = false;
  const closedPromise = once(raw, 'close').then(() => undefined);
  const write = async (text: string): Promise<void> => {
    if (closed) return;
    if (!raw.write(text)) await Promise.race([once(raw, 'drain'), closedPromise]);
  };
  const filtered = filter.workflowId !== undefined || filter.itemId !== undefined;
  const sub = cv.subscribe(
    {
      tenant: filter.tenant,
      ...(filter.workflowId !== undefined ? { workflowId: filter.workflowId } : {}),
      ...(filter.itemId !== undefined ? { itemId: filter.itemId } : {}),
      // A stream about one task or workflow starts at its beginning; the firehose at now.
      ...(filter.afterSeq !== undefined ? { afterSeq: filter.afterSeq } : filtered ? { afterSeq: 0 } : {}),
    },
    async (event) => {
      const name = sseEventName(event);
      if (name === null) return;
      await write(`id: ${event.seq}\nevent: ${name}\ndata: ${JSON.stringify(frameData(event, name))}\n\n`);
    },
  );
  const heartbeat = setInterval(() => {
    // A stream that is backed up gets no pings: they would only queue behind the events.
    if (!closed && !raw.writableNeedDrain) raw.write(': ping\n\n');
  }, heartbeatSeconds * 1000);
  heartbeat.unref();
  void closedPromise.then(() => {
    closed = true;
    clearInterval(heartbeat);
    sub.close();
  });
  request.log.debug({ filter }, 'sse stream opened');
}
