// Trains the forest with its fixed seed and writes tasks/model/iris-model.json (`npm run train`).
import { writeFileSync } from "node:fs";
import { MODEL_PATH } from "../tasks/model/load.js";
import { trainModel } from "../tasks/model/train.js";

const artifact = trainModel();
writeFileSync(MODEL_PATH, JSON.stringify(artifact) + "\n");
console.log(
  `model ${artifact.version}: ${artifact.cv_folds}-fold CV accuracy ${artifact.cv_accuracy}, ` +
    `OOB ${artifact.oob_accuracy} → ${MODEL_PATH}`,
);
