/**
 * Scheduler construction from a scheduler_config.json, like diffusers' `X.from_config(config)`:
 * the class comes from `_class_name` unless overridden (the tiny-sd Euler oracle run is
 * `EulerDiscreteScheduler.from_config(ddim.config)`); keys the chosen class does not know are ignored.
 */
import { ConfigError } from '../errors.js';
import { DDIMScheduler } from './ddim.js';
import { EulerDiscreteScheduler } from './euler-discrete.js';
import type { SchedulerConfig } from './schedule.js';

export type SchedulerKind = 'ddim' | 'euler';

export { DDIMScheduler } from './ddim.js';
export { EulerDiscreteScheduler } from './euler-discrete.js';
export { parseSchedulerConfig, readSchedulerConfig, type SchedulerConfig } from './schedule.js';
export type { Scheduler, StepOptions, StepResult } from './scheduler.js';

const byClassName: Record<string, SchedulerKind> = {
  DDIMScheduler: 'ddim',
  EulerDiscreteScheduler: 'euler',
};

/** A scheduler for `config`; `override` picks the class regardless of `_class_name`. */
export function createScheduler(config: SchedulerConfig, override?: SchedulerKind, file = 'scheduler_config.json'): DDIMScheduler | EulerDiscreteScheduler {
  const kind = override ?? (config.className !== undefined ? byClassName[config.className] : undefined);
  if (!kind) {
    throw new ConfigError(`${file}: _class_name ${JSON.stringify(config.className)} is not a supported scheduler (DDIMScheduler, EulerDiscreteScheduler); choose one explicitly`);
  }
  try {
    return kind === 'ddim' ? new DDIMScheduler(config) : new EulerDiscreteScheduler(config);
  } catch (e) {
    if (e instanceof RangeError) throw new ConfigError(`${file}: ${e.message}`, { cause: e });
    throw e;
  }
}

