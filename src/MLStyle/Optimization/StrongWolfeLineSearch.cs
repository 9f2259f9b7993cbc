#nullable enable
using System.Numerics.Tensors;

namespace MLStyle.Optimization;

/// <summary>
/// The strong-Wolfe line search of <see cref="LbfgsOptimizer"/>, a port of PyTorch's <c>_strong_wolfe</c> (bracketing by
/// cubic extrapolation, then zooming by cubic interpolation; at most 25 evaluations, c₁ = 1e-4, c₂ = 0.9).
/// </summary>
internal static class StrongWolfeLineSearch
{
    const int MaxEvaluations = 25; // PyTorch `max_ls`
    const double WolfeC1 = 1e-4;
    const double WolfeC2 = 0.9;

    /// <summary>
    /// The loss and directional derivative at x = x0 + t·d (the gradient goes to <paramref name="gradient"/>); non-finite
    /// values become +∞ for both, which the search treats as "step too long".
    /// </summary>
    static (double F, double Gtd) Trial(Span<float> x, Objective objective, float[] x0, float[] d, double t, float[] gradient, ref int evals)
    {
        TensorPrimitives.MultiplyAdd(d, (float)t, x0, x);
        evals++;
        gradient.AsSpan().Clear();
        double f = objective(x, gradient);
        double gtd = TensorPrimitives.Dot(gradient, d);
        return double.IsFinite(f) && double.IsFinite(gtd) ? (f, gtd) : (double.PositiveInfinity, double.PositiveInfinity);
    }

    /// <summary>A trial-gradient buffer of <paramref name="pool"/> not referenced by <paramref name="a"/> or <paramref name="b"/>.</summary>
    static float[] FreeBuffer(float[][] pool, float[]? a, float[]? b)
    {
        foreach (float[] buffer in pool)
        {
            if (!ReferenceEquals(buffer, a) && !ReferenceEquals(buffer, b))
                return buffer;
        }

        throw new InvalidOperationException("No free line-search buffer."); // unreachable: 3 buffers, 2 references
    }

    /// <summary>
    /// Searches along <paramref name="d"/> from <paramref name="x0"/> (loss <paramref name="f0"/>, gradient <paramref name="g0"/>,
    /// directional derivative <paramref name="gtd0"/>) starting with step <paramref name="t0"/>; trial points are written to
    /// <paramref name="x"/> and their gradients to free buffers of <paramref name="pool"/> (three buffers). Returns the step,
    /// its loss and the buffer holding its gradient (<paramref name="g0"/> when no step was better). Counts evaluations in
    /// <paramref name="evals"/>.
    /// </summary>
    public static (float T, float F, float[] G) Search(Span<float> x, Objective objective, float[] x0, float[] d, float[] g0, float[][] pool,
        double tolChange, float f0, float gtd0, float t0, ref int evals)
    {
        double dNorm = MathF.Abs(TensorPrimitives.MaxMagnitude(d));
        double f = f0;
        double gtd = gtd0;
        double t = t0;

        float[] gNew = FreeBuffer(pool, null, null);
        var (fNew, gtdNew) = Trial(x, objective, x0, d, t, gNew, ref evals);

        double tPrev = 0, fPrev = f, gtdPrev = gtd;
        float[] gPrev = g0;
        bool done = false;
        int lsIter = 0;

        Span<double> bt = stackalloc double[2];
        Span<double> bf = stackalloc double[2];
        Span<double> bgtd = stackalloc double[2];
        float[] bg0 = g0, bg1 = g0;

        while (lsIter < MaxEvaluations)
        {
            if (fNew > f + WolfeC1 * t * gtd || (lsIter > 1 && fNew >= fPrev))
            {
                SetBracket(bt, bf, bgtd, tPrev, fPrev, gtdPrev, t, fNew, gtdNew);
                bg0 = gPrev;
                bg1 = gNew;
                break;
            }

            if (Math.Abs(gtdNew) <= -WolfeC2 * gtd)
            {
                SetBracket(bt, bf, bgtd, t, fNew, gtdNew, t, fNew, gtdNew);
                bg0 = bg1 = gNew;
                done = true;
                break;
            }

            if (gtdNew >= 0)
            {
                SetBracket(bt, bf, bgtd, tPrev, fPrev, gtdPrev, t, fNew, gtdNew);
                bg0 = gPrev;
                bg1 = gNew;
                break;
            }

            // Extrapolate.
            double minStep = t + 0.01 * (t - tPrev);
            double maxStep = t * 10;
            double tmp = t;
            t = CubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, minStep, maxStep);

            tPrev = tmp;
            fPrev = fNew;
            gPrev = gNew;
            gtdPrev = gtdNew;
            gNew = FreeBuffer(pool, gPrev, null);
            (fNew, gtdNew) = Trial(x, objective, x0, d, t, gNew, ref evals);
            lsIter++;
        }

