/**
 * What the API fuzzer sends (api-fuzz.test.ts): fast-check arbitraries for request bodies,
 * query strings and path ids, weighted toward what breaks parsers and validators.
 */
import fc from 'fast-check';

export interface FuzzBody {
  bytes: string | Buffer;
  contentType: string;
}

const KEYS = [
  'type',
  'payload',
  'name',
  'id',
  'steps',
  'tasks',
  'phase_id',
  'executor_id',
  'lease_token',
  'percent',
  'result',
  'error',
  'priority',
  'queue',
  'dependencies',
  'capabilities',
  'types',
  'limit',
  'start',
  'input',
  'deps',
  '__proto__',
  'constructor',
  'prototype',
  'webhook_url',
];

const NUMBERS = [
  '1e999',
  '-1e999',
  '-0',
  '1e308',
  '123456789012345678901234567890',
  '0.1e-400',
  '9007199254740993',
];

/** Valid-looking objects: known keys with random values, so validation gets past the first field. */
const shapedObject = fc
  .dictionary(fc.constantFrom(...KEYS), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 })
  .map((o) => JSON.stringify(o));

const poisoned = fc
  .tuple(fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.jsonValue({ maxDepth: 2 }))
  .map(
    ([k, v]) => `{"type":"noop","${k}":${JSON.stringify(v) ?? 'null'},"payload":{"${k}":{"polluted":true}}}`,
  );

const deep = fc
  .tuple(fc.integer({ min: 50, max: 20_000 }), fc.constantFrom('[', '{"a":'))
  .map(([n, open]) => open.repeat(n) + (open === '[' ? ']' : '1}').repeat(n));

const hugeNumber = fc
  .tuple(fc.constantFrom(...KEYS), fc.constantFrom(...NUMBERS))
  .map(([k, v]) => `{"${k}":${v},"type":"noop"}`);

const badText = fc.constantFrom(
  '{"type":"\\ud800"}',
  '{"type":"noop","payload":"\\udfff x"}',
  '{"type":"noop"',
  '{"type":"noop"}}',
  '',
  'null',
  '[]',
  '"text"',
  '{"type":"noop",}',
  'NaN',
);

const invalidUtf8 = fc
  .uint8Array({ minLength: 1, maxLength: 64 })
  .map((bytes) =>
    Buffer.concat([Buffer.from('{"type":"'), Buffer.from([0xff, 0xfe, ...bytes]), Buffer.from('"}')]),
  );

export function bodyArbitrary(limit: number): fc.Arbitrary<FuzzBody> {
  const json = (a: fc.Arbitrary<string | Buffer>) =>
    a.map((bytes) => ({ bytes, contentType: 'application/json' }));
  return fc.oneof(
    { weight: 4, arbitrary: json(fc.json({ maxDepth: 4 })) },
    { weight: 6, arbitrary: json(shapedObject) },
    { weight: 2, arbitrary: json(poisoned) },
    { weight: 1, arbitrary: json(deep) },
    { weight: 2, arbitrary: json(hugeNumber) },
    { weight: 2, arbitrary: json(badText) },
    { weight: 1, arbitrary: json(invalidUtf8) },
    { weight: 1, arbitrary: json(fc.constant(`{"type":"noop","payload":"${'x'.repeat(limit)}"}`)) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/xml', ''),
          shapedObject,
        )
        .map(([contentType, bytes]) => ({ bytes, contentType })),
    },
  );
}

/** `?a=b&…` of known query names with odd values, or nothing. */
export const queryArbitrary: fc.Arbitrary<string> = fc.oneof(
  fc.constant(''),
  fc
    .dictionary(
      fc.constantFrom(
        'status',
        'type',
        'queue',
        'limit',
        'cursor',
        'workflow_id',
        'task_id',
        'last_event_id',
        'name',
        'x',
      ),
      fc.oneof(
        fc.string({ maxLength: 30 }),
        fc.constantFrom('-1', '1e9', 'completed,bogus', '', '0', '99999999999'),
      ),
      { maxKeys: 3 },
    )
    .map((q) => `?${new URLSearchParams(q).toString()}`),
);

/** A path parameter: the fixture of its kind, or a random string. */
export function pathValue(
  name: string,
  fx: Record<string, string>,
  useFixture: boolean,
  random: string,
): string {
  if (!useFixture) return random === '' ? 'x' : random;
  if (name === 'id' || name === 'task_id') return fx.task ?? 'x';
  return fx.executor ?? 'x';
}
