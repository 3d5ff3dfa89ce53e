/**
 * Stage checkpoints for `--state-dir` / `--resume`: after every finished stage the run's state (latents of
 * each stage, the first pass's statistics, the patch prompts and windows, and the random streams' exact
 * positions) is written to a folder, so an interrupted run continues from its last finished stage and
 * ends with the same image as an uninterrupted one. Files are written through a temporary name and a
 * rename; state.json is written last, so a crash never leaves a state that points at missing latents.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OptionsError } from '../errors.js';
import { tensor, type Tensor } from '../tensor/tensor.js';
import { loadSafetensors, writeSafetensors } from '../weights/safetensors.js';
import type { GenerationReport, TokenMask } from './result.js';
import type { StageWindows } from '../patch/window-prompts.js';

export interface CheckpointState {
  readonly version: 1;
  /** Identifies the run (model + resolved options); a resume with other options is refused. */
  readonly key: string;
  /** Last finished stage (1 = the first pass). */
  readonly stage: number;
  readonly anchorMean: number;
  readonly anchorStd: number;
  readonly streams: unknown;
  readonly stageWindows: ReadonlyArray<[number, StageWindows]>;
  readonly masks: ReadonlyArray<Omit<TokenMask, 'mask'> & { readonly mask: number[] }>;
  readonly reports: GenerationReport['stages'];
}

export class CheckpointDir {
  constructor(readonly dir: string, readonly key: string) {}

  private file(name: string): string {
    return join(this.dir, name);
  }

  /** The saved state, or undefined when the folder holds none. Throws OptionsError for another run's state. */
  load(): { state: CheckpointState; latents: (stage: number) => Tensor } | undefined {
    const stateFile = this.file('state.json');
    if (!existsSync(stateFile)) return undefined;
    let state: CheckpointState;
    try {
      state = JSON.parse(readFileSync(stateFile, 'utf8')) as CheckpointState;
    } catch {
      throw new OptionsError(`${stateFile}: not a valid state file (delete the folder to start over)`);
    }
    if (state.version !== 1 || typeof state.stage !== 'number') throw new OptionsError(`${stateFile}: unsupported state file (delete the folder to start over)`);
    if (state.key !== this.key) throw new OptionsError(`${this.dir}: holds the state of a run with other options or another model; use the same options or another --state-dir`);
    const latents = (stage: number): Tensor => {
      const t = loadSafetensors(this.file(`stage-${stage}.safetensors`)).get('latents');
      if (!t || !(t.data instanceof Float32Array)) throw new OptionsError(`${this.dir}: stage-${stage}.safetensors has no float32 tensor "latents"`);
      return tensor(t.shape, t.data);
    };
    return { state, latents };
  }

  /** Saves the latents of a finished stage and then the state that refers to it. */
  save(state: CheckpointState, stageLatents: Tensor): void {
    mkdirSync(this.dir, { recursive: true });
    writeSafetensors(this.file(`stage-${state.stage}.safetensors`), { latents: { shape: stageLatents.shape, data: stageLatents.data } });
    const tmp = this.file(`state.json.${process.pid}.tmp`);
    writeFileSync(tmp, JSON.stringify(state));
    renameSync(tmp, this.file('state.json'));
  }
}
