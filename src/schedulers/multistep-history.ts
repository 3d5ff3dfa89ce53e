/**
 * The data predictions a multistep solver remembers between steps (diffusers' `model_outputs` list and
 * `lower_order_nums` counter), tied to step indices so that a stage restarts its history at step 0 and a
 * skipped or repeated step is an error instead of a silently wrong update.
 */
export class MultistepHistory {
  private last = -1;
  private outputs: Float32Array[] = [];

  constructor(private readonly owner: string, private readonly keep = 2) {}

  /** Forgets every step (set_timesteps). */
  reset(): void {
    this.last = -1;
    this.outputs = [];
  }

  /**
   * Starts step i: step 0 clears the history; a run may also start at a later step with an empty history (an
   * img2img run: diffusers' `set_begin_index`); any other step must directly follow the last one recorded.
   * Returns the earlier data predictions, most recent first. Throws RangeError otherwise.
   */
  begin(i: number): readonly Float32Array[] {
    if (i === 0) this.reset();
    else if (this.last !== i - 1 && this.last !== -1) {
      throw new RangeError(`${this.owner}: step ${i} must follow step ${i - 1} (last step taken: ${this.last < 0 ? 'none' : this.last}); multistep solvers run each step once, in order`);
    }
    return this.outputs;
  }

  /** Records the data prediction of step i. */
  end(i: number, x0: Float32Array): void {
    this.outputs = [x0, ...this.outputs].slice(0, this.keep);
    this.last = i;
  }

  /** begin(i) then end(i, x0); returns the previous step's prediction (undefined at step 0). */
  push(i: number, x0: Float32Array): Float32Array | undefined {
    const prev = this.begin(i)[0];
    this.end(i, x0);
    return prev;
  }
}
