/** A run id as `--run-id` takes it and runs write it: 1 to 64 letters, digits, dots, underscores or dashes. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
