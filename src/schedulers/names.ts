/**
 * The scheduler names users type: ours (`dpmpp-2m-karras`), A1111's and ComfyUI's ("DPM++ 2M Karras",
 * `dpmpp_2m` + scheduler "karras"), and diffusers' class names. Each resolves to one SchedulerName, which
 * createScheduler turns into a diffusers class with the config overrides diffusers users pass to
 * `from_config` for that sampler.
 */
import { OptionsError } from '../errors.js';
import type { SchedulerConfig } from './schedule.js';

/** The schedulers `--scheduler` offers, in the order `--scheduler help` lists them. */
export const SCHEDULER_NAMES = ['ddim', 'euler', 'euler-a', 'dpmpp-2m', 'dpmpp-2m-karras', 'unipc'] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

export interface SchedulerChoice {
  /** The diffusers class built. */
  readonly className: 'DDIMScheduler' | 'EulerDiscreteScheduler' | 'EulerAncestralDiscreteScheduler' | 'DPMSolverMultistepScheduler' | 'UniPCMultistepScheduler';
  /** Keys set over the model's scheduler_config.json (diffusers' `from_config(config, **overrides)`). */
  readonly overrides: Partial<SchedulerConfig>;
  /** A1111's name (written as "Sampler" in the PNG parameters). */
  readonly a1111: string;
  /** One line for `--scheduler help`. */
  readonly summary: string;
}

export const SCHEDULER_CHOICES: Readonly<Record<SchedulerName, SchedulerChoice>> = {
  ddim: { className: 'DDIMScheduler', overrides: {}, a1111: 'DDIM', summary: 'DDIM (η = 0), deterministic; ~50 steps' },
  euler: { className: 'EulerDiscreteScheduler', overrides: {}, a1111: 'Euler', summary: 'Euler (Karras et al. 2022), deterministic; ~30-50 steps' },
  'euler-a': { className: 'EulerAncestralDiscreteScheduler', overrides: {}, a1111: 'Euler a', summary: 'Euler ancestral: fresh noise every step (from --seed); ~20-40 steps, no convergence with more steps' },
  'dpmpp-2m': { className: 'DPMSolverMultistepScheduler', overrides: { algorithmType: 'dpmsolver++', solverOrder: 2, useKarrasSigmas: false }, a1111: 'DPM++ 2M', summary: 'DPM-Solver++ 2M, second-order multistep, deterministic; ~20-25 steps' },
  'dpmpp-2m-karras': { className: 'DPMSolverMultistepScheduler', overrides: { algorithmType: 'dpmsolver++', solverOrder: 2, useKarrasSigmas: true }, a1111: 'DPM++ 2M Karras', summary: 'DPM-Solver++ 2M with Karras sigmas (the most used sampler); ~20-25 steps' },
  unipc: { className: 'UniPCMultistepScheduler', overrides: { solverType: 'bh2', solverOrder: 2 }, a1111: 'UniPC', summary: 'UniPC (bh2, order 2) predictor-corrector, deterministic; ~15-25 steps' },
};

/** Aliases, compared after lower-casing and dropping spaces, "+", "_" and "-". */
const ALIASES: Record<string, SchedulerName> = {
  ddim: 'ddim', ddimscheduler: 'ddim',
  euler: 'euler', eulerdiscrete: 'euler', eulerdiscretescheduler: 'euler',
  eulera: 'euler-a', eulerancestral: 'euler-a', eulerancestraldiscrete: 'euler-a', eulerancestraldiscretescheduler: 'euler-a',
  dpmpp2m: 'dpmpp-2m', dpm2m: 'dpmpp-2m', dpmsolvermultistep: 'dpmpp-2m', dpmsolvermultistepscheduler: 'dpmpp-2m',
  dpmpp2mkarras: 'dpmpp-2m-karras', dpm2mkarras: 'dpmpp-2m-karras',
  unipc: 'unipc', unipcbh2: 'unipc', unipcmultistep: 'unipc', unipcmultistepscheduler: 'unipc',
  // InvokeAI / k-diffusion spellings
  keuler: 'euler', keulera: 'euler-a', kdpmpp2m: 'dpmpp-2m', dpmpp2mk: 'dpmpp-2m-karras', kdpmpp2mkarras: 'dpmpp-2m-karras',
};

const squash = (s: string) => s.toLowerCase().replace(/[\s+_\-]/g, '');

/** The scheduler a typed name means, or undefined. */
export function findSchedulerName(typed: string): SchedulerName | undefined {
  return ALIASES[squash(typed)];
}

/** Like findSchedulerName; throws OptionsError naming the choices for an unknown name. */
export function parseSchedulerName(typed: string): SchedulerName {
  const name = findSchedulerName(typed);
  if (!name) throw new OptionsError(`unknown scheduler "${typed}" (choose ${SCHEDULER_NAMES.join(', ')}; "--scheduler help" lists them)`);
  return name;
}

/** The text of `--scheduler help`: one line per scheduler with its A1111 name and diffusers class. */
export function schedulerHelp(): string {
  const rows = SCHEDULER_NAMES.map((n) => {
    const c = SCHEDULER_CHOICES[n];
    return `  ${n.padEnd(16)} ${c.summary}\n  ${''.padEnd(16)} (A1111 "${c.a1111}", diffusers ${c.className})`;
  });
  return [
    'Schedulers (--scheduler NAME; default: the model\'s scheduler_config.json). Each is built from the model\'s',
    'scheduler config like diffusers\' from_config. A1111/ComfyUI names and diffusers class names also work.',
    ...rows,
    '',
  ].join('\n');
}
