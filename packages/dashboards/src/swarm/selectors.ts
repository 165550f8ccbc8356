/** Every swarm query is scoped by the scenario and run_id variables. */
export const RUN = 'scenario=~"$scenario", run_id=~"$run_id"';
