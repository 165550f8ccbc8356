export {
  BundleError,
  PREBUILT_E2EE_WORKER,
  PREBUILT_PAGE,
  bundleE2eeWorker,
  bundlePage,
  e2eeWorkerScript,
  pageScript,
} from "./bundle.js";
export {
  ChromiumError,
  DEFAULT_CHROMIUM,
  chromiumFlags,
  chromiumPath,
  launchChromium,
  type Chromium,
  type ChromiumOptions,
} from "./chromium.js";
export {
  BROWSER_PER_PARTICIPANT,
  PageLayout,
  participantsPerBrowser,
  type BrowserLayout,
  type PlaceOptions,
} from "./layout.js";
export { ParticipantPage } from "./participant.js";
export type {
  PageApi,
  PageE2ee,
  PageEvent,
  PageJoin,
  PageLatency,
  PageLook,
  PageSample,
  PageStatsEntry,
  PageStream,
} from "./protocol.js";
export { E2EE_WORKER_PATH } from "./protocol.js";
export { PageServer } from "./server.js";
export { wavFile } from "./wav.js";
