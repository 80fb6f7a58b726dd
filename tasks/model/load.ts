import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
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
  const forest = compileForest(artifact.model as SavedForest);
  const { model: _model, ...card } = artifact;
  const classes = artifact.classes;
  const trees = forest.length;
  const row = new Float64Array(FEATURES.length);
  const counts = new Uint16Array(classes.length);
  const predict = (input: Measurements): Prediction => {
    for (let f = 0; f < FEATURES.length; f++) row[f] = input[FEATURES[f]!];
    counts.fill(0);
    for (const tree of forest) counts[vote(tree, row)]! += 1;
    // Ties go to the first class, as ml-random-forest's own vote does.
    let best = 0;
    for (let c = 1; c < counts.length; c++) if (counts[c]! > counts[best]!) best = c;
    const probabilities: Record<string, number> = {};
    for (let c = 0; c < classes.length; c++) probabilities[classes[c]!] = counts[c]! / trees;
    return { result: classes[best]!, probabilities };
  };
  return {
    version: artifact.version,
    card,
    classes,
    predict,
    predictMany: (inputs) => inputs.map(predict),
  };
}

/** ml-random-forest's saved form (RandomForestClassifier#toJSON), as far as prediction needs it. */
interface SavedForest {
  baseModel: {
    /** Per tree, the original feature index of each of the tree's columns (feature bagging). */
    indexes: number[][];
    estimators: Array<{ root: SavedNode }>;
  };
}

/** An ml-cart node: a split (both children) or a leaf (a class distribution). */
interface SavedNode {
  splitColumn?: number;
  splitValue?: number;
  left?: SavedNode;
  right?: SavedNode;
  distribution?: number[][];
}

/** One tree as flat arrays: node n splits on `feature[n]` at `threshold[n]`, or is a leaf when feature[n] < 0. */
interface FlatTree {
  feature: Int8Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  leafClass: Uint8Array;
}

/**
 * The saved forest as flat arrays, evaluated with the rules of ml-cart and ml-random-forest:
 * a row goes left when `row[column] < splitValue`, a leaf votes for the first class with the
 * highest value in its distribution, and a tree's columns are the features it was given. It
 * predicts exactly what the library does (tested on the training set and on random and boundary
 * rows) but needs neither the library nor its matrices at run time: a sync predict through the
 * library cost ~16 µs, about half of a request's CPU, and loading it ~8 MB per process.
 */
function compileForest(saved: SavedForest): FlatTree[] {
  const { indexes, estimators } = saved.baseModel;
  return estimators.map(({ root }, t) => {
    const nodes: SavedNode[] = [];
    const number = (node: SavedNode): number => {
      nodes.push(node);
      return nodes.length - 1;
    };
    number(root);
    const tree: FlatTree = {
      feature: new Int8Array(0),
      threshold: new Float64Array(0),
      left: new Int32Array(0),
      right: new Int32Array(0),
      leafClass: new Uint8Array(0),
    };
    const links: Array<[number, number]> = [];
    for (let n = 0; n < nodes.length; n++) {
      const node = nodes[n]!;
      links.push(node.left && node.right ? [number(node.left), number(node.right)] : [-1, -1]);
    }
    tree.feature = Int8Array.from(nodes, (node, n) => (links[n]![0] >= 0 ? indexes[t]![node.splitColumn!]! : -1));
    tree.threshold = Float64Array.from(nodes, (node) => node.splitValue ?? 0);
    tree.left = Int32Array.from(links, ([l]) => l);
    tree.right = Int32Array.from(links, ([, r]) => r);
    tree.leafClass = Uint8Array.from(nodes, (node, n) =>
      links[n]![0] >= 0 ? 0 : firstMaxIndex(node.distribution![0]!),
    );
    return tree;
  });
}

function firstMaxIndex(values: number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** The class index one tree votes for. */
function vote(tree: FlatTree, row: Float64Array): number {
  let n = 0;
  while (tree.feature[n]! >= 0) n = row[tree.feature[n]!]! < tree.threshold[n]! ? tree.left[n]! : tree.right[n]!;
  return tree.leafClass[n]!;
}
