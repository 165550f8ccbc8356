export { Testbed, down, listTestbeds, waitFor, balancerServerStates, startNodeProcess } from "./testbed.js";
export type { WaitOptions } from "./testbed.js";
export type { TestbedOptions, TestbedStatus, NodeView, DownReport } from "./testbed.js";
export { TestbedError } from "./errors.js";
export { findBinary, LIVEKIT_SERVER_VERSION, TOOLS_BIN } from "./binaries.js";
export { redisCommand } from "./redis.js";
export { checkTestbedName, defaultRunRoot, runDirFor } from "./state.js";
export type { RunState, NodeRecord } from "./state.js";
export { isOurProcess, processesMentioning, signal, processRunState } from "./processes.js";
export type { ConfigTree } from "./configs.js";
export { tokenTag } from "./configs.js";
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
export {
  clearFaults,
  describeLedgerEntry,
  ledgerFile,
  readFaultLedger,
  recordFaults,
  rollBackFaultLedger,
} from "./ledger.js";
export type { LedgerEntry } from "./ledger.js";
