/**
 * Kubernetes' name rules, checked before a value lands in a manifest, so a bad name fails here
 * with the flag to change instead of at `kubectl apply`.
 */
import { quoted } from "@livekit-swarm/schema";
import { K8sError } from "./errors.js";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** An RFC 1123 label (namespaces, Services, Jobs' pod hostnames): at most `max` characters. */
export function requireDnsLabel(what: string, value: string, max = 63): string {
  if (value.length > max || !DNS_LABEL.test(value))
    throw new K8sError(
      "bad-name",
      `${what} ${quoted(value)} is not a Kubernetes name: use at most ${max} lowercase letters, digits and '-', starting and ending with a letter or digit (RFC 1123)`,
    );
  return value;
}

/** An RFC 1123 subdomain (Secrets, ConfigMaps, storage classes): at most 253 characters. */
export function requireDnsSubdomain(what: string, value: string): string {
  if (value.length > 253 || !DNS_SUBDOMAIN.test(value))
    throw new K8sError(
      "bad-name",
      `${what} ${quoted(value)} is not a Kubernetes name: use at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (RFC 1123)`,
    );
  return value;
}

/** A label value: at most 63 letters, digits, '-', '_' and '.', alphanumeric at both ends. */
export function requireLabelValue(what: string, value: string): string {
  if (value.length > 63 || !LABEL_VALUE.test(value))
    throw new K8sError(
      "bad-name",
      `${what} ${quoted(value)} cannot be a Kubernetes label value: use at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit`,
    );
  return value;
}
