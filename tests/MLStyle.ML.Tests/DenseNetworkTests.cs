using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLStyle.ML.Tests.Support;
using MLStyle.Onnx;
using MLStyle.Runtime;

namespace MLStyle.ML.Tests;

public class DenseNetworkTests
{
    public sealed class Example
    {
        public string Label { get; set; } = "";
        [VectorType(2)] public float[] Features { get; set; } = new float[2];
    }

    /// <summary>Three classes in concentric rings: no linear model separates them.</summary>
    static Example[] Rings(int n, int seed)
    {
        var rng = new Random(seed);
        var names = new[] { "inner", "middle", "outer" };
        return Enumerable.Range(0, n).Select(i =>
        {
            int c = i % 3;
            double r = 1 + 1.5 * c + rng.NextDouble() * 0.8, a = rng.NextDouble() * 2 * Math.PI;
            return new Example { Label = names[c], Features = new[] { (float)(r * Math.Cos(a)), (float)(r * Math.Sin(a)) } };
        }).ToArray();
    }

    public sealed class NoisyExample
    {
        public string Label { get; set; } = "";
        [VectorType(3)] public float[] Features { get; set; } = new float[3];
    }

    /// <summary>The rings, plus a third feature of pure noise.</summary>
    static NoisyExample[] NoisyRings(int n, int seed)
    {
        var rng = new Random(seed + 100);
        return Rings(n, seed).Select(e => new NoisyExample { Label = e.Label, Features = [e.Features[0], e.Features[1], (float)(rng.NextDouble() * 6 - 3)] }).ToArray();
    }

    [Fact]
    public void DenseNetwork_WorksWithPermutationFeatureImportance_AndAValidationSet()
    {
        var ml = new MLContext(seed: 1);
        var toKey = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(NoisyRings(30, 1)));
        var train = toKey.Transform(ml.Data.LoadFromEnumerable(NoisyRings(450, 1)));
        var valid = toKey.Transform(ml.Data.LoadFromEnumerable(NoisyRings(150, 2)));
        var epochs = new List<DenseNetworkEpoch>();
        var trainer = ml.MulticlassClassification.Trainers.DenseNetwork(new DenseNetworkTrainer.Options
        {
            HiddenLayerSizes = new[] { 32 }, Epochs = 40, LearningRate = 0.01f, Seed = 3, Progress = new SyncProgress<DenseNetworkEpoch>(epochs.Add),
        });
        var network = trainer.Fit(train, valid);

        // The validation set given is the one used: every epoch has a validation loss, all 450 rows were trained on.
        Assert.All(epochs, e => Assert.NotNull(e.ValidationLoss));
        var validAccuracy = ml.MulticlassClassification.Evaluate(network.Transform(valid)).MicroAccuracy;
        Assert.Equal(validAccuracy, epochs[network.BestEpoch - 1].ValidationAccuracy!.Value, 2);

