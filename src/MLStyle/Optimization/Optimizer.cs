#nullable enable
using System.Numerics.Tensors;

namespace MLStyle.Optimization;

/// <summary>
/// Evaluates a scalar objective at <paramref name="x"/>, writes dL/dx into <paramref name="gradient"/>
/// and returns the loss.
/// </summary>
/// <param name="x">The point to evaluate (length n). Must not be retained after the call returns.</param>
/// <param name="gradient">
/// Destination for the gradient (length n). The optimisers zero it before every call, so an objective may either
/// overwrite it or accumulate (<c>+=</c>) into it.
/// </param>
/// <returns>The loss at <paramref name="x"/>.</returns>
public delegate float Objective(ReadOnlySpan<float> x, Span<float> gradient);

/// <summary>Outcome of one <see cref="Optimizer.Step"/> call.</summary>
/// <param name="Loss">
/// The loss reported by the step. Which point it belongs to depends on the optimiser (see the remarks of each
/// <c>Step</c> implementation): the point the step started from when the step evaluated it, or the new point when
/// the step's own evaluations (line search) already produced it.
/// </param>
/// <param name="GradientNorm">Euclidean norm of the gradient at the same point as <paramref name="Loss"/>.</param>
/// <param name="Evaluations">Number of objective calls made during this step.</param>
/// <param name="Converged">
/// True when a convergence criterion of the optimiser was met (gradient, step or loss-change tolerance); continuing
/// to step after this is allowed but pointless.
/// </param>
public readonly record struct StepResult(float Loss, float GradientNorm, int Evaluations, bool Converged);

/// <summary>
/// Base class of first-order optimisers that minimise a float32 objective over a flat parameter vector
/// (for style transfer: the pixels of the generated image). Buffers are allocated once, at the first
/// <see cref="Step"/>, and reused afterwards. Instances are not thread-safe.
/// </summary>
public abstract class Optimizer
{
    /// <summary>Number of completed <see cref="Step"/> calls since construction or the last <see cref="Reset"/>.</summary>
    public int Iteration { get; protected set; }

    /// <summary>Number of objective calls since construction or the last <see cref="Reset"/>.</summary>
    public int Evaluations { get; protected set; }

    /// <summary>
    /// Performs one optimiser iteration, updating <paramref name="x"/> in place. Between steps the caller must not
    /// modify <paramref name="x"/> (the optimiser keeps state about it); call <see cref="Reset"/> after doing so.
    /// </summary>
    /// <param name="x">The parameters; same length on every call until <see cref="Reset"/>.</param>
    /// <param name="objective">The function to minimise.</param>
    /// <returns>Loss, gradient norm and evaluation count of this step; see the derived class for which point the loss belongs to.</returns>
    /// <exception cref="ArgumentException"><paramref name="x"/> is empty or its length changed without <see cref="Reset"/>.</exception>
    public abstract StepResult Step(Span<float> x, Objective objective);

    /// <summary>
    /// Forgets all optimisation state (history, moments, cached evaluations, counters). Allocated buffers are kept
    /// and reused if the next run has the same parameter count.
    /// </summary>
    public abstract void Reset();

    /// <summary>
    /// Estimates the bytes this optimiser allocates for <paramref name="parameterCount"/> parameters with its
    /// current settings (for pre-flight memory checks). Excludes the parameter vector itself and the objective's memory.
    /// </summary>
    /// <param name="parameterCount">Length of the parameter vector.</param>
    /// <returns>Estimated managed bytes.</returns>
    public abstract long EstimateMemoryBytes(int parameterCount);

    /// <summary>Zeroes <paramref name="gradient"/>, calls the objective and counts the evaluation.</summary>
    /// <param name="objective">The objective.</param>
    /// <param name="x">The point.</param>
    /// <param name="gradient">The gradient destination.</param>
    /// <returns>The loss.</returns>
    protected float Evaluate(Objective objective, ReadOnlySpan<float> x, Span<float> gradient)
    {
        gradient.Clear();
        Evaluations++;
        return objective(x, gradient);
    }

    /// <summary>Sets <see cref="Iteration"/> and <see cref="Evaluations"/> back to zero.</summary>
    protected void ResetCounters()
    {
        Iteration = 0;
        Evaluations = 0;
    }

    /// <summary>Allocates an n-length float buffer without zeroing it (every buffer is written before it is read).</summary>
    /// <param name="n">Length.</param>
    /// <returns>The buffer.</returns>
    private protected static float[] AllocateBuffer(int n) => GC.AllocateUninitializedArray<float>(n);

    /// <summary>Checks the arguments of a step: an objective and a non-empty vector of the length the optimiser started with.</summary>
    private protected static void CheckStep(ReadOnlySpan<float> x, Objective objective, bool started, int n)
    {
        ArgumentNullException.ThrowIfNull(objective);
        if (x.IsEmpty)
            throw new ArgumentException("The parameter vector must not be empty.", nameof(x));
        if (started && x.Length != n)
            throw new ArgumentException(
                $"The parameter vector has length {x.Length} but this optimizer was started with length {n}; call Reset() first.", nameof(x));
    }

    /// <summary>
    /// Starts a step: checks the arguments (<paramref name="length"/>: the vector length the optimiser started with),
    /// lets <paramref name="buffers"/> allocate for x's length and name the gradient buffer, marks the run started, and
    /// returns the loss at <paramref name="x"/> with its gradient in that buffer (<see cref="LossAt"/>).
    /// </summary>
    private protected float BeginStep(Span<float> x, Objective objective, ref bool started, int length, Func<int, float[]> buffers,
        ref bool hasCache, float cachedLoss, out int evaluations)
    {
        CheckStep(x, objective, started, length);
        var gradient = buffers(x.Length);
        started = true;
        return LossAt(objective, x, gradient, ref hasCache, cachedLoss, out evaluations);
    }

    /// <summary>
    /// The result of a step that cannot move from the current point, counting the iteration: the loss or gradient there is
    /// not finite (not converged), or max|g| ≤ <paramref name="tolerance"/> (converged). Null when the step can go on.
    /// </summary>
    private protected StepResult? Stationary(float loss, ReadOnlySpan<float> g, float tolerance, int evaluations)
    {
        float maxAbsG = MathF.Abs(TensorPrimitives.MaxMagnitude(g));
        bool finite = float.IsFinite(loss) && float.IsFinite(maxAbsG);
        if (finite && maxAbsG > tolerance) return null;
        Iteration++;
        return new StepResult(loss, TensorPrimitives.Norm(g), evaluations, finite);
    }

    /// <summary>
    /// The loss at <paramref name="x"/> with its gradient in <paramref name="gradient"/>: the values cached by the previous
    /// step (then <paramref name="hasCache"/> is cleared and no evaluation is made), or one objective call.
    /// </summary>
    private protected float LossAt(Objective objective, ReadOnlySpan<float> x, Span<float> gradient, ref bool hasCache, float cachedLoss, out int evaluations)
    {
        if (hasCache)
        {
            hasCache = false;
            evaluations = 0;
            return cachedLoss;
        }
        evaluations = 1;
        return Evaluate(objective, x, gradient);
    }
}
