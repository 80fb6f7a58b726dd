import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { RandomForestClassifier } from "ml-random-forest";
import { FEATURES, type Measurements } from "../contract.js";
import type { ModelArtifact } from "./train.js";

/** Where `npm run train` writes the artifact and every process loads it from. */
export const MODEL_PATH = fileURLToPath(new URL("./iris-model.json", import.meta.url));

/** The outcome of classifying one flower. */
export interface Prediction {
  result: string;
  probabilities: Record<string, number>;
}

/** The loaded model: version, card facts and a pure predict function. */
export interface Model {
  version: string;
  card: Omit<ModelArtifact, "model">;
  classes: string[];
  predict(input: Measurements): Prediction;
  predictMany(inputs: Measurements[]): Prediction[];
}

/** Loads the trained artifact once; never trains. */
export function loadModel(path: string = MODEL_PATH): Model {
  const artifact = JSON.parse(readFileSync(path, "utf8")) as ModelArtifact;
  return modelFromArtifact(artifact);
}

/** Wraps an artifact (from disk or fresh from training) as a Model. */
export function modelFromArtifact(artifact: ModelArtifact): Model {
  const forest = RandomForestClassifier.load(artifact.model as Parameters<typeof RandomForestClassifier.load>[0]);
  const { model: _model, ...card } = artifact;
  const classes = artifact.classes;
  const predictMany = (inputs: Measurements[]): Prediction[] => {
    if (inputs.length === 0) return [];
    // One pass over the trees: each row's votes give both the library's own choice (its
    // `selection`, what `predict` applies to the same votes) and the class probabilities.
    const votes = forest.predictionValues(inputs.map((m) => FEATURES.map((f) => m[f])));
    const trees = votes.columns;
    return inputs.map((_, row) => {
      const treeVotes = votes.getRow(row);
      const counts = new Array<number>(classes.length).fill(0);
      for (const v of treeVotes) counts[v]! += 1;
      return {
        result: classes[forest.selection(treeVotes)]!,
        probabilities: Object.fromEntries(classes.map((name, c) => [name, counts[c]! / trees])),
      };
    });
  };
  return {
    version: artifact.version,
    card,
    classes,
    predict: (input) => predictMany([input])[0]!,
    predictMany,
  };
}
