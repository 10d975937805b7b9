/**
 * @module components/queue-chart
 * Queue depth over time (uPlot) from `GET /api/stats/queue`: the server's samples,
 * oldest first, and the counts of now as the last point. A server without the
 * endpoint (404) or without samples yet shows a note instead of an empty chart.
 */
import { useEffect, useMemo, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { api, ApiError, type QueueStats, type TaskStatus } from '../api.js';
import { useLoad } from '../hooks.js';
import { LoadError } from './common.js';

/** The statuses drawn; the same colours as the badges (style.css). */
const SERIES: { status: TaskStatus; color: string }[] = [
  { status: 'pending', color: '#8b95a5' },
  { status: 'queued', color: '#d69e2e' },
  { status: 'running', color: '#3b82f6' },
  { status: 'failed', color: '#dc2626' },
];

const clock = (seconds: number) =>
  new Date(seconds * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

function toData(stats: QueueStats): uPlot.AlignedData {
  const points = [...stats.samples];
  const last = points[points.length - 1];
  if (!last || Date.parse(stats.now.at) > Date.parse(last.at)) points.push(stats.now);
  return [
    points.map((p) => Date.parse(p.at) / 1000),
    ...SERIES.map(({ status }) => points.map((p) => p.counts[status] ?? 0)),
  ];
}

function Chart({ data }: { data: uPlot.AlignedData }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const chart = new uPlot(
      {
        width: el.clientWidth,
        height: 220,
        scales: { y: { range: (_u, _min, max) => [0, Math.max(4, Math.ceil(max * 1.1))] } },
        axes: [
          // Whole seconds at least: samples are seconds apart, sub-second ticks would only repeat them.
          {
            incrs: [1, 5, 10, 15, 30, 60, 300, 600, 900, 1800, 3600],
            values: (_u, splits) => splits.map(clock),
          },
          { label: 'tasks', size: 50 },
        ],
        // A key of the series, not the values under the cursor: the counts of now are above.
        legend: { live: false },
        series: [
          {},
          ...SERIES.map(({ status, color }) => ({
            label: status,
            stroke: color,
            width: 2,
            points: { show: false },
          })),
        ],
      },
      data,
      el,
    );
    plot.current = chart;
    const resize = new ResizeObserver(() => chart.setSize({ width: el.clientWidth, height: 220 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => plot.current?.setData(data), [data]);
  return <div ref={box} class="chart" />;
}

export function QueueChart() {
  const stats = useLoad(() => api<QueueStats>('api/stats/queue'), [], 5000);
  const missing = stats.error instanceof ApiError && stats.error.status === 404;
  const now = stats.data?.now.counts;
  const data = useMemo(() => (stats.data ? toData(stats.data) : null), [stats.data]);
  return (
    <div data-testid="queue-chart">
      {now && (
        <ul class="counts">
          {SERIES.map(({ status }) => (
            <li key={status} class={`badge s-${status}`}>
              {status} <b>{now[status] ?? 0}</b>
            </li>
          ))}
        </ul>
      )}
      {data && stats.data && stats.data.samples.length > 0 ? (
        <Chart data={data} />
      ) : (
        (missing || stats.data) && (
          <p class="muted" data-testid="queue-chart-empty">
            No samples yet: the server records the queue's depth every few seconds.
          </p>
        )
      )}
      {!missing && <LoadError error={stats.error} />}
    </div>
  );
}
