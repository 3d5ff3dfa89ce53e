/**
 * The generation options, declared once (option-table.ts): the types callers fill in, and the one
 * validation that fills defaults (resolveOptions). The CLI's flags and the page's fields read the same table.
 */
export { METHODS, REFERENCE_NEGATIVE_PROMPT, SCHEDULERS, type GenerateOptions, type Method, type ResolvedOptions, type SchedulerName } from './generate-options.js';
export { checkUpscalePrompt, resolveOptions } from './resolve-options.js';
