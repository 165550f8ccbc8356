/**
 * LiveKit and Redis as the cluster testbed runs them: one Deployment per LiveKit node with its
 * config in a ConfigMap, on the host's network (LiveKit's Kubernetes guidance: media needs the
 * node's own ports, not a pod network behind NAT), Recreate so a replacement never races its
 * predecessor for those ports, and Redis the same way when several nodes share rooms.
 */
import { TESTBED_NAMESPACE } from "./config.js";

/** Set in each LiveKit container, so the testbed finds the node's process on the host (/proc/PID/environ). */
export const NODE_MARKER_ENV = "LKSWARM_TESTBED_NODE";

export interface PodNode {
  readonly name: string;
  readonly httpPort: number;
  readonly config: string;
  /** `<run dir>#<node name>`: unique on this host. */
  readonly marker: string;
}

const labels = (app: string, node?: string) => ({
  "app.kubernetes.io/name": app,
  "app.kubernetes.io/part-of": "livekit-swarm-testbed",
  ...(node !== undefined ? { "livekit-swarm/node": node } : {}),
});

export function namespaceObject(): unknown {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name: TESTBED_NAMESPACE } };
}

export function livekitObjects(
  node: PodNode,
  image: string,
  hostIp: string,
): { configMap: unknown; deployment: unknown } {
  const name = `livekit-${node.name}`;
  const configMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: TESTBED_NAMESPACE, labels: labels("livekit", node.name) },
    data: { "config.yaml": node.config },
  };
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: TESTBED_NAMESPACE, labels: labels("livekit", node.name) },
    spec: {
      replicas: 1,
      strategy: { type: "Recreate" },
      selector: { matchLabels: labels("livekit", node.name) },
      template: {
        metadata: { labels: labels("livekit", node.name) },
        spec: {
          hostNetwork: true,
          dnsPolicy: "Default",
          // LiveKit drains on SIGTERM until its participants leave; a testbed's pod goes at once
          terminationGracePeriodSeconds: 5,
          securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534 },
          containers: [
            {
              name: "livekit",
              image,
              imagePullPolicy: "Never",
              args: ["--config", "/etc/livekit/config.yaml"],
              env: [{ name: NODE_MARKER_ENV, value: node.marker }],
              readinessProbe: {
                httpGet: { host: hostIp, port: node.httpPort, path: "/" },
                periodSeconds: 1,
                failureThreshold: 2,
              },
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
              volumeMounts: [{ name: "config", mountPath: "/etc/livekit", readOnly: true }],
            },
          ],
          volumes: [{ name: "config", configMap: { name } }],
        },
      },
    },
  };
  return { configMap, deployment };
}

export function redisDeployment(image: string, hostIp: string, port: number): unknown {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "redis", namespace: TESTBED_NAMESPACE, labels: labels("redis") },
    spec: {
      replicas: 1,
      strategy: { type: "Recreate" },
      selector: { matchLabels: labels("redis") },
      template: {
        metadata: { labels: labels("redis") },
        spec: {
          hostNetwork: true,
          dnsPolicy: "Default",
          terminationGracePeriodSeconds: 2,
          securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534 },
          containers: [
            {
              name: "redis",
              image,
              imagePullPolicy: "Never",
              // no persistence: a lost Redis comes back empty, as the local testbed's does. Protected
              // mode refuses every client not on loopback when there is no password; the bridge's
              // address is kept to this machine by the testbed's nftables table (docs/cluster.md).
              // Loopback too: `swarm chaos` asks redis-cli in this pod which node hosts a room
              // (kubectl exec; the drill's target.redis-port)
              args: [
                "--bind",
                hostIp,
                "127.0.0.1",
                "--port",
                String(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                "/tmp",
                "--protected-mode",
                "no",
              ],
              readinessProbe: { tcpSocket: { host: hostIp, port }, periodSeconds: 1 },
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
            },
          ],
        },
      },
    },
  };
}
