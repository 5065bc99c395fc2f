/**
 * The workflow's state graph, drawn from the ASL itself as server-rendered SVG (no graph library, no build step):
 * states in layers by their distance from StartAt, each a box linking to its visit on the page, each transition an
 * arrow. Over it, one execution: the path it took highlighted, retries counted on each state, the state that failed
 * in red (amber when the failure was caught and the execution went on to answer).
 */
import type { RecordedExecution } from '../stepfunctions/execution-history.js';
import { html, type SafeHtml } from './html.js';

/** The parts of an ASL state the graph reads. */
export interface AslState {
  Type: string;
  Resource?: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: { Next?: string }[];
  Catch?: { Next?: string }[];
  Parameters?: unknown;
  Arguments?: unknown;
}

export interface StateMachineDefinition {
  StartAt: string;
  States: Record<string, AslState>;
}

export interface Transition {
  from: string;
  to: string;
  /** next, choice, default or catch. */
  kind: 'next' | 'choice' | 'default' | 'catch';
}

/** An arrowhead for the edges, in their class's colour. */
const arrowMarker = (id: string, className: string): SafeHtml =>
  html`<marker
    id="${id}"
    viewBox="0 0 10 10"
    refX="9"
    refY="5"
    markerWidth="8"
    markerHeight="8"
    markerUnits="userSpaceOnUse"
    orient="auto"
  >
    <path d="M0,0 L10,5 L0,10 z" class="${className}" />
  </marker>`;

export function transitionsOf(definition: StateMachineDefinition): Transition[] {
  const transitions: Transition[] = [];
  const add = (from: string, to: string | undefined, kind: Transition['kind']): void => {
    if (to !== undefined && definition.States[to] && !transitions.some((t) => t.from === from && t.to === to)) {
      transitions.push({ from, to, kind });
    }
  };
  for (const [name, state] of Object.entries(definition.States)) {
    add(name, state.Next, 'next');
    for (const choice of state.Choices ?? []) add(name, choice.Next, 'choice');
    add(name, state.Default, 'default');
    for (const catcher of state.Catch ?? []) add(name, catcher.Next, 'catch');
  }
  return transitions;
}

export interface PlacedState {
  name: string;
  type: string;
  layer: number;
  x: number;
  y: number;
}

const BOX = { width: 150, height: 34, gapX: 16, gapY: 30, margin: 8 };

/**
 * Each state in the layer of its longest distance from StartAt, loops set aside (a transition back to a state on the
 * current depth-first path, PauseBeforePersist -> Persist, is drawn but not counted): a state is always below every
 * state that leads to it, so arrows point down, and a shared handler (InternalError, reached from the first state and
 * from deep in the graph) sits at the bottom rather than beside the first state. In definition order within a layer.
 */
export function layout(definition: StateMachineDefinition): { states: PlacedState[]; width: number; height: number } {
  const transitions = transitionsOf(definition);
  const back = new Set<Transition>();
  const visiting = new Set<string>();
  const done = new Set<string>();
  const finished: string[] = [];
  const visit = (name: string): void => {
    visiting.add(name);
    for (const transition of transitions.filter((candidate) => candidate.from === name)) {
      if (visiting.has(transition.to)) back.add(transition);
      else if (!done.has(transition.to)) visit(transition.to);
    }
    visiting.delete(name);
    done.add(name);
    finished.push(name);
  };
  visit(definition.StartAt);
  // Reverse post-order is a topological order of the graph without its back transitions.
  const layerOf = new Map<string, number>();
  for (const name of finished.reverse()) {
    const before = transitions.filter((transition) => transition.to === name && !back.has(transition));
    const layers = before.flatMap((transition) => {
      const layer = layerOf.get(transition.from);
      return layer === undefined ? [] : [layer + 1];
    });
    layerOf.set(name, Math.max(0, ...layers));
  }
  // A state nothing reaches is still drawn, below the rest.
  const deepest = Math.max(...layerOf.values());
  for (const name of Object.keys(definition.States)) if (!layerOf.has(name)) layerOf.set(name, deepest + 1);

  const layers: string[][] = [];
  for (const [name, layer] of layerOf) (layers[layer] ??= []).push(name);
  const widest = Math.max(...layers.map((names) => names.length));
  const width = BOX.margin * 2 + widest * BOX.width + (widest - 1) * BOX.gapX;
  const states = layers.flatMap((names, layer) => {
    const rowWidth = names.length * BOX.width + (names.length - 1) * BOX.gapX;
    const left = (width - rowWidth) / 2;
    return names.map((name, index) => ({
      name,
      type: definition.States[name]?.Type ?? '',
      layer,
      x: left + index * (BOX.width + BOX.gapX),
      y: BOX.margin + layer * (BOX.height + BOX.gapY),
    }));
  });
  return { states, width, height: BOX.margin * 2 + layers.length * (BOX.height + BOX.gapY) - BOX.gapY };
}

export interface StateRun {
  /** How many times the execution entered the state. */
  visits: number;
  retries: number;
  /** The state failed (StateFailed), caught or not. */
  failed: boolean;
}

/** What one execution did in each state, and the transitions it took (from -> to). */
export function runOf(execution: RecordedExecution): { states: Map<string, StateRun>; taken: Set<string> } {
  const states = new Map<string, StateRun>();
  const taken = new Set<string>();
  const runOfState = (name: string): StateRun => {
    let run = states.get(name);
    if (!run) states.set(name, (run = { visits: 0, retries: 0, failed: false }));
    return run;
  };
  let previous: string | undefined;
  for (const event of execution.events) {
    if (event.type === 'StateEntered') {
      runOfState(event.state.name).visits += 1;
      if (previous !== undefined) taken.add(`${previous}\u0000${event.state.name}`);
      previous = event.state.name;
    } else if (event.type === 'StateRetried') runOfState(event.state.name).retries += 1;
    else if (event.type === 'StateFailed') runOfState(event.state.name).failed = true;
  }
  return { states, taken };
}

