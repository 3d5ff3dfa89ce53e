/**
 * Renders the pipeline's ProgressEvents (src/events.ts) for the terminal: per-stage
 * cli-progress bars with ETA for steps, plus window-batch and VAE-tile bars, on stderr; `--json`
 * writes one JSON object per event line (for scripts, on stdout); `--quiet` writes nothing.
 * Stage start/end and warnings are plain lines, so logs of non-terminal runs still show them.
 */
import { MultiBar, type SingleBar } from 'cli-progress';
import type { ProgressCallback, ProgressEvent } from '../events.js';

/** 'lines': stage lines and warnings without bars (what 'bars' becomes off a terminal). */
export type ProgressMode = 'bars' | 'lines' | 'quiet' | 'json';

export interface ProgressRenderer {
  readonly onProgress: ProgressCallback;
  /** A line of information for the user (dropped in quiet and json modes). */
  info(line: string): void;
  /** Stops any running bars (call before printing the outcome or an error). */
  finish(): void;
}

/** The JSON line of one event. */
export function progressEventJson(event: ProgressEvent): string {
  return JSON.stringify(event);
}

function seconds(s: number): string {
  return s >= 60 ? `${Math.floor(s / 60)} min ${(s % 60).toFixed(0)} s` : `${s.toFixed(1)} s`;
}

/** A renderer writing to `stream` (stderr for bars, stdout for json). */
export function createProgressRenderer(mode: ProgressMode, stream: NodeJS.WritableStream): ProgressRenderer {
  // Off a terminal cli-progress cannot redraw: it would print stale bars and drop MultiBar.log lines.
  if (mode === 'bars' && !(stream as { isTTY?: boolean }).isTTY) mode = 'lines';
  if (mode === 'quiet') return { onProgress: () => {}, info: () => {}, finish: () => {} };
  if (mode === 'json') {
    return {
      onProgress: (e) => {
        stream.write(progressEventJson(e) + '\n');
      },
      info: () => {},
      finish: () => {},
    };
  }

  const bars = mode === 'bars';
  let multi: MultiBar | undefined;
  let steps: SingleBar | undefined;
  let windows: SingleBar | undefined;
  let tiles: SingleBar | undefined;
  let label = '';

  const stopBars = () => {
    multi?.stop();
    multi = steps = windows = tiles = undefined;
  };
  const line = (text: string) => {
    // While bars are drawn, MultiBar.log keeps them below the text.
    if (multi) multi.log(text + '\n');
    else stream.write(text + '\n');
  };
  const ensureMulti = (): MultiBar => {
    multi ??= new MultiBar({ stream, hideCursor: true, clearOnComplete: false, etaBuffer: 20, fps: 10, autopadding: true, barsize: 30 });
    return multi;
  };

  const onProgress = (e: ProgressEvent): void => {
    switch (e.type) {
      case 'load':
        if (!e.done) line(`loading ${e.component}`);
        break;
      case 'stage-start':
        stopBars();
        label = `stage ${e.stage}/${e.stages}`;
        line(`${label}: ${e.width}x${e.height}, ${e.steps} ${e.steps === 1 ? 'step' : 'steps'}`);
        if (bars) steps = ensureMulti().create(e.steps, 0, {}, { format: `${label} |{bar}| {value}/{total} steps | {percentage}% | ETA {eta_formatted}` });
        break;
      case 'window-batch':
        if (!bars) break;
        windows ??= ensureMulti().create(e.batches, 0, { branch: e.branch }, { format: '  {branch} windows |{bar}| batch {value}/{total}' });
        windows.setTotal(e.batches);
        windows.update(e.batch, { branch: e.branch.padEnd(7) });
        break;
      case 'step':
        if (!bars) break;
        steps ??= ensureMulti().create(e.steps, 0, {}, { format: `stage ${e.stage} |{bar}| {value}/{total} steps | {percentage}% | ETA {eta_formatted}` });
        steps.setTotal(e.steps);
        steps.update(e.step);
        break;
      case 'decode':
        if (!bars) break;
        tiles ??= ensureMulti().create(e.tiles, 0, {}, { format: '  VAE decode |{bar}| tile {value}/{total}' });
        tiles.setTotal(e.tiles);
        tiles.update(e.tile);
        break;
      case 'stage-end':
        stopBars();
        line(`stage ${e.stage} done in ${seconds(e.seconds)}`);
        break;
      case 'warning':
        line(`warning: ${e.message}`);
        break;
    }
  };
  return { onProgress, info: line, finish: stopBars };
}
