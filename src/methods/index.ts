/**
 * The method table: every generation method the library runs, by name. Adding a method is adding its
 * file beside this one and a row here (and its name in src/options/generate-options.ts's METHODS).
 */
import { METHODS, type Method } from '../options/generate-options.js';
import type { MethodGroup } from '../options/option-spec.js';
import { accdiffusion } from './accdiffusion.js';
import { attnSf } from './attn-sf.js';
import { demofusion } from './demofusion.js';
import { direct } from './direct.js';
import type { GenerationMethod } from './method.js';
import { multidiffusion } from './multidiffusion.js';
import { scalecrafter } from './scalecrafter.js';

export type { GenerationMethod, FirstPassRun, FirstPassResult, StageRun, WorkQuery } from './method.js';

/** Every method, keyed by its option value. */
export const METHOD_TABLE: Readonly<Record<Method, GenerationMethod>> = {
  accdiffusion,
  demofusion,
  multidiffusion,
  direct,
  'attn-sf': attnSf,
  scalecrafter,
};

/** The methods of a MethodGroup (an option row's `usedBy`): those with the trait, or the one named. */
export function methodsUsing(group: MethodGroup): Method[] {
  if (group === 'windowed' || group === 'progressive') return METHODS.filter((m) => METHOD_TABLE[m][group]);
  return [group];
}
