using MLStyle.Losses;
using MLStyle.Onnx;
using MLStyle.Runtime;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Losses;

/// <summary>The DeepDream schedule and step: one definition for the engine (spans) and the estimator (ONNX nodes).</summary>
public class DreamScheduleTests
{
    [Fact]
    public void OctaveSizes_SkipBelowTheMinimum_KeepTheImageItself()
    {
        Assert.Equal(new[] { (451, 300), (322, 214), (230, 153), (164, 109) }, DreamSchedule.OctaveSizes(451, 300, 4, 1.4f));
        Assert.Equal(new[] { (40, 40) }, DreamSchedule.OctaveSizes(40, 40, 4, 1.4f));
        Assert.Equal(new[] { (40, 40), (29, 29), (20, 20) }, DreamSchedule.OctaveSizes(40, 40, 4, 1.4f, minSide: 16));
        Assert.Equal(new[] { (10, 10) }, DreamSchedule.OctaveSizes(10, 10, 3, 2f, minSide: 16));
        Assert.Equal(new[] { (5, 3), (3, 2) }, DreamSchedule.OctaveSizes(5, 3, 2, 2f, minSide: 1)); // 2.5 and 1.5 round away from zero
    }

    [Theory]
    [InlineData(1f)]
    [InlineData(0f)] // a zero gradient: no step, no NaN
    public void EmittedStep_IsTheSpanStep(float gradientScale)
    {
        const int n = 3 * 7 * 5;
        var b = GraphBuilder.Create("step");
        var x = b.AddInput("x", ElementType.Float, new long[] { 1, 3, 7, 5 });
        var g = b.AddInput("g", ElementType.Float, new long[] { 1, 3, 7, 5 });
        var next = DreamSchedule.AddNormalisedStep(b, x, g, 2.5f);
        b.AddOutput(next);
        using var session = new OnnxSession(b.Model);
        var xs = GradCheck.Random(1, n, 120f, 128f);
        var gs = GradCheck.Random(2, n, 0.01f * gradientScale);
        var graph = session.Run(new Dictionary<string, FloatTensor> { ["x"] = FloatTensor.Of(xs, 1, 3, 7, 5), ["g"] = FloatTensor.Of(gs, 1, 3, 7, 5) })[next].Data;
        var spans = (float[])xs.Clone();
        float meanAbs = DreamSchedule.NormalisedStep(spans, gs, 2.5f);
        for (int i = 0; i < n; i++) Assert.Equal(spans[i], graph[i], 1e-3f);
        Assert.All(spans, v => Assert.InRange(v, 0f, 255f));
        if (gradientScale == 0) Assert.Equal(0f, meanAbs);
        else Assert.Equal(2.5, spans.Zip(xs, (a, c) => Math.Abs(a - c)).Where((d, i) => xs[i] is > 10 and < 245).Average(), 0.5);
    }
}
