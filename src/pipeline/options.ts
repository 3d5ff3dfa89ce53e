/**
 * The generation options moved to src/options/ (issue 10: declared once); this file keeps the old import
 * path working for the pipeline, tests and benches.
 */
export { METHODS, REFERENCE_NEGATIVE_PROMPT, SCHEDULERS, type GenerateOptions, type Method, type ResolvedOptions, type SchedulerName } from '../options/generate-options.js';
export { resolveOptions } from '../options/resolve-options.js';
