// The version of Argus (src/util/version.ts, so that every wing can read it too).
export { version } from '../util/version.ts';
