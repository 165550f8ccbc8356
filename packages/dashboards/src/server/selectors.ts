/**
 * Per-node panels key on the scrape target: node_id changes at every restart, instance does not.
 */
export const NODE = 'job=~"$job", instance=~"$instance"';
