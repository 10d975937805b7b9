/**
 * @module components/step-graph
 * A workflow's steps as an SVG graph: one column per dependency depth (a step sits one
 * column right of its deepest dependency), edges from each dependency, each node coloured
 * by its status with its task's progress as a bar. Rows within a column follow the mean
 * row of the node's dependencies, which keeps most edges short and uncrossed.
 */
import { navigate, href } from '../router.js';

export interface GraphStep {
  id: string;
  type: string;
  status: string;
  dependencies: string[];
  progress: number;
  taskId: string | null;
}

const W = 184;
const H = 60;
const COL_GAP = 72;
const ROW_GAP = 20;
const PAD = 12;

interface Placed extends GraphStep {
  x: number;
  y: number;
}

function layout(steps: GraphStep[]): { nodes: Placed[]; columns: Placed[][]; width: number; height: number } {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const depth = new Map<string, number>();
  const depthOf = (id: string, seen: Set<string>): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    // The server refuses cycles; the guard only keeps a bad answer from hanging the page.
    if (seen.has(id)) return 0;
    seen.add(id);
    const deps = (byId.get(id)?.dependencies ?? []).filter((d) => byId.has(d));
    const d = deps.length === 0 ? 0 : 1 + Math.max(...deps.map((dep) => depthOf(dep, seen)));
    depth.set(id, d);
    return d;
  };
  const columns: GraphStep[][] = [];
  for (const s of steps) (columns[depthOf(s.id, new Set())] ??= []).push(s);

  const row = new Map<string, number>();
  for (const column of columns) {
    if (!column) continue;
    const weight = (s: GraphStep) => {
      const rows = s.dependencies.map((d) => row.get(d)).filter((r) => r !== undefined);
      return rows.length === 0 ? 0 : rows.reduce((a, b) => a + b, 0) / rows.length;
    };
    const order = column.map((s, i) => ({ s, i, w: weight(s) })).sort((a, b) => a.w - b.w || a.i - b.i);
    order.forEach(({ s }, i) => row.set(s.id, i));
    column.splice(0, column.length, ...order.map((o) => o.s));
  }

  const tallest = Math.max(1, ...columns.map((c) => c?.length ?? 0));
  const height = PAD * 2 + tallest * H + (tallest - 1) * ROW_GAP;
  const placed = [...columns].map((column = [], c) => {
    const own = column.length * H + (column.length - 1) * ROW_GAP;
    const top = (height - own) / 2;
    return column.map((s, r) => ({ ...s, x: PAD + c * (W + COL_GAP), y: top + r * (H + ROW_GAP) }));
  });
  const width = PAD * 2 + columns.length * W + Math.max(0, columns.length - 1) * COL_GAP;
  return { nodes: placed.flat(), columns: placed, width, height };
}

/**
 * The SVG path of the edge `from` → `to`. Incoming edges spread over the target's left
 * side (`slot` of `slots`); an edge that skips columns runs through a free lane of the
 * columns between, instead of under the nodes there.
 */
function edgePath(from: Placed, to: Placed, slot: number, slots: number, columns: Placed[][]): string {
  const x1 = from.x + W;
  const y1 = from.y + H / 2;
  const x2 = to.x - 2;
  const y2 = to.y + H / 2 + (slots > 1 ? (slot / (slots - 1) - 0.5) * (H * 0.4) : 0);
  const c1 = Math.round((from.x - PAD) / (W + COL_GAP));
  const c2 = Math.round((to.x - PAD) / (W + COL_GAP));
  const between = columns.slice(c1 + 1, c2).flat();
  const curve = (ax: number, ay: number, bx: number, by: number) => {
    const bend = Math.max(24, (bx - ax) / 2);
    return `C${ax + bend},${ay} ${bx - bend},${by} ${bx},${by}`;
  };
  if (between.length === 0) return `M${x1},${y1} ${curve(x1, y1, x2, y2)}`;
  const free = (y: number) => between.every((n) => y < n.y - 6 || y > n.y + H + 6);
  const candidates = [y1, y2, ...between.flatMap((n) => [n.y - ROW_GAP / 2, n.y + H + ROW_GAP / 2])];
  const lane = candidates
    .filter(free)
    .sort((a, b) => Math.abs(a - y1) + Math.abs(a - y2) - (Math.abs(b - y1) + Math.abs(b - y2)))[0];
  if (lane === undefined) return `M${x1},${y1} ${curve(x1, y1, x2, y2)}`;
  const xa = x1 + COL_GAP;
  const xb = x2 - COL_GAP;
  return `M${x1},${y1} ${curve(x1, y1, xa, lane)} L${xb},${lane} ${curve(xb, lane, x2, y2)}`;
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export function StepGraph({ steps }: { steps: GraphStep[] }) {
  const { nodes, columns, width, height } = layout(steps);
  const at = new Map(nodes.map((n) => [n.id, n]));
  const open = (n: Placed) => {
    if (n.taskId !== null) navigate(href('tasks', n.taskId));
  };
  return (
    <div class="graph-wrap">
      <svg
        class="graph"
        viewBox={`0 0 ${width} ${height}`}
        width={width}
        height={height}
        role="img"
        aria-label="Workflow steps"
        data-testid="step-graph"
      >
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="7"
            markerHeight="7"
            orient="auto"
          >
            <path d="M0,0 L10,5 L0,10 z" class="arrow-head" />
          </marker>
        </defs>
        {nodes.flatMap((n) => {
          // Incoming edges in the order of their sources' height, so they do not cross at the node.
          const sources = n.dependencies
            .map((d) => at.get(d))
            .filter((f) => f !== undefined)
            .sort((a, b) => a.y - b.y);
          return sources.map((from, i) => (
            <path
              key={`${from.id}->${n.id}`}
              class={`edge ${from.status === 'completed' ? 'edge-done' : ''}`}
              d={edgePath(from, n, i, sources.length, columns)}
              marker-end="url(#arrow)"
            />
          ));
        })}
        {nodes.map((n) => {
          const pct = n.status === 'completed' ? 100 : Math.max(0, Math.min(100, n.progress));
          return (
            <g
              key={n.id}
              class={`node s-${n.status} ${n.taskId === null ? '' : 'node-link'}`}
              transform={`translate(${n.x},${n.y})`}
              data-step-id={n.id}
              data-status={n.status}
              data-progress={pct}
              tabIndex={n.taskId === null ? -1 : 0}
              role={n.taskId === null ? undefined : 'link'}
              aria-label={`${n.id}: ${n.status}`}
              onClick={() => open(n)}
              onKeyDown={(e) => e.key === 'Enter' && open(n)}
            >
              <title>{`${n.id} (${n.type}): ${n.status}, ${pct}%`}</title>
              <rect class="node-box" width={W} height={H} rx={8} />
              <text class="node-title" x={12} y={22}>
                {clip(n.id, 22)}
              </text>
              <text class="node-sub" x={12} y={38}>
                {clip(`${n.type} · ${n.status}`, 28)}
              </text>
              <rect class="node-bar-bg" x={12} y={H - 14} width={W - 24} height={5} rx={2.5} />
              <rect class="node-bar" x={12} y={H - 14} width={((W - 24) * pct) / 100} height={5} rx={2.5} />
            </g>
          );
        })}
      </svg>
    </div>
  );
}
