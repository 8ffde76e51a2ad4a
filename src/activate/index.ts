/**
 * What other capabilities (and the composition root) may use of activate: its side of govern's
 * delivery port, which turns consent's audience changes and privacy's deletions into delivery
 * jobs. Govern never imports this; the runtime hands the port in, so the jobs' table stays
 * activate's to change.
 */
export { createGovernDeliveries } from './engine/govern-deliveries.js'
