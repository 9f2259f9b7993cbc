#nullable enable
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using MLStyle.Optimization;

namespace MLStyle.Tests.Optimization;

public class LbfgsOptimizerTests
{
    private static LbfgsOptimizer Create(LineSearch lineSearch, int history = 100) =>
        new(new LbfgsOptions { LineSearch = lineSearch, HistorySize = history });

    /// <summary>Steps until max|x - 1| ≤ 1e-4 or the budget is spent; returns the iterations used.</summary>
    private static int MinimiseRosenbrock(LbfgsOptimizer optimizer, float[] x, int budget)
    {
        var objective = new CountingObjective(TestProblems.Rosenbrock);
        while (optimizer.Iteration < budget && TestProblems.DistanceToOnes(x) > 1e-4f)
        {
            StepResult r = optimizer.Step(x, objective.Objective);
            Assert.True(float.IsFinite(r.Loss), $"loss became {r.Loss} at iteration {optimizer.Iteration}");
        }

        Assert.Equal(objective.Calls, optimizer.Evaluations);
        return optimizer.Iteration;
    }

    [Theory]
    [InlineData(LineSearch.None, 300)]       // measured: 108 iterations (float32; 61 in float64)
    [InlineData(LineSearch.StrongWolfe, 60)] // measured: 34 iterations, 43 evaluations (same as PyTorch's algorithm in float64)
    public void Rosenbrock2D_ReachesOptimum(LineSearch lineSearch, int budget)
    {
        float[] x = [-1.2f, 1f];
        var optimizer = Create(lineSearch);

        int iterations = MinimiseRosenbrock(optimizer, x, budget);

        Assert.True(TestProblems.DistanceToOnes(x) <= 1e-4f, $"x = ({x[0]}, {x[1]}) after {iterations} iterations");
    }

    [Theory]
    [InlineData(LineSearch.None)]        // measured: 5401 iterations / 5401 evaluations
    [InlineData(LineSearch.StrongWolfe)] // measured: 4843 iterations / 5591 evaluations
    public void ChainedRosenbrock1000_ReachesOptimum(LineSearch lineSearch)
    {
        float[] x = TestProblems.RosenbrockStart(1000);
        var optimizer = Create(lineSearch);

        int iterations = MinimiseRosenbrock(optimizer, x, 7000);

        Assert.True(TestProblems.DistanceToOnes(x) <= 1e-4f,
            $"max|x-1| = {TestProblems.DistanceToOnes(x)} after {iterations} iterations");
    }

    [Theory]
    [InlineData(LineSearch.None)]        // measured: 665 iterations
    [InlineData(LineSearch.StrongWolfe)] // measured: 664 iterations, 679 evaluations
    public void IllConditionedQuadratic_MuchFasterThanGradientDescent(LineSearch lineSearch)
    {
        const int n = 10_000;
        const float tolerance = 1e-4f;
        var q = new TestProblems.Quadratic(n, condition: 1e4);
        var objective = new CountingObjective(q.Evaluate);

        var x = new float[n];
        var optimizer = Create(lineSearch);
        while (optimizer.Iteration < 1000 && q.Error(x) > tolerance)
            optimizer.Step(x, objective.Objective);
        int lbfgsIterations = optimizer.Iteration;
        Assert.True(q.Error(x) <= tolerance, $"L-BFGS error {q.Error(x)} after {lbfgsIterations} iterations");

        // Gradient descent with the optimal fixed step 2/(λmin+λmax), given 10× as many iterations.
        var xg = new float[n];
        var g = new float[n];
        float step = 2f / (1f + 1e4f);
        for (int k = 0; k < 10 * lbfgsIterations; k++)
        {
            TensorPrimitives.Subtract(xg, q.Center, g); // g = λ ⊙ (x - c), vectorised to keep the test fast
            TensorPrimitives.Multiply(g, q.Lambda, g);
            TensorPrimitives.MultiplyAdd(g, -step, xg, xg);
        }

        Assert.True(q.Error(xg) > 100 * tolerance,
            $"gradient descent reached {q.Error(xg)} in {10 * lbfgsIterations} iterations; L-BFGS took {lbfgsIterations}");
    }

