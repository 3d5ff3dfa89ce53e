/** Moved to src/loading/components.ts (issue 10, one loader); kept for the importers in pipeline/ until they move. */
export { Components, type ComponentOptions } from '../loading/components.js';
