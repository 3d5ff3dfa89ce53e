/**
 * --window-prompts FILE.json (issue 15): per-stage window prompts for AccDiffusion's patch windows, the same
 * object the web page stores with a steered result and a report's `options.windowPrompts` holds:
 * `{"2": ["prompt of window 0", ...], "3": [...]}` (window order as in the report's `stages[].windows`).
 */
import { readFileSync, statSync } from 'node:fs';
import { checkWindowPromptsShape, type WindowPrompts } from '../patch/window-prompts.js';
import { fail } from './arg-values.js';

/** Largest accepted file (a 16K target at SDXL has a few thousand windows of short prompts). */
const MAX_BYTES = 8 * 1024 * 1024;

/** Reads and checks the file; throws OptionsError naming the flag. Window counts are checked by the run. */
export function readWindowPromptsFile(flag: string, file: string): WindowPrompts {
  if (statSync(file).size > MAX_BYTES) fail(`${flag}: ${file} is larger than ${MAX_BYTES / 1024 / 1024} MiB`);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    fail(`${flag}: ${file} is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  // A whole report is accepted too: its options.windowPrompts (prompts a user supplied or edited), else the
  // window prompts every stage recorded (those the run chose from its masks).
  if (value !== null && typeof value === 'object' && 'options' in value) {
    const report = value as { options?: { windowPrompts?: unknown }; stages?: Array<{ stage?: unknown; windowPrompts?: unknown }> };
    const chosen = Array.isArray(report.stages) ? report.stages.filter((st) => st && Array.isArray(st.windowPrompts)) : [];
    const inner = report.options?.windowPrompts ?? (chosen.length ? Object.fromEntries(chosen.map((st) => [String(st.stage), st.windowPrompts])) : undefined);
    if (inner === undefined) fail(`${flag}: ${file} is a report without window prompts (not an AccDiffusion run with patch prompts)`);
    value = inner;
  }
  return checkWindowPromptsShape(value, flag);
}
