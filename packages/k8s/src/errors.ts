export type K8sErrorReason = "bad-name" | "bad-input" | "api";

/** A manifest that cannot be rendered, or a Job that cannot be watched, worded with the fix. */
export class K8sError extends Error {
  constructor(
    readonly reason: K8sErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "K8sError";
  }

  toJSON(): { name: string; reason: K8sErrorReason; message: string } {
    return { name: this.name, reason: this.reason, message: this.message };
  }
}