    [Fact]
    public void WithoutLineSearch_EveryStepEvaluatesOnce()
    {
        var q = new TestProblems.Quadratic(200, condition: 100);
        var objective = new CountingObjective(q.Evaluate);
        var x = new float[200];
        var optimizer = Create(LineSearch.None, history: 5);

        for (int k = 1; k <= 25; k++)
        {
            StepResult r = optimizer.Step(x, objective.Objective);
            Assert.Equal(1, r.Evaluations);
            Assert.Equal(k, objective.Calls);
            Assert.Equal(k, optimizer.Evaluations);
            Assert.Equal(k, optimizer.Iteration);
        }
    }

    [Fact]
    public void WithoutLineSearch_ReportsLossAtStartPoint()
    {
        var q = new TestProblems.Quadratic(100, condition: 10);
        var x = new float[100];
        var g = new float[100];
        var optimizer = Create(LineSearch.None);
        for (int k = 0; k < 5; k++)
        {
            float expected = q.Evaluate(x, g);
            StepResult r = optimizer.Step(x, q.Evaluate);
            Assert.Equal(expected, r.Loss);
            Assert.Equal(TensorPrimitives.Norm(g), r.GradientNorm);
        }
    }

    [Fact]
    public void WithLineSearch_ReportsLossAtNewPoint_AndReusesIt()
    {
        var objective = new CountingObjective(TestProblems.Rosenbrock);
        float[] x = TestProblems.RosenbrockStart(10);
        var g = new float[10];
        var optimizer = Create(LineSearch.StrongWolfe);
        int total = 0;
        for (int k = 0; k < 10; k++)
        {
            StepResult r = optimizer.Step(x, objective.Objective);
            total += r.Evaluations;
            Assert.Equal(TestProblems.Rosenbrock(x, g), r.Loss);
            Assert.True(r.Evaluations >= 1);
        }

        Assert.Equal(total, objective.Calls);
        Assert.Equal(total, optimizer.Evaluations);
    }

    [Fact]
    public void HistoryOfThree_WrapsAndConverges()
    {
        var q = new TestProblems.Quadratic(50, condition: 1e3, seed: 7);
        var x = new float[50];
        var optimizer = Create(LineSearch.None, history: 3);

        while (optimizer.Iteration < 2000 && q.Error(x) > 1e-4f)
            optimizer.Step(x, q.Evaluate);

        Assert.True(q.Error(x) <= 1e-4f, $"error {q.Error(x)} after {optimizer.Iteration} iterations");
        Assert.True(optimizer.Iteration > 3 * 3, "the ring buffer should have wrapped several times");
        Assert.Equal(3, optimizer.HistoryCount);
    }

    [Fact]
    public void RingBuffer_MatchesListBasedReferenceBitForBit_IncludingShrink()
    {
        var q = new TestProblems.Quadratic(64, condition: 1e3, seed: 3);
        var x = new float[64];
        var xr = new float[64];
        var optimizer = Create(LineSearch.None, history: 5);
        var reference = new ReferenceLbfgs(historySize: 5);

        for (int k = 0; k < 60; k++)
        {
            if (k == 23)
            {
                optimizer.ShrinkHistory(2);
                reference.Shrink(2);
            }

            optimizer.Step(x, q.Evaluate);
            reference.Step(xr, q.Evaluate);
            Assert.True(Bits(x).SequenceEqual(Bits(xr)), $"iterates differ after step {k + 1}");
        }
    }

