#nullable enable
using MLStyle.Optimization;

namespace MLStyle.Tests.Optimization;

/// <summary>Deterministic test objectives (allocation-free once constructed) that count their calls.</summary>
internal sealed class CountingObjective
{
    private readonly Func<ReadOnlySpan<float>, Span<float>, float> _f;

    public CountingObjective(Func<ReadOnlySpan<float>, Span<float>, float> f)
    {
        _f = f;
        Objective = Evaluate;
    }

    /// <summary>Cached delegate (creating it per call would allocate).</summary>
    public Objective Objective { get; }

    public int Calls { get; private set; }

    private float Evaluate(ReadOnlySpan<float> x, Span<float> g)
    {
        Calls++;
        return _f(x, g);
    }
}

internal static class TestProblems
{
    /// <summary>Chained Rosenbrock: Σ 100(x[i+1] - x[i]²)² + (1 - x[i])²; minimum 0 at all ones. Accumulates in double.</summary>
    public static float Rosenbrock(ReadOnlySpan<float> x, Span<float> g)
    {
        double f = 0;
        g.Clear();
        for (int i = 0; i < x.Length - 1; i++)
        {
            double xi = x[i], xn = x[i + 1];
            double r = xn - xi * xi;
            double a = 1 - xi;
            f += 100 * r * r + a * a;
            g[i] += (float)(-400 * xi * r - 2 * a);
            g[i + 1] += (float)(200 * r);
        }

        return (float)f;
    }

    /// <summary>Standard start: -1.2 at even, 1 at odd indices.</summary>
    public static float[] RosenbrockStart(int n)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++)
            x[i] = i % 2 == 0 ? -1.2f : 1f;
        return x;
    }

    /// <summary>Diagonal quadratic 0.5 Σ λᵢ (xᵢ - cᵢ)² with λ log-spaced in [1, condition].</summary>
    public sealed class Quadratic
    {
        public Quadratic(int n, double condition, int seed = 1)
        {
            Lambda = new float[n];
            Center = new float[n];
            var rng = new Random(seed);
            for (int i = 0; i < n; i++)
            {
                Lambda[i] = (float)Math.Pow(condition, n == 1 ? 0 : (double)i / (n - 1));
                Center[i] = (float)(rng.NextDouble() * 2 - 1);
            }

            // Shuffle the eigenvalues so they are not sorted along x.
            rng.Shuffle(Lambda);
        }

        public float[] Lambda { get; }

        public float[] Center { get; }

        public float Evaluate(ReadOnlySpan<float> x, Span<float> g)
        {
            double f = 0;
            for (int i = 0; i < x.Length; i++)
            {
                double diff = (double)x[i] - Center[i];
                f += 0.5 * Lambda[i] * diff * diff;
                g[i] = (float)(Lambda[i] * diff);
            }

            return (float)f;
        }

        /// <summary>max |x - c|.</summary>
        public float Error(ReadOnlySpan<float> x)
        {
            float e = 0;
            for (int i = 0; i < x.Length; i++)
                e = MathF.Max(e, MathF.Abs(x[i] - Center[i]));
            return e;
        }
    }

    /// <summary>max |x - 1|.</summary>
    public static float DistanceToOnes(ReadOnlySpan<float> x)
    {
        float e = 0;
        foreach (float v in x)
            e = MathF.Max(e, MathF.Abs(v - 1f));
        return e;
    }
}
