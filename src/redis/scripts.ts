/**
 * connect() defines the aggregation's scripts (windows, watermark, parking, the close lock) on every
 * connection it makes; they and their typed wrappers live with the aggregation (src/aggregate/scripts.ts).
 */
export { withScripts } from '../aggregate/script-definitions.js';