    [Fact]
    public void ShrinkHistory_MidRun_ReleasesMemoryAndStillConverges()
    {
        const int n = 2000;
        var q = new TestProblems.Quadratic(n, condition: 1e3, seed: 5);
        var x = new float[n];
        var optimizer = Create(LineSearch.None, history: 10);
        long before = optimizer.EstimateMemoryBytes(n);
        Assert.Equal(0, optimizer.ShrinkHistory(10)); // no-op

        for (int k = 0; k < 15; k++)
            optimizer.Step(x, q.Evaluate);
        Assert.Equal(10, optimizer.HistoryCount);

        long released = optimizer.ShrinkHistory(3);

        Assert.Equal(2L * 7 * n * sizeof(float), released);
        Assert.Equal(3, optimizer.HistorySize);
        Assert.Equal(3, optimizer.HistoryCount);
        Assert.True(optimizer.EstimateMemoryBytes(n) < before);
        Assert.Throws<ArgumentOutOfRangeException>(() => optimizer.ShrinkHistory(4));
        Assert.Throws<ArgumentOutOfRangeException>(() => optimizer.ShrinkHistory(0));

        while (optimizer.Iteration < 3000 && q.Error(x) > 1e-4f)
            optimizer.Step(x, q.Evaluate);
        Assert.True(q.Error(x) <= 1e-4f, $"error {q.Error(x)} after {optimizer.Iteration} iterations");
    }

    [Fact]
    public void ShrinkHistory_BeforeFirstStep_LowersAllocation()
    {
        var optimizer = Create(LineSearch.None, history: 100);
        long full = optimizer.EstimateMemoryBytes(1_000_000);
        Assert.Equal(0, optimizer.ShrinkHistory(5));
        Assert.Equal(5, optimizer.HistorySize);
        long small = optimizer.EstimateMemoryBytes(1_000_000);
        Assert.True(full >= 203L * 4_000_000, $"estimate {full}");
        Assert.True(small < 14L * 4_000_000 && small >= 13L * 4_000_000, $"estimate {small}");
    }

