#nullable enable
using MLStyle.Optimization;

namespace MLStyle.Tests.Optimization;

public class AdamOptimizerTests
{
    private static (TestProblems.Quadratic Q, float[] X) PixelScaleQuadratic(int n = 1000)
    {
        var q = new TestProblems.Quadratic(n, condition: 10);
        var x = new float[n];
        for (int i = 0; i < n; i++)
            x[i] = q.Center[i] + (i % 3 == 0 ? -50f : 50f); // ~50 intensity levels away, as for 0–255 pixels
        return (q, x);
    }

    [Fact]
    public void Quadratic_DecreasesAndReachesTolerance()
    {
        var (q, x) = PixelScaleQuadratic();
        var optimizer = new AdamOptimizer(); // default lr = 1
        var losses = new List<float>();

        for (int k = 0; k < 300; k++)
            losses.Add(optimizer.Step(x, q.Evaluate).Loss);

        // Adam with lr = 1 oscillates a little near the bottom, but the worst loss of every 50-step window must be
        // below the worst loss of the previous window, and step-to-step increases must be rare.
        for (int w = 50; w < losses.Count; w += 50)
        {
            float worst = losses.Skip(w).Take(50).Max(), previousWorst = losses.Skip(w - 50).Take(50).Max();
            Assert.True(worst < previousWorst, $"worst loss of steps {w}..{w + 49} is {worst}, previous window {previousWorst}");
        }

        int increases = Enumerable.Range(1, losses.Count - 1).Count(k => losses[k] > losses[k - 1]);
        Assert.True(increases < losses.Count / 5, $"{increases} increases in {losses.Count} steps");
        Assert.True(losses[^1] < 1e-6f * losses[0], $"loss {losses[^1]} vs initial {losses[0]}");
        Assert.True(q.Error(x) <= 1e-2f, $"max|x - c| = {q.Error(x)}");
    }

    [Fact]
    public void FirstStep_MovesEachCoordinateByLearningRate()
    {
        // Bias correction makes the first update exactly lr·sign(g) (up to ε).
        var optimizer = new AdamOptimizer(new AdamOptions { LearningRate = 2f });
        float[] x = [10f, -10f, 3f];
        optimizer.Step(x, (p, g) =>
        {
            g[0] = 5f;
            g[1] = -0.01f;
            g[2] = 300f;
            return 1f;
        });

        Assert.Equal(8f, x[0], 4);
        Assert.Equal(-8f, x[1], 4);
        Assert.Equal(1f, x[2], 4);
    }

    [Fact]
    public void EveryStepEvaluatesOnce()
    {
        var (q, x) = PixelScaleQuadratic(100);
        var objective = new CountingObjective(q.Evaluate);
        var optimizer = new AdamOptimizer();
        for (int k = 1; k <= 20; k++)
        {
            StepResult r = optimizer.Step(x, objective.Objective);
            Assert.Equal(1, r.Evaluations);
            Assert.Equal(k, objective.Calls);
            Assert.Equal(k, optimizer.Evaluations);
            Assert.Equal(k, optimizer.Iteration);
        }
    }

    [Fact]
    public void Step_DoesNotAllocateAfterFirstCall()
    {
        var (q, x) = PixelScaleQuadratic(100_000);
        Objective objective = q.Evaluate;
        var optimizer = new AdamOptimizer();
        optimizer.Step(x, objective);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int k = 0; k < 5; k++)
            optimizer.Step(x, objective);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(allocated < 10_000, $"allocated {allocated} bytes in 5 steps");
    }

    [Fact]
    public void SameInputs_GiveBitwiseIdenticalResults_AndResetRestarts()
    {
        var optimizer = new AdamOptimizer();
        float[] Run()
        {
            var (q, x) = PixelScaleQuadratic(500);
            optimizer.Reset();
            for (int k = 0; k < 50; k++)
                optimizer.Step(x, q.Evaluate);
            return x;
        }

        float[] first = Run();
        float[] second = Run(); // same instance after Reset
        Assert.True(LbfgsOptimizerTests.Bits(first).SequenceEqual(LbfgsOptimizerTests.Bits(second)));
    }

    [Fact]
    public void NonFiniteGradient_LeavesParametersUntouched()
    {
        var optimizer = new AdamOptimizer();
        float[] x = [1f, 2f];
        StepResult r = optimizer.Step(x, (_, g) => { g[0] = float.NaN; return 3f; });
        Assert.Equal([1f, 2f], x);
        Assert.False(r.Converged);
    }

    [Fact]
    public void InvalidOptions_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamOptimizer(new AdamOptions { LearningRate = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamOptimizer(new AdamOptions { Beta1 = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamOptimizer(new AdamOptions { Beta2 = -0.1f }));
    }

    [Fact]
    public void MemoryEstimate_IsThreeVectors()
    {
        long bytes = new AdamOptimizer().EstimateMemoryBytes(1_000_000);
        Assert.InRange(bytes, 12_000_000L, 12_001_000L);
    }
}
