/**
 * Scheduler construction from a scheduler_config.json, like diffusers' `X.from_config(config, **overrides)`:
 * the class comes from `_class_name` unless a SchedulerName picks one (the tiny-sd Euler oracle run is
 * `EulerDiscreteScheduler.from_config(ddim.config)`); keys the chosen class does not know are ignored.
 */
import { ConfigError } from '../errors.js';
import { DDIMScheduler } from './ddim.js';
import { DPMSolverMultistepScheduler } from './dpm-solver-multistep.js';
import { EulerAncestralDiscreteScheduler } from './euler-ancestral.js';
import { EulerDiscreteScheduler } from './euler-discrete.js';
import { SCHEDULER_CHOICES, type SchedulerChoice, type SchedulerName } from './names.js';
import type { SchedulerConfig } from './schedule.js';
import type { Scheduler, SchedulerExtras } from './scheduler.js';
import { UniPCMultistepScheduler } from './unipc-multistep.js';

export { DDIMScheduler } from './ddim.js';
export { DPMSolverMultistepScheduler } from './dpm-solver-multistep.js';
export { EulerAncestralDiscreteScheduler } from './euler-ancestral.js';
export { EulerDiscreteScheduler } from './euler-discrete.js';
export { UniPCMultistepScheduler } from './unipc-multistep.js';
export { SCHEDULER_CHOICES, SCHEDULER_NAMES, findSchedulerName, parseSchedulerName, schedulerHelp, type SchedulerName } from './names.js';
export { parseSchedulerConfig, type SchedulerConfig } from './schedule.js';
export type { Scheduler, SchedulerClassKind, SchedulerExtras, StepOptions, StepResult } from './scheduler.js';

type ClassName = SchedulerChoice['className'];
const CLASSES: Record<ClassName, (c: SchedulerConfig, extras: SchedulerExtras) => Scheduler> = {
  DDIMScheduler: (c) => new DDIMScheduler(c),
  EulerDiscreteScheduler: (c) => new EulerDiscreteScheduler(c),
  EulerAncestralDiscreteScheduler: (c, e) => new EulerAncestralDiscreteScheduler(c, e),
  DPMSolverMultistepScheduler: (c) => new DPMSolverMultistepScheduler(c),
  UniPCMultistepScheduler: (c) => new UniPCMultistepScheduler(c),
};

/** What createScheduler's `override` takes: a SchedulerName (formerly only 'ddim' | 'euler'). */
export type SchedulerKind = SchedulerName;

/**
 * A scheduler for `config`; `override` picks the class (and its from_config overrides) regardless of
 * `_class_name`. Throws ConfigError (naming `file`) for an unsupported class or config value.
 */
export function createScheduler(config: SchedulerConfig, override?: SchedulerKind, file = 'scheduler_config.json', extras: SchedulerExtras = {}): Scheduler {
  const choice = override ? SCHEDULER_CHOICES[override] : undefined;
  const className = choice?.className ?? config.className;
  const make = className !== undefined && Object.hasOwn(CLASSES, className) ? CLASSES[className as ClassName] : undefined;
  if (!make) {
    throw new ConfigError(`${file}: _class_name ${JSON.stringify(config.className)} is not a supported scheduler (${Object.keys(CLASSES).join(', ')}); choose one with --scheduler`);
  }
  try {
    return make({ ...config, ...(choice?.overrides ?? {}) }, extras);
  } catch (e) {
    if (e instanceof RangeError) throw new ConfigError(`${file}: ${e.message}`, { cause: e });
    throw e;
  }
}
