export { Testbed } from "./testbed.js";
export { CONTAINERD_SOCKET, HOST_IP as CLUSTER_HOST_IP, TESTBED_NAMESPACE } from "./cluster/config.js";
export type { TestbedOptions } from "./testbed.js";
export type { TurnOption } from "./configs.js";
export { down } from "./down.js";
export type { DownReport } from "./down.js";
export { listTestbeds, type TestbedProblem } from "./status.js";
export type { TestbedStatus } from "./status.js";
export { startNodeProcess } from "./nodes.js";
export type { NodeView } from "./nodes.js";
export { balancerServerStates } from "./balancer.js";
export { waitFor } from "./wait.js";
export { pickFreePort } from "./ports.js";
export type { WaitOptions } from "./wait.js";
export { TestbedError } from "./errors.js";
export { findBinary, LIVEKIT_SERVER_VERSION, TOOLS_BIN } from "./binaries.js";
export { ensureLivekitServer, LIVEKIT_SERVER_MODULE } from "./install.js";
export type { InstallOptions } from "./install.js";
export { redisCommand } from "./redis.js";
export { checkTestbedName, defaultRunRoot, runDirFor } from "./state.js";
export type { RunState, NodeRecord } from "./state.js";
export { isOurProcess, processesMentioning, processStartTime, signal, processRunState } from "./processes.js";
export type { ConfigTree } from "./configs.js";
export { tokenTag, TURN_DOMAIN } from "./configs.js";
export { spkiPin } from "./turn-tls.js";
export { parseSignalLog, readSignalLog } from "./signal-log.js";
export type { SignalConnection } from "./signal-log.js";
export {
  FAULT_TABLE_PREFIX,
  NftFault,
  PacketLoss,
  Partition,
  Qdisc,
  faultTableName,
  faultTables,
  faultQdiscs,
} from "./faults.js";
export type { RtpKinds, RtpTally } from "./faults.js";
export {
  DELAY_BINARY,
  DELAY_RULE_PREFIX,
  UserDelay,
  delayNode,
  delayProcesses,
  delayRules,
  delayTag,
  removeDelayRules,
} from "./user-delay.js";
export type { DelaySummary, NodeDelay, UserDelayOptions } from "./user-delay.js";
export {
  answeredChecks,
  jitterAt,
  jitterSeries,
  parseReleased,
  STUN_BINDING_SUCCESS,
} from "./delay-truth.js";
export type { JitterSeries, ReleasedPacket, ReleasedStun } from "./delay-truth.js";
export {
  clearFaults,
  describeLedgerEntry,
  ledgerFile,
  readFaultLedger,
  recordFaults,
  rollBackFaultLedger,
} from "./ledger.js";
export type { LedgerEntry } from "./ledger.js";
export {
  checkCpuCap,
  coresOfQuota,
  cpuCapOf,
  cpuGroups,
  parseCpuStat,
  throttlingOf,
  CPU_GROUP_PREFIX,
  type CpuCap,
  type Throttling,
} from "./cpu-limit.js";
export {
  CLIENT_NAMESPACE_PREFIX,
  createClientNetworks,
  networkProfiles,
  profileListing,
  profileRules,
  reachableNodeConfig,
  removeClientNetworks,
} from "./client-network.js";
export type { ClientNetwork, NetworkProfile } from "./client-network.js";
export { namespaceExists } from "./netns.js";
export { startClientTestbed, type ClientTestbed } from "./client-testbed.js";
