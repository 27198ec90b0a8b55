export {
  createUseEmbedder,
  USE_MODEL_NAME,
  UseEmbedder,
  type UseEmbedderOptions,
} from "./use-embedder.js";
