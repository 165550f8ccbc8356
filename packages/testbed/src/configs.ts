import { createHash } from "node:crypto";
import { stringify } from "yaml";
import { TestbedError } from "./errors.js";

export interface NodeAddressing {
  /** Address the node binds and advertises (127.0.0.1, or its network namespace's address). */
  readonly ip: string;
  /** Network interface ICE may use: `lo`, or the namespace's veth. */
  readonly iface: string;
  readonly httpPort: number;
  readonly rtcTcpPort: number;
  readonly rtcUdpPort: number;
  readonly prometheusPort: number;
  /** UDP port of LiveKit's built-in TURN on this node; absent: no TURN. */
  readonly turnUdpPort?: number;
  /** Its TLS listener (with TURN on, one node only); absent: no `turns:`. */
  readonly turnTls?: TurnTlsListener;
}

/** LiveKit's TURN over TLS on a node: the port it listens on and the certificate it presents. */
export interface TurnTlsListener {
  readonly port: number;
  readonly certFile: string;
  readonly keyFile: string;
}

export type ConfigTree = { [key: string]: unknown };

/** LiveKit's built-in TURN over UDP: a port picked free per node, or the ones given (one per node). */
export type TurnOption = true | { readonly udpPorts: readonly number[] };

/**
 * livekit-server config for one node of a testbed. Media stays on the node's own address: on a
 * multi-homed host `node_ip` + `enable_loopback_candidate` alone still let ICE bind every interface;
 * only `rtc.interfaces.includes` together with `rtc.ips.includes` confine it (measured, see
 * docs/livekit-behaviour.md 1.1).
 */
export function livekitNodeConfig(options: {
  addressing: NodeAddressing;
  apiKey: string;
  apiSecret: string;
  redisAddress?: string;
  overrides?: ConfigTree;
}): string {
  const { addressing: a } = options;
  const config: ConfigTree = {
    port: a.httpPort,
    bind_addresses: [a.ip],
    prometheus: { port: a.prometheusPort },
    keys: { [options.apiKey]: options.apiSecret },
    logging: { level: "info", json: true },
    rtc: {
      tcp_port: a.rtcTcpPort,
      udp_port: a.rtcUdpPort,
      use_external_ip: false,
      node_ip: a.ip,
      enable_loopback_candidate: a.ip.startsWith("127."),
      interfaces: { includes: [a.iface] },
      ips: { includes: [`${a.ip}/32`] },
      // without stun_servers the server hands clients public STUN hosts (global.stun.twilio.com and
      // Google's); every participant would look them up and try them. Loopback: nothing leaves the host.
      stun_servers: ["127.0.0.1:3478"],
    },
    // rooms spread deterministically: every node on one host reports the same system load
    node_selector: { kind: "any", sort_by: "rooms" },
    room: { empty_timeout: 300, departure_timeout: 20 },
  };
  if (options.redisAddress !== undefined) config.redis = { address: options.redisAddress };
  const merged = mergeConfig(config, options.overrides ?? {});
  if (a.turnUdpPort !== undefined) {
    checkTurnLogging(merged);
    merged.turn = turnConfig(a.turnUdpPort, mediaIp(merged, a.ip), a.turnTls);
  }
  return stringify(merged);
}

/**
 * LiveKit's built-in TURN over UDP, and over TLS when `tls` is given, as the self-hosting guide
 * deploys it (docs/transport.md says who can use the TLS listener here). The embedded TURN relays to
 * no private or loopback peer unless `allow_restricted_peer_cidrs` covers it, and a testbed node's
 * media address is private: only that one address (/32) is allowed, so the relay cannot be turned
 * on anything else of this host. The domain names the `turns:` URL the join response carries
 * (always on port 443, whatever tls_port says: livekit pkg/service/roommanager.go). Its listeners
 * bind the node's media address only: LiveKit's default is 0.0.0.0 (turn.bind_addresses), which
 * put the relay's UDP and TLS ports on every interface of the host.
 */
export function turnConfig(udpPort: number, nodeMediaIp: string, tls?: TurnTlsListener): ConfigTree {
  return {
    enabled: true,
    domain: TURN_DOMAIN,
    udp_port: udpPort,
    tls_port: tls?.port ?? 0,
    ...(tls !== undefined ? { cert_file: tls.certFile, key_file: tls.keyFile } : {}),
    allow_restricted_peer_cidrs: [`${nodeMediaIp}/32`],
    bind_addresses: [nodeMediaIp],
  };
}

/**
 * The name in the `turns:` URL of the join response; resolved only where a client is told to (a
 * browser participant's host-resolver rule, docs/transport.md). The `turn:` URL carries the node's IP.
 */
