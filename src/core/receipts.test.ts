import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  canonicalReceiptJson,
  computeReceiptHash,
  sealReceipt,
  verifyReceiptChain,
  type UnsignedReceipt,
} from './receipts.js';
import type { Receipt } from './types.js';

function chain(n: number): Receipt[] {
  const out: Receipt[] = [];
  let prev: string | null = null;
  for (let i = 1; i <= n; i++) {
    const r: Receipt = sealReceipt({
      id: `r${i}`,
      itemId: 'item-1',
      seq: i,
      status: i === 1 ? 'enqueued' : i === n ? 'completed' : 'progress',
      timestamp_iso: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
      executorId: i === 1 ? null : 'executor-1',
      progress: i === n ? 100 : (i - 1) * 25,
      output: i === n ? { ok: true, n: 1.5 } : null,
      error: null,
      retryCount: 0,
      previousReceiptHash: prev,
    });
    out.push(r);
    prev = r.receiptHash;
  }
  return out;
}

describe('receipts', () => {
  it('hash is SHA-256 over the RFC 8785 canonical JSON without receiptHash', () => {
    const unsigned: UnsignedReceipt = {
      id: 'r1',
      itemId: 'i',
      seq: 1,
      status: 'enqueued',
      timestamp_iso: '2026-01-01T00:00:00.000Z',
      executorId: null,
      progress: 0,
      output: null,
      error: null,
      retryCount: 0,
      previousReceiptHash: null,
    };
    const canonical =
      '{"error":null,"executorId":null,"id":"r1","itemId":"i","output":null,"previousReceiptHash":null,' +
      '"progress":0,"retryCount":0,"seq":1,"status":"enqueued","timestamp_iso":"2026-01-01T00:00:00.000Z"}';
    expect(canonicalJson(unsigned)).toBe(canonical);
    expect(computeReceiptHash(unsigned)).toBe(createHash('sha256').update(canonical).digest('hex'));
  });

  it('the receipt fast path equals generic RFC 8785 canonicalization', () => {
    const tricky: UnsignedReceipt[] = [
      ...chain(4).map(({ receiptHash: _h, ...r }) => r),
      {
        id: 'r\u2028"\\',
        itemId: 'ü/é',
        seq: 7,
        status: 'failed',
        timestamp_iso: '2026-01-01T00:00:00.000Z',
        executorId: null,
        progress: 33.333333333333336,
        output: { z: [1e21, -0, 0.1, 'x'], a: { é: null, b: true, '\u0000': 'nul' } },
        error: { message: 'boom "quoted"', code: 'E' },
        retryCount: 2,
        previousReceiptHash: 'f'.repeat(64),
      },
    ];
    for (const r of tricky) expect(canonicalReceiptJson(r)).toBe(canonicalJson(r));
  });

  it('canonical JSON follows RFC 8785 number formatting and key order', () => {
    expect(canonicalJson({ b: 1e21, a: [0.1, -0, 1.0], é: 'x', A: null })).toBe(
      '{"A":null,"a":[0.1,0,1],"b":1e+21,"é":"x"}',
    );
  });

  it('a chain built link by link verifies', () => {
    expect(verifyReceiptChain('item-1', chain(5))).toEqual({
      itemId: 'item-1',
      valid: true,
      count: 5,
      firstBrokenSeq: null,
      reason: null,
    });
  });

  it('names the first receipt whose contents changed', () => {
    const c = chain(5);
    c[2] = { ...c[2]!, progress: 99 };
    const v = verifyReceiptChain('item-1', c);
    expect(v.valid).toBe(false);
    expect(v.firstBrokenSeq).toBe(3);
    expect(v.reason).toMatch(/receiptHash/);
  });

  it('names a re-sealed receipt by the broken link after it', () => {
    const c = chain(5);
    const { receiptHash: _h, ...rest } = c[1]!;
    c[1] = sealReceipt({ ...rest, output: { forged: true } });
    const v = verifyReceiptChain('item-1', c);
    expect(v.firstBrokenSeq).toBe(3);
    expect(v.reason).toMatch(/previousReceiptHash/);
  });

  it('names a gap in the sequence', () => {
    const c = chain(4);
    c.splice(1, 1);
    expect(verifyReceiptChain('item-1', c).firstBrokenSeq).toBe(3);
  });
});
