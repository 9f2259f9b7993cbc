#nullable enable
using System.Numerics.Tensors;
using MLStyle.Optimization;

namespace MLStyle.Tests.Optimization;

public class LbfgsHalfHistoryTests
{
    private static LbfgsOptimizer Create(HistoryPrecision precision, int history = 20) =>
        new(new LbfgsOptions { HistorySize = history, HistoryPrecision = precision });

    /// <summary>A quadratic whose gradients reach <paramref name="scale"/> (beyond float16's 65504 for large scales).</summary>
    private static Objective Scaled(TestProblems.Quadratic q, float scale) => (x, g) =>
    {
        float f = q.Evaluate(x, g);
        TensorPrimitives.Multiply(g, scale, g);
        return f * scale;
    };

    private static double Cosine(float[] a, float[] b) =>
        TensorPrimitives.Dot(a, b) / (double)(TensorPrimitives.Norm(a) * TensorPrimitives.Norm(b));

    [Theory]
    [InlineData(1f)]
    [InlineData(1e6f)]   // gradients up to ~10⁸: stored unscaled in float16 they would be infinite
    [InlineData(1e-4f)]  // gradients down to ~10⁻⁸: unscaled most would be float16 subnormals or zero
    public void HalfStorage_FollowsTheSinglePrecisionIterates(float scale)
    {
        // n above the conversion chunk (4096) so chunk boundaries are crossed; history shorter than the run so the ring wraps.
        const int n = 5000;
        var q = new TestProblems.Quadratic(n, condition: 100, seed: 3);
        var objective = Scaled(q, scale);
        var xs = new float[n];
        var xh = new float[n];
        var single = Create(HistoryPrecision.Single, history: 8);
        var half = Create(HistoryPrecision.Half, history: 8);

        for (int k = 1; k <= 15; k++)
        {
            single.Step(xs, objective);
            half.Step(xh, objective);
            Assert.True(xh.All(float.IsFinite), $"non-finite iterate at step {k}");
            // The whole path from the start (x₀ = 0): the same direction and length to a few parts in 10⁴.
            double cos = Cosine(xs, xh);
            Assert.True(cos > 0.9999, $"step {k}: cosine {cos}");
            var diff = new float[n];
            TensorPrimitives.Subtract(xs, xh, diff);
            float rel = TensorPrimitives.Norm(diff) / TensorPrimitives.Norm(xs);
            Assert.True(rel < 1e-2f, $"step {k}: relative difference {rel}");
        }
        Assert.Equal(8, single.HistoryCount);
        Assert.Equal(8, half.HistoryCount);
    }

    [Fact]
    public void HalfStorage_ConvergesOnAnIllConditionedQuadratic()
    {
        const int n = 10_000;
        const float tolerance = 1e-3f;
        var q = new TestProblems.Quadratic(n, condition: 1e4);
        int IterationsTo(HistoryPrecision p)
        {
            var x = new float[n];
            var optimizer = Create(p);
            while (optimizer.Iteration < 3000 && q.Error(x) > tolerance)
                optimizer.Step(x, q.Evaluate);
            Assert.True(q.Error(x) <= tolerance, $"{p}: error {q.Error(x)} after {optimizer.Iteration} iterations");
            return optimizer.Iteration;
        }

        int single = IterationsTo(HistoryPrecision.Single);
        int half = IterationsTo(HistoryPrecision.Half);
        Assert.True(half <= single * 1.25, $"float16 pairs took {half} iterations, float32 {single}");
    }

    [Fact]
    public void HalfStorage_HalvesTheHistoryMemory()
    {
        const int n = 1_000_000;
        long single = Create(HistoryPrecision.Single, history: 50).EstimateMemoryBytes(n);
        long half = Create(HistoryPrecision.Half, history: 50).EstimateMemoryBytes(n);
        Assert.Equal(2L * 50 * n * 2, single - half); // 100 vectors, 2 bytes less per element
    }

    [Fact]
    public void HalfStorage_ShrinkMidRun_ReleasesTwoBytesPerElementAndStillConverges()
    {
        const int n = 3000;
        var q = new TestProblems.Quadratic(n, condition: 100);
        var x = new float[n];
        var optimizer = Create(HistoryPrecision.Half, history: 10);
        for (int k = 0; k < 12; k++) optimizer.Step(x, q.Evaluate);
        Assert.Equal(10, optimizer.HistoryCount);

        long released = optimizer.ShrinkHistory(4);

        Assert.Equal(2L * 6 * n * 2, released);
        while (optimizer.Iteration < 500 && q.Error(x) > 1e-4f) optimizer.Step(x, q.Evaluate);
        Assert.True(q.Error(x) <= 1e-4f, $"error {q.Error(x)} after {optimizer.Iteration} iterations");
    }

    [Fact]
    public void UnknownPrecision_IsRejected() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new LbfgsOptimizer(new LbfgsOptions { HistoryPrecision = (HistoryPrecision)7 }));
}
