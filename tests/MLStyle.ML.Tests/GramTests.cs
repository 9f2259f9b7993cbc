using Microsoft.ML;
using Microsoft.ML.Data;
using MLStyle.ML.Tests.Support;

namespace MLStyle.ML.Tests;

public class GramTests
{
    public sealed class FeatureRow
    {
        [VectorType(2, 2, 3)] public float[] F { get; set; } = new float[12];
    }

    [Fact]
    public void ComputeGramMatrix_IsFFtOverChw_InEitherLayout()
    {
        var ml = new MLContext(seed: 1);
        var f = new float[] { 1, 2, 3, 4, 5, 6, /* channel 1 */ -1, 0, 2, 1, -3, 0.5f };
        var data = ml.Data.LoadFromEnumerable(new[] { new FeatureRow { F = f } });
        // G[i,j] = Σ_p F[i,p]·F[j,p] / (C·h·w) with C·h·w = 12.
        float g00 = f.Take(6).Sum(v => v * v) / 12, g11 = f.Skip(6).Sum(v => v * v) / 12;
        float g01 = f.Take(6).Zip(f.Skip(6), (a, b) => a * b).Sum() / 12;

        var model = ml.Transforms.ComputeGramMatrix("G", "F").Fit(data);
        var upper = model.Transform(data);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 3), upper.Schema["G"].Type);
        Assert.Equal(new[] { g00, g01, g11 }, TestData.Column(upper, "G")[0], new FloatComparer(1e-5f));
        Assert.Equal(TestData.Column(upper, "G"), TestData.Column(TestData.RoundTrip(ml, model, data.Schema).Transform(data), "G"));

        var full = ml.Transforms.ComputeGramMatrix("G", "F", new GramMatrixEstimator.Options { Layout = GramLayout.Full, L2Normalize = true })
            .Fit(data).Transform(data);
        float norm = MathF.Sqrt(g00 * g00 + 2 * g01 * g01 + g11 * g11);
        Assert.Equal(new[] { g00 / norm, g01 / norm, g01 / norm, g11 / norm }, TestData.Column(full, "G")[0], new FloatComparer(1e-5f));

        // Output column = input column: the Gram replaces the features.
        var inPlace = ml.Transforms.ComputeGramMatrix("F").Fit(data).Transform(data);
        Assert.Equal(3, TestData.Column(inPlace, "F")[0].Length);
    }

    [Fact]
    public void ComputeGramMatrix_FlatInputNeedsChannels()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new { V = new float[] { 1, 2, 3, 4 } } }.Select(r => new FlatRow { V = r.V }));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.ComputeGramMatrix("G", "V").Fit(data));
        Assert.StartsWith("Schema mismatch for input column 'V': expected Vector<Single, C, h, w> (or set Options.Channels), got Vector<Single, 4>", e.Message);
        var g = ml.Transforms.ComputeGramMatrix("G", "V", new GramMatrixEstimator.Options { Channels = 2 }).Fit(data).Transform(data);
        Assert.Equal(new[] { 5f / 4, 11f / 4, 25f / 4 }, TestData.Column(g, "G")[0], new FloatComparer(1e-5f));
    }

    public sealed class FlatRow
    {
        [VectorType(4)] public float[] V { get; set; } = new float[4];
    }

    [Fact]
    public void ExtractStyleFeatures_IsTheConcatenationOfNormalisedLayerGrams_AndSurvivesSaveLoad()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(TestData.ContentRows());
        var layers = new[] { "conv1", "layer1.1" };
        var model = ml.Transforms.ExtractStyleFeatures("Style", "Pixels", new StyleFeatureExtractingEstimator.Options { Layers = layers }).Fit(data);
        var output = model.Transform(data);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 2 * 64 * 65 / 2), output.Schema["Style"].Type);
        var style = TestData.Column(output, "Style");

        // Cross-check with ExtractDeepFeatures + ComputeGramMatrix (L2-normalised), scaled by 1/√2.
        var reference = ml.Transforms.ExtractDeepFeatures(new[] { "A", "B" }, "Pixels", new DeepFeatureExtractingEstimator.Options { Layers = layers })
            .Append(ml.Transforms.ComputeGramMatrix("GA", "A", new GramMatrixEstimator.Options { L2Normalize = true }))
            .Append(ml.Transforms.ComputeGramMatrix("GB", "B", new GramMatrixEstimator.Options { L2Normalize = true }))
            .Fit(data).Transform(data);
        var ga = TestData.Column(reference, "GA");
        var gb = TestData.Column(reference, "GB");
        for (int r = 0; r < style.Length; r++)
        {
            var expected = ga[r].Concat(gb[r]).Select(v => v / MathF.Sqrt(2)).ToArray();
            Assert.Equal(expected, style[r], new FloatComparer(1e-4f));
            Assert.Equal(1f, MathF.Sqrt(style[r].Sum(v => v * v)), 1e-4f);
        }

        var loaded = TestData.RoundTrip(ml, model, data.Schema);
        Assert.Equal(style, TestData.Column(loaded.Transform(data), "Style"));
    }
}

sealed class FloatComparer(float tolerance) : IEqualityComparer<float>
{
    public bool Equals(float x, float y) => MathF.Abs(x - y) <= tolerance * Math.Max(1f, MathF.Abs(y));
    public int GetHashCode(float obj) => 0;
}
