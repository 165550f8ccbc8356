export { BundleError, PREBUILT_PAGE, bundlePage, pageScript } from "./bundle.js";
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
  PageEvent,
  PageJoin,
  PageLatency,
  PageLook,
  PageSample,
  PageStatsEntry,
  PageStream,
} from "./protocol.js";
export { PageServer } from "./server.js";
export { wavFile } from "./wav.js";
