export { entityOfKind, kindOfEntity, PRESIDIO_DEFAULT_ENTITIES } from "./entity-mapping.js";
export {
  createPresidioDetector,
  type PresidioDetector,
  type PresidioDetectorOptions,
} from "./presidio-detector.js";
