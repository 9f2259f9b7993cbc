using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MLStyle.ML.Tests.Support;
using MLStyle.Onnx;
using MLStyle.Runtime;

namespace MLStyle.ML.Tests;

public class StylizerTests
{
    public sealed class Row224
    {
        [VectorType(3, 224, 224)] public float[] Pixels { get; set; } = new float[3 * 224 * 224];
    }

    static string SaveModel(int? size)
    {
        var path = Path.Combine(Path.GetTempPath(), $"mlstyle-johnson-{size?.ToString() ?? "any"}-{Guid.NewGuid():N}.onnx");
        OnnxModels.Save(JohnsonNet.Create(size), path);
        return path;
    }

    [Fact]
    public void ApplyStylizer_ZooInterface_ClampsAndSurvivesSaveLoad()
    {
        var file = SaveModel(224);
        try
        {
            var ml = new MLContext(seed: 1);
            var rng = new Random(3);
            var rows = Enumerable.Range(0, 2).Select(_ => new Row224 { Pixels = Enumerable.Range(0, 3 * 224 * 224).Select(_ => (float)rng.Next(256)).ToArray() }).ToArray();
            var data = ml.Data.LoadFromEnumerable(rows);
            var model = ml.Transforms.ApplyStylizer("Stylized", "Pixels", file).Fit(data);
            var output = model.Transform(data);
            Assert.Equal(new ImageDataViewType(224, 224), output.Schema["Stylized"].Type);
            var stylised = TestData.ImagePixels(ml, output, "Stylized");

            // Reference: the styliser run directly, clamped to 0–255 and rounded to bytes by the image column.
            using var session = new OnnxSession(OnnxModels.Load(file));
            var raw = session.Run(new Dictionary<string, FloatTensor> { ["input1"] = FloatTensor.Of(rows[0].Pixels, 1, 3, 224, 224) })["output1"].Data;
            Assert.Contains(raw, v => v < 0 || v > 255); // the clamp matters
            for (int i = 0; i < raw.Length; i++) Assert.Equal(Math.Clamp(raw[i], 0, 255), stylised[0][i], 1f);

            var loaded = TestData.RoundTrip(ml, model, data.Schema);
            Assert.Equal(stylised, TestData.ImagePixels(ml, loaded.Transform(data), "Stylized"));

            var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.ApplyStylizer("S", "Pixels", file)
                .Fit(ml.Data.LoadFromEnumerable(TestData.ContentRows())));
            Assert.StartsWith("Schema mismatch for input column 'Pixels': expected Vector<Single, 3, 224, 224>, got Vector<Single, 3, 32, 32>", e.Message);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void ApplyStylizer_SymbolicSize_PreserveColors_TakesLuminanceFromTheStyliserAndChromaFromTheInput()
    {
        var file = SaveModel(null);
        try
        {
            var ml = new MLContext(seed: 1);
            var rows = TestData.ContentRows();
            var data = ml.Data.LoadFromEnumerable(rows);
            var options = new StylizerEstimator.Options { ModelFile = file, PreserveColors = true, OutputKind = ImageOutputKind.Pixels };
            var output = ml.Transforms.ApplyStylizer("Out", "Pixels", options).Fit(data).Transform(data);
            Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 3, 32, 32), output.Schema["Out"].Type);
            var result = TestData.Column(output, "Out")[0];

            using var session = new OnnxSession(OnnxModels.Load(file));
            var raw = session.Run(new Dictionary<string, FloatTensor> { ["input1"] = FloatTensor.Of(rows[0].Pixels, 1, 3, 32, 32) })["output1"].Data
                .Select(v => Math.Clamp(v, 0f, 255f)).ToArray();
            int n = 32 * 32, compared = 0;
            for (int p = 0; p < n; p++)
            {
                if (Enumerable.Range(0, 3).Any(c => result[c * n + p] is <= 0.01f or >= 254.99f)) continue;
                var (y, i, q) = StyleTransferTests.Yiq(result, p, n);
                var (ys, _, _) = StyleTransferTests.Yiq(raw, p, n);
                var (_, ic, qc) = StyleTransferTests.Yiq(rows[0].Pixels, p, n);
                Assert.Equal(ys, y, 0.05f);
                Assert.Equal(ic, i, 0.05f);
                Assert.Equal(qc, q, 0.05f);
                compared++;
            }
            Assert.True(compared > n / 4, $"only {compared} unclipped pixels");
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void ApplyStylizer_RejectsModelsWithoutTheImageInterface()
    {
        var b = GraphBuilder.Create();
        var x = b.AddInput("a", ElementType.Float, new long[] { 1, 4 });
        var y = b.AddInput("c", ElementType.Float, new long[] { 1, 4 });
        b.AddOutput(b.Add(x, y));
        var file = Path.Combine(Path.GetTempPath(), $"mlstyle-two-inputs-{Guid.NewGuid():N}.onnx");
        OnnxModels.Save(b.Model, file);
        try
        {
            var e = Assert.Throws<ModelException>(() => new MLContext().Transforms.ApplyStylizer("S", "Pixels", file));
            Assert.Contains("has 2 inputs", e.Message);
        }
        finally { File.Delete(file); }
    }
}