        if (lsIter == MaxEvaluations)
        {
            SetBracket(bt, bf, bgtd, 0, f, gtd, t, fNew, gtdNew);
            bg0 = g0;
            bg1 = gNew;
        }

        // Zoom phase.
        bool insufficientProgress = false;
        int low = bf[0] <= bf[1] ? 0 : 1;
        int high = 1 - low;
        while (!done && lsIter < MaxEvaluations)
        {
            if (Math.Abs(bt[1] - bt[0]) * dNorm < tolChange)
                break;

            double lo = Math.Min(bt[0], bt[1]);
            double hi = Math.Max(bt[0], bt[1]);
            t = CubicInterpolate(bt[0], bf[0], bgtd[0], bt[1], bf[1], bgtd[1], lo, hi);

            // Keep the trial point away from the bracket ends when progress is poor.
            double eps = 0.1 * (hi - lo);
            if (Math.Min(hi - t, t - lo) < eps)
            {
                if (insufficientProgress || t >= hi || t <= lo)
                {
                    t = Math.Abs(t - hi) < Math.Abs(t - lo) ? hi - eps : lo + eps;
                    insufficientProgress = false;
                }
                else
                {
                    insufficientProgress = true;
                }
            }
            else
            {
                insufficientProgress = false;
            }

            gNew = FreeBuffer(pool, bg0, bg1);
            (fNew, gtdNew) = Trial(x, objective, x0, d, t, gNew, ref evals);
            lsIter++;

            if (fNew > f + WolfeC1 * t * gtd || fNew >= bf[low])
            {
                // Armijo fails or not lower than the lowest point: new high.
                bt[high] = t;
                bf[high] = fNew;
                bgtd[high] = gtdNew;
                if (high == 0) bg0 = gNew; else bg1 = gNew;
                low = bf[0] <= bf[1] ? 0 : 1;
                high = 1 - low;
            }
            else
            {
                if (Math.Abs(gtdNew) <= -WolfeC2 * gtd)
                {
                    done = true;
                }
                else if (gtdNew * (bt[high] - bt[low]) >= 0)
                {
                    // Old low becomes the new high.
                    bt[high] = bt[low];
                    bf[high] = bf[low];
                    bgtd[high] = bgtd[low];
                    if (high == 0) bg0 = bg1; else bg1 = bg0;
                }

                bt[low] = t;
                bf[low] = fNew;
                bgtd[low] = gtdNew;
                if (low == 0) bg0 = gNew; else bg1 = gNew;
            }
        }

        return ((float)bt[low], (float)bf[low], low == 0 ? bg0 : bg1);
    }

    static void SetBracket(Span<double> bt, Span<double> bf, Span<double> bgtd,
        double t0, double f0, double gtd0, double t1, double f1, double gtd1)
    {
        bt[0] = t0;
        bf[0] = f0;
        bgtd[0] = gtd0;
        bt[1] = t1;
        bf[1] = f1;
        bgtd[1] = gtd1;
    }

    /// <summary>Minimiser of the cubic through two points with derivatives, clamped to [lo, hi] (PyTorch's <c>_cubic_interpolate</c>).</summary>
    static double CubicInterpolate(double x1, double f1, double g1, double x2, double f2, double g2, double lo, double hi)
    {
        double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
        double d2Square = d1 * d1 - g1 * g2;
        if (d2Square >= 0)
        {
            double d2 = Math.Sqrt(d2Square);
            double minPos = x1 <= x2
                ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
            if (double.IsFinite(minPos))
                return Math.Min(Math.Max(minPos, lo), hi);
        }

        return (lo + hi) / 2.0;
    }
}
