export {
  STAMP_BITS,
  STAMP_ROWS,
  readStamp,
  unwrapCaptureTime,
  writeStamp,
  type Stamp,
} from "@livekit-swarm/lean";