/** The page anchor of a state's first visit (the timeline entry carries the same id). */
export const stateAnchor = (name: string): string => `state-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;

/**
 * A downward edge that skips layers passes each layer between through the gap between two boxes nearest its straight
 * line (as a layered drawing's dummy nodes would), not over the boxes.
 */
const edgePath = (from: PlacedState, to: PlacedState, rows: ReadonlyMap<number, PlacedState[]>): string => {
  const x1 = from.x + BOX.width / 2;
  const x2 = to.x + BOX.width / 2;
  if (to.layer > from.layer) {
    const points: { x: number; top: number }[] = [];
    for (let layer = from.layer + 1; layer < to.layer; layer += 1) {
      const row = rows.get(layer) ?? [];
      const ideal = x1 + ((x2 - x1) * (layer - from.layer)) / (to.layer - from.layer);
      const gaps = [
        (row[0]?.x ?? ideal + BOX.gapX / 2) - BOX.gapX / 2,
        ...row.map((box) => box.x + BOX.width + BOX.gapX / 2),
      ];
      const x = gaps.reduce((best, gap) => (Math.abs(gap - ideal) < Math.abs(best - ideal) ? gap : best));
      points.push({ x, top: row[0]?.y ?? from.y + (layer - from.layer) * (BOX.height + BOX.gapY) });
    }
    let path = `M${x1},${from.y + BOX.height}`;
    let at = { x: x1, y: from.y + BOX.height };
    for (const point of [...points, { x: x2, top: to.y }]) {
      const bend = (point.top - at.y) / 2;
      path += ` C${at.x},${at.y + bend} ${point.x},${point.top - bend} ${point.x},${point.top}`;
      at = { x: point.x, y: point.top };
      if (point.top !== to.y) {
        path += ` L${point.x},${point.top + BOX.height}`;
        at = { x: point.x, y: point.top + BOX.height };
      }
    }
    return path;
  }
  // Back or sideways (a loop: PauseBeforePersist -> Persist): out of the side, around, into the side.
  const side = x2 <= x1 ? -1 : 1;
  const xa = side < 0 ? from.x : from.x + BOX.width;
  const xb = side < 0 ? to.x : to.x + BOX.width;
  const ya = from.y + BOX.height / 2;
  const yb = to.y + BOX.height / 2;
  const out = side * (BOX.gapX + 24);
  return `M${xa},${ya} C${xa + out},${ya} ${xb + out},${yb} ${xb},${yb}`;
};

/**
 * The graph as an <svg> (inline, so it is styled by the console's stylesheet and its links are ordinary links).
 * `execution` undefined draws the definition alone.
 */
export function stateGraphSvg(definition: StateMachineDefinition, execution?: RecordedExecution): SafeHtml {
  const { states, width, height } = layout(definition);
  const placed = new Map(states.map((state) => [state.name, state]));
  const rows = new Map<number, PlacedState[]>();
  for (const state of states) rows.set(state.layer, [...(rows.get(state.layer) ?? []), state]);
  const run = execution ? runOf(execution) : undefined;
  const succeeded = execution?.status === 'SUCCEEDED';
  const edges = transitionsOf(definition).flatMap((transition) => {
    const from = placed.get(transition.from);
    const to = placed.get(transition.to);
    if (!from || !to) return [];
    const taken = run?.taken.has(`${transition.from}\u0000${transition.to}`) === true;
    return [
      html`<path
        class="edge edge-${transition.kind}${taken ? ' taken' : ''}"
        d="${edgePath(from, to, rows)}"
        marker-end="url(#arrow${taken ? '-taken' : ''})"
      />`,
    ];
  });
  const boxes = states.map((state) => {
    const stateRun = run?.states.get(state.name);
    const tone = !stateRun ? 'not-visited' : stateRun.failed ? (succeeded ? 'caught' : 'failed') : 'visited';
    const badges = [
      ...(stateRun && stateRun.visits > 1 ? [`×${stateRun.visits}`] : []),
      ...(stateRun && stateRun.retries > 0 ? [`↻${stateRun.retries}`] : []),
    ].join(' ');
    const box = html`<rect x="${state.x}" y="${state.y}" width="${BOX.width}" height="${BOX.height}" rx="6" />
      <text x="${state.x + BOX.width / 2}" y="${state.y + 15}" class="name">${state.name}</text>
      <text x="${state.x + BOX.width / 2}" y="${state.y + 28}" class="type"
        >${state.type}${badges ? ` ${badges}` : ''}</text
      >
      <title>
        ${state.name}
        (${state.type})${stateRun ? `: entered ${stateRun.visits}×, ${stateRun.retries} retries${stateRun.failed ? ', failed' : ''}` : ': not entered'}
      </title>`;
    return html`<g class="state ${tone}" data-state="${state.name}" data-retries="${stateRun?.retries ?? 0}">
      ${stateRun ? html`<a href="#${stateAnchor(state.name)}">${box}</a>` : box}
    </g>`;
  });
  return html`<svg
    class="state-graph"
    xmlns="http://www.w3.org/2000/svg"
    viewBox="0 0 ${width} ${height}"
    width="${width}"
    height="${height}"
    role="img"
    aria-label="The workflow's state graph"
  >
    <defs>${arrowMarker('arrow', 'arrow')} ${arrowMarker('arrow-taken', 'arrow taken')}</defs>
    ${edges} ${boxes}
  </svg>`;
}
