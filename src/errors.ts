/**
 * Error types of the library. Every error a user can cause (bad files, bad options) is an
 * AccDiffusionError subclass with a one-line message naming the file or option and the problem;
 * the CLI prints `error: <message>` and exits with code 2 for these, and treats anything else as a bug.
 */

/** Base class of all errors a user can cause. */
export class AccDiffusionError extends Error {
  override name = 'AccDiffusionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A config.json / model_index.json / scheduler_config.json is missing, malformed or has a bad value. */
export class ConfigError extends AccDiffusionError {
  override name = 'ConfigError';
}

/** A weights file (safetensors or its index) is missing, malformed, or disagrees with the model config. */
export class WeightsError extends AccDiffusionError {
  override name = 'WeightsError';
}

/** Tokenizer files are missing or malformed. */
export class TokenizerError extends AccDiffusionError {
  override name = 'TokenizerError';
}

/** A generation option is invalid (size, steps, method, ...). */
export class OptionsError extends AccDiffusionError {
  override name = 'OptionsError';
}

/** The requested execution provider is not available in the installed onnxruntime. */
export class ProviderError extends AccDiffusionError {
  override name = 'ProviderError';
}

/** NaN or Inf appeared in latents or pixels; the message names the stage and step. */
export class NumericsError extends AccDiffusionError {
  override name = 'NumericsError';
}

/** The work was stopped by an AbortSignal (Ctrl-C in the CLI). */
export class AbortedError extends AccDiffusionError {
  override name = 'AbortedError';
}

/**
 * A value read from a user's file, for an error message: its JSON, cut to `max` characters. Never throws, so a
 * hostile value (nested 100 000 lists deep, where JSON.stringify overflows the stack) still gets its message.
 */
export function describeValue(value: unknown, max = 80): string {
  let s: string;
  try {
    // numbers as Python's json writes them (NaN, Infinity), not JSON.stringify's null
    s = typeof value === 'number' ? String(value) : JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? `__py${v}__` : v))?.replace(/"__py(NaN|-?Infinity)__"/g, '$1') ?? String(value);
  } catch {
    s = Array.isArray(value) ? '[...]' : typeof value === 'object' && value !== null ? '{...}' : String(value);
  }
  return s.length > max ? `${s.slice(0, max)}...` : s;
}

/** A JSON.parse error message on one line (V8 quotes the text around the error, newlines included). */
export function jsonErrorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').slice(0, 160);
}