    [Theory]
    [InlineData(LineSearch.None)]
    [InlineData(LineSearch.StrongWolfe)]
    public void Step_DoesNotAllocateAfterFirstCall(LineSearch lineSearch)
    {
        const int n = 100_000;
        var q = new TestProblems.Quadratic(n, condition: 100);
        Objective objective = q.Evaluate;
        var x = new float[n];
        var optimizer = Create(lineSearch, history: 4);
        optimizer.Step(x, objective);
        optimizer.Step(x, objective);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int k = 0; k < 8; k++) // wraps the 4-slot history
            optimizer.Step(x, objective);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(allocated < 10_000, $"allocated {allocated} bytes in 8 steps");
    }

    [Theory]
    [InlineData(LineSearch.None)]
    [InlineData(LineSearch.StrongWolfe)]
    public void SameInputs_GiveBitwiseIdenticalResults(LineSearch lineSearch)
    {
        float[] Run()
        {
            float[] x = TestProblems.RosenbrockStart(300);
            var optimizer = Create(lineSearch, history: 7);
            for (int k = 0; k < 60; k++)
                optimizer.Step(x, TestProblems.Rosenbrock);
            return x;
        }

        Assert.True(Bits(Run()).SequenceEqual(Bits(Run())));
    }

    [Fact]
    public void Reset_RestartsFromScratch()
    {
        float[] x1 = TestProblems.RosenbrockStart(20);
        var optimizer = Create(LineSearch.None, history: 5);
        for (int k = 0; k < 10; k++)
            optimizer.Step(x1, TestProblems.Rosenbrock);

        optimizer.Reset();
        Assert.Equal(0, optimizer.Iteration);
        Assert.Equal(0, optimizer.Evaluations);
        Assert.Equal(0, optimizer.HistoryCount);

        float[] x2 = TestProblems.RosenbrockStart(20);
        var fresh = Create(LineSearch.None, history: 5);
        float[] x3 = TestProblems.RosenbrockStart(20);
        for (int k = 0; k < 10; k++)
        {
            optimizer.Step(x2, TestProblems.Rosenbrock);
            fresh.Step(x3, TestProblems.Rosenbrock);
        }

        Assert.True(Bits(x2).SequenceEqual(Bits(x3)));
    }

    [Fact]
    public void LengthChangeWithoutReset_Throws()
    {
        var optimizer = Create(LineSearch.None, history: 2);
        optimizer.Step(new float[10], TestProblems.Rosenbrock);
        Assert.Throws<ArgumentException>(() => optimizer.Step(new float[11], TestProblems.Rosenbrock));
        optimizer.Reset();
        optimizer.Step(new float[11], TestProblems.Rosenbrock); // allowed after Reset
        Assert.Throws<ArgumentException>(() => optimizer.Step(Span<float>.Empty, TestProblems.Rosenbrock));
    }

    [Theory]
    [InlineData(LineSearch.None)]
    [InlineData(LineSearch.StrongWolfe)]
    public void ConvergedAtOptimum_FlagsConvergence_AndDoesNotReevaluate(LineSearch lineSearch)
    {
        // Well-conditioned quadratic centred at 0: float32 can reach max|g| ≤ 1e-5.
        var objective = new CountingObjective((x, g) =>
        {
            double f = 0;
            for (int i = 0; i < x.Length; i++)
            {
                float a = 1 + i % 4;
                g[i] = a * x[i];
                f += 0.5 * a * x[i] * x[i];
            }

            return (float)f;
        });
        float[] x = Enumerable.Range(0, 40).Select(i => (float)Math.Sin(i) * 3).ToArray();
        var optimizer = Create(lineSearch);

        StepResult r = default;
        while (optimizer.Iteration < 200 && !r.Converged)
            r = optimizer.Step(x, objective.Objective);

        Assert.True(r.Converged, $"not converged after {optimizer.Iteration} iterations");
        Assert.True(MathF.Abs(TensorPrimitives.MaxMagnitude(x)) < 1e-4f);

        // Once max|g| is below the tolerance, further steps neither move x nor call the objective again.
        r = optimizer.Step(x, objective.Objective);
        float[] snapshot = (float[])x.Clone();
        int calls = objective.Calls;
        StepResult again = optimizer.Step(x, objective.Objective);
        Assert.True(again.Converged);
        Assert.Equal(0, again.Evaluations);
        Assert.Equal(calls, objective.Calls);
        Assert.True(Bits(x).SequenceEqual(Bits(snapshot)));
    }

    [Fact]
    public void NonFiniteLoss_LeavesParametersUntouched()
    {
        var optimizer = Create(LineSearch.None);
        float[] x = [1f, 2f, 3f];
        StepResult r = optimizer.Step(x, (_, g) => { g.Fill(1f); return float.NaN; });
        Assert.True(float.IsNaN(r.Loss));
        Assert.False(r.Converged);
        Assert.Equal([1f, 2f, 3f], x);

        r = optimizer.Step(x, (_, g) => { g[1] = float.PositiveInfinity; return 1f; });
        Assert.Equal([1f, 2f, 3f], x);
    }

    [Fact]
    public void InvalidOptions_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new LbfgsOptimizer(new LbfgsOptions { HistorySize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LbfgsOptimizer(new LbfgsOptions { LearningRate = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LbfgsOptimizer(new LbfgsOptions { LearningRate = float.NaN }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LbfgsOptimizer(new LbfgsOptions { LineSearch = (LineSearch)7 }));
    }

    [Fact]
    public void Defaults_FollowNeuralStyle()
    {
        var options = new LbfgsOptions();
        Assert.Equal(100, options.HistorySize);
        Assert.Equal(1f, options.LearningRate);
        Assert.Equal(LineSearch.None, options.LineSearch);
        Assert.Equal(1e-5f, options.GradientTolerance);
        Assert.Equal(1e-9f, options.StepTolerance);
    }

    internal static ReadOnlySpan<int> Bits(float[] values) => MemoryMarshal.Cast<float, int>(values);
}