export const TURN_DOMAIN = "turn.lkswarm.test";

/**
 * At debug level livekit-server logs each join response, TURN username and credential included:
 * with TURN on, anyone who reads a node log could use the relay. Refused rather than silently lowered.
 */
function checkTurnLogging(config: ConfigTree): void {
  const logging = config.logging;
  const level = isTree(logging) ? logging.level : undefined;
  if (level === "debug" || level === "trace" || (typeof level === "number" && level < 0)) {
    throw new TestbedError(
      "bad-option",
      `logging.level ${String(level)} with TURN on would write TURN credentials to the node logs: use level info or higher, or turn TURN off`,
    );
  }
}

/** The address the node advertises for media: `rtc.node_ip` when a config sets it, else its own. */
function mediaIp(config: ConfigTree, fallback: string): string {
  const rtc = config.rtc;
  const ip = isTree(rtc) ? rtc.node_ip : undefined;
  return typeof ip === "string" ? ip : fallback;
}

/** Deep merge where `overrides` wins; arrays are replaced, not concatenated. */
export function mergeConfig(base: ConfigTree, overrides: ConfigTree): ConfigTree {
  const out: ConfigTree = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const current = out[key];
    if (isTree(current) && isTree(value)) out[key] = mergeConfig(current, value);
    else out[key] = value;
  }
  return out;
}

function isTree(value: unknown): value is ConfigTree {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * HAProxy in front of the nodes' signalling ports. `retries` + `redispatch` send a reconnect that
 * hits a dead node (still UP for 1-2 s after SIGKILL) to a live one, which turns signal-only failures
 * into resumes instead of full reconnects (docs/livekit-behaviour.md 2.3). The log says which node
 * carried which signalling connection by a short hash of its access token and by the room and
 * identity the token names (read by src/signal-log.ts); the token itself, in the query string or the
 * Authorization header, is never written: it would let anyone who reads the log join as that
 * participant.
 */
export function haproxyConfig(options: {
  listenPort: number;
  /** Addresses the frontend binds; default 127.0.0.1 only. */
  listenHosts?: readonly string[];
  statsPort: number;
  backends: readonly { name: string; ip: string; port: number }[];
}): string {
  const servers = options.backends.map((b) => `    server ${b.name} ${b.ip}:${b.port} check`).join("\n");
  return `global
    log stdout len 16384 format raw local0 info
defaults
    mode http
    log global
    option logasap
    log-format "%Ts.%ms %ci:%cp %b/%s %ST %Tw/%Tc/%Tr token=%[capture.req.hdr(0)] room=%{+Q,+E}[capture.req.hdr(1)] identity=%{+Q,+E}[capture.req.hdr(2)] %HM %HPO"
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    option http-server-close
    retries 2
    option redispatch 1
frontend livekit
${(options.listenHosts ?? ["127.0.0.1"]).map((host) => `    bind ${host}:${options.listenPort}`).join("\n")}
    http-request set-var(txn.token) url_param(access_token)
    http-request set-var(txn.token) req.hdr(Authorization),regsub("^Bearer ","") if !{ var(txn.token) -m found }
    http-request capture var(txn.token),sha2(256),bytes(0,8),hex len 16
    http-request capture var(txn.token),jwt_payload_query('$.video.room') len 256
    http-request capture var(txn.token),jwt_payload_query('$.sub') len 256
    default_backend livekit_nodes
frontend stats
    bind 127.0.0.1:${options.statsPort}
    stats enable
    stats uri /
backend livekit_nodes
    balance roundrobin
    option httpchk GET /
    http-check expect status 200
    default-server inter 1s fall 2 rise 2
${servers}
`;
}

export function prometheusConfig(options: {
  nodes: readonly { name: string; ip: string; port: number }[];
  extraTargets: readonly string[];
  ruleFiles: readonly string[];
}): string {
  const config: ConfigTree = {
    global: { scrape_interval: "2s", evaluation_interval: "2s" },
    rule_files: [...options.ruleFiles],
    scrape_configs: [
      {
        job_name: "livekit",
        static_configs: options.nodes.map((n) => ({
          targets: [`${n.ip}:${n.port}`],
          labels: { node: n.name },
        })),
      },
      ...(options.extraTargets.length > 0
        ? [{ job_name: "swarm", static_configs: [{ targets: [...options.extraTargets] }] }]
        : []),
    ],
  };
  return stringify(config);
}

/** How the balancer's log names a signalling connection: the first 8 bytes of SHA-256(token), in hex. */
export function tokenTag(token: string): string {
  return createHash("sha256").update(token).digest("hex").slice(0, 16).toUpperCase();
}
