/**
 * The chart a person looks at instead of the tables: trivial-task throughput per contender, CPU
 * speedup, and peak RSS against N. vega-lite describes it, vega renders SVG, resvg (a prebuilt
 * binary in an npm package, no native build) turns that into PNG.
 */
import { Resvg } from '@resvg/resvg-js';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { SuiteResult } from './harness.js';

interface Chart {
  readonly svg: string;
  readonly png: Buffer;
}

type Figures = Record<string, { itemsPerSecond?: number; speedup?: number }>;
interface MemoryPoint {
  readonly contender: string;
  readonly items: number;
  readonly rssMb: number;
}

const family = (name: string): string => (name.startsWith('ordered-pool') ? 'ordered-pool' : 'others');
const INDEPENDENT = { scale: { color: 'independent' }, legend: { color: 'independent' } };
const BY_VALUE = { field: 'value', op: 'max', order: 'descending' };
const COLORS = { domain: ['ordered-pool', 'others'], range: ['#1f77b4', '#aaaaaa'] };

function bars(title: string, values: { contender: string; value: number }[], axis: string, log: boolean): Record<string, unknown> {
  // A log scale has no zero for bars to start from: they start at a power of ten below the smallest.
  const floor = log ? 10 ** Math.floor(Math.log10(Math.max(1, Math.min(...values.map((v) => v.value))))) : 0;
  return {
    title,
    width: 320,
    height: 22 * values.length,
    data: { values: values.map((v) => ({ ...v, family: family(v.contender) })) },
    layer: [
      {
        mark: 'bar',
        encoding: {
          y: { field: 'contender', type: 'nominal', sort: BY_VALUE, title: null, axis: { labelLimit: 400 } },
          x: { field: 'value', type: 'quantitative', title: axis, scale: log ? { type: 'log', domainMin: floor } : {} },
          x2: { datum: floor },
          color: { field: 'family', type: 'nominal', scale: COLORS, legend: null },
        },
      },
      {
        mark: { type: 'text', align: 'left', dx: 3, fontSize: 10 },
        encoding: {
          y: { field: 'contender', type: 'nominal', sort: BY_VALUE },
          x: { field: 'value', type: 'quantitative' },
          text: { field: 'value', type: 'quantitative', format: log ? '.3~s' : '.2f' },
        },
      },
    ],
  };
}

export async function renderChart(suites: readonly SuiteResult[], subtitle: string): Promise<Chart | undefined> {
  const panels: Record<string, unknown>[] = [];
  const trivial = suites.find((s) => s.id === 'trivial');
  if (trivial !== undefined) {
    const values = Object.entries(trivial.figures as Figures).map(([contender, f]) => ({ contender, value: f.itemsPerSecond ?? 0 }));
    panels.push(bars(`Trivial tasks: items/s (log scale), ${Number(trivial.params.items).toLocaleString('en-US')} items`, values, 'items/s', true));
  }
  const cpu = suites.find((s) => s.id === 'cpu');
  if (cpu !== undefined) {
    const values = Object.entries(cpu.figures as Figures).map(([contender, f]) => ({ contender, value: f.speedup ?? 0 }));
    panels.push(bars('CPU-bound (~1 ms/item): speedup over the main thread', values, 'speedup (×)', false));
  }
  const memory = suites.find((s) => s.id === 'memory');
  if (memory !== undefined) {
    panels.push({
      title: 'Peak RSS against N, slow consumer (fresh process each)',
      width: 320,
      height: 220,
      data: { values: (memory.figures as { points: MemoryPoint[] }).points },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'items', type: 'quantitative', scale: { type: 'log' }, title: 'items (log scale)', axis: { values: [1e4, 1e5, 1e6], format: ',' } },
        y: { field: 'rssMb', type: 'quantitative', title: 'peak RSS, MB' },
        color: { field: 'contender', type: 'nominal', legend: { orient: 'bottom', columns: 1, title: null, labelLimit: 300 } },
      },
    });
  }
  if (panels.length === 0) return undefined;
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'ordered-pool benchmarks', subtitle },
    background: 'white',
    padding: 12,
    config: { font: 'DejaVu Sans', view: { stroke: null } },
    // Each panel has its own colours: ordered-pool against the rest in the bars, one per contender in the lines.
    resolve: INDEPENDENT,
    vconcat: [{ hconcat: panels.slice(0, 2), resolve: INDEPENDENT }, ...panels.slice(2)],
  } as unknown as TopLevelSpec;
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } })
    .render()
    .asPng();
  return { svg, png };
}