        // ISingleFeaturePredictionTransformer<TModel>: PFI works on the transformer.
        Assert.Equal("Features", network.FeatureColumnName);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 3), network.FeatureColumnType);
        Assert.Equal(new[] { 3, 32, 3 }, network.Model.LayerSizes);
        Assert.Equal(3 * 32, network.Model.Weights(0).Length);
        var importance = ml.MulticlassClassification.PermutationFeatureImportance(network, valid, permutationCount: 2);
        Assert.Equal(3, importance.Length);
        double Drop(int slot) => -importance[slot].MicroAccuracy.Mean;
        Assert.True(Drop(0) > 0.2 && Drop(1) > 0.2, $"ring features: {Drop(0)}, {Drop(1)}");
        Assert.True(Drop(2) < 0.1, $"noise feature: {Drop(2)}");

        // In a pipeline: PFI on its last transformer, with the rows as that transformer sees them.
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label").Append(trainer).Fit(ml.Data.LoadFromEnumerable(NoisyRings(300, 4)));
        var keyed = toKey.Transform(ml.Data.LoadFromEnumerable(NoisyRings(150, 5)));
        Assert.Equal(3, ml.MulticlassClassification.PermutationFeatureImportance(pipeline.LastTransformer, keyed).Length);
    }

    [Fact]
    public void DenseNetwork_LearnsANonLinearProblem_WorksWithEvaluate_AndSurvivesSaveLoad()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(Rings(600, 1));
        var test = ml.Data.LoadFromEnumerable(Rings(300, 2));
        var epochs = new List<DenseNetworkEpoch>();
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.DenseNetwork(new DenseNetworkTrainer.Options
            {
                HiddenLayerSizes = new[] { 32 }, Epochs = 60, LearningRate = 0.01f, Seed = 3, Progress = new SyncProgress<DenseNetworkEpoch>(epochs.Add),
            }));
        var model = pipeline.Fit(train);
        var scored = model.Transform(test);
        var metrics = ml.MulticlassClassification.Evaluate(scored);
        Assert.True(metrics.MicroAccuracy > 0.95, $"accuracy {metrics.MicroAccuracy}");
        Assert.NotEmpty(epochs);
        Assert.True(epochs[^1].TrainingLoss < epochs[0].TrainingLoss);
        Assert.Equal(model.LastTransformer.History.Count, epochs.Count);

        // A network without hidden layers is linear and cannot do it.
        var linear = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.DenseNetwork(new DenseNetworkTrainer.Options { HiddenLayerSizes = Array.Empty<int>(), Epochs = 60, LearningRate = 0.01f }))
            .Fit(train);
        Assert.True(ml.MulticlassClassification.Evaluate(linear.Transform(test)).MicroAccuracy < 0.8);

        // Class names survive: PredictedLabel is a key with the label's values.
        VBuffer<ReadOnlyMemory<char>> keys = default;
        scored.Schema["PredictedLabel"].GetKeyValues(ref keys);
        Assert.Equal(new[] { "inner", "middle", "outer" }, keys.DenseValues().Select(k => k.ToString()));
        var named = ml.Transforms.Conversion.MapKeyToValue("PredictedName", "PredictedLabel")
            .Append(ml.Transforms.Conversion.MapKeyToValue("LabelName", "Label")).Fit(scored).Transform(scored);
        var truth = named.GetColumn<string>("LabelName").ToArray();
        var predicted = named.GetColumn<string>("PredictedName").ToArray();
        Assert.True(truth.Zip(predicted).Count(p => p.First == p.Second) > 0.95 * truth.Length);

        var loaded = TestData.RoundTrip(ml, model, train.Schema);
        var reScored = loaded.Transform(test);
        Assert.Equal(TestData.Column(scored, "Score"), TestData.Column(reScored, "Score"));
        Assert.Equal(scored.GetColumn<uint>("PredictedLabel"), reScored.GetColumn<uint>("PredictedLabel"));

        var engine = ml.Model.CreatePredictionEngine<Example, Prediction>(loaded);
        Assert.Equal(3, engine.Predict(new Example { Features = new[] { 0.5f, 0.5f } }).Score.Length);
    }

    public sealed class Prediction
    {
        public float[] Score { get; set; } = Array.Empty<float>();
    }

    sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    [Fact]
    public void DenseNetwork_ExportsOnnx_ThatScoresLikeThePipeline()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Rings(150, 4));
        var model = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.DenseNetwork(hiddenLayerSizes: new[] { 8, 8 }, epochs: 5))
            .Fit(data);
        var scores = TestData.Column(model.Transform(data), "Score");
        var path = Path.Combine(Path.GetTempPath(), $"mlstyle-dense-{Guid.NewGuid():N}.onnx");
        try
        {
            model.LastTransformer.ExportOnnx(path);
            var onnx = OnnxModels.Load(path);
            Assert.Equal("inner\nmiddle\nouter", onnx.MetadataProps.Single(p => p.Key == "class_names").Value);
            using var session = new OnnxSession(onnx);
            var features = ml.Data.CreateEnumerable<Example>(data, reuseRowObject: false).Take(4).SelectMany(e => e.Features).ToArray();
            var batch = session.Run(new Dictionary<string, FloatTensor> { ["Features"] = FloatTensor.Of(features, 4, 2) }, new[] { "Score" })["Score"];
            Assert.Equal(new long[] { 4, 3 }, batch.Shape);
            for (int r = 0; r < 4; r++)
                for (int k = 0; k < 3; k++) Assert.Equal(scores[r][k], batch.Data[r * 3 + k], 1e-5f);
            Assert.Equal(new[] { 2, 8, 8, 3 }, model.LastTransformer.LayerSizes);
        }
        finally { File.Delete(path); }
    }

    public sealed class DigitRow
    {
        [LoadColumn(0, 63), VectorType(64)] public float[] Features { get; set; } = new float[64];
        [LoadColumn(64)] public float Digit { get; set; }
    }

    [Fact]
    public void DenseNetwork_OnDigits_BeatsAThreshold_AndIsDeterministic()
    {
        var ml = new MLContext(seed: 1);
        var split = ml.Data.TrainTestSplit(ml.Data.LoadFromEnumerable(ReadDigits().ToArray()), testFraction: 0.25, seed: 1);
        IEstimator<ITransformer> Pipeline() => ml.Transforms.Conversion.MapValueToKey("Label", "Digit")
            .Append(ml.MulticlassClassification.Trainers.DenseNetwork(new DenseNetworkTrainer.Options { HiddenLayerSizes = new[] { 32 }, Epochs = 40, Seed = 5 }));
        var model = Pipeline().Fit(split.TrainSet);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(split.TestSet));
        Assert.True(metrics.MicroAccuracy > 0.93, $"digits accuracy {metrics.MicroAccuracy}");
        // PredictedLabel's key values keep the label's type (Single here): MapKeyToValue gives digits back.
        var scored = model.Transform(split.TestSet);
        var predicted = ml.Transforms.Conversion.MapKeyToValue("PredictedDigit", "PredictedLabel").Fit(scored).Transform(scored);
        var hits = predicted.GetColumn<float>("Digit").Zip(predicted.GetColumn<float>("PredictedDigit")).Count(p => p.First == p.Second);
        Assert.Equal(metrics.MicroAccuracy, hits / (double)predicted.GetColumn<float>("Digit").Count(), 6);
        var again = Pipeline().Fit(split.TrainSet);
        Assert.Equal(TestData.Column(model.Transform(split.TestSet), "Score"), TestData.Column(again.Transform(split.TestSet), "Score"));
    }

    internal static IEnumerable<DigitRow> ReadDigits()
    {
        using var gz = new GZipStream(File.OpenRead(TestData.Sample("data", "digits.csv.gz")), CompressionMode.Decompress);
        using var reader = new StreamReader(gz);
        while (reader.ReadLine() is { } line)
        {
            var v = line.Split(',').Select(float.Parse).ToArray();
            yield return new DigitRow { Features = v[..64], Digit = v[64] };
        }
    }

    [Fact]
    public void DenseNetwork_WrongColumns_GiveSchemaMismatchErrors()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Rings(30, 1));
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.DenseNetwork().Fit(data));
        Assert.StartsWith("Schema mismatch for label column 'Label': expected Key<UInt32> (use MapValueToKey), got String", e1.Message);
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.DenseNetwork(featureColumnName: "Nope")).Fit(data));
        Assert.StartsWith("Could not find feature column 'Nope'", e2.Message);
        var e3 = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.DenseNetwork(featureColumnName: "Label")).Fit(data));
        Assert.StartsWith("Schema mismatch for feature column 'Label': expected known-size vector of Single", e3.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.DenseNetwork(new DenseNetworkTrainer.Options { BatchSize = 0 }));
    }
}
