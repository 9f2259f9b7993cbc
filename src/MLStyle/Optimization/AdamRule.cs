using System.Numerics.Tensors;
using MLStyle.Onnx;

namespace MLStyle.Optimization;

/// <summary>
/// The Adam update (Kingma and Ba 2015, with bias correction, as <c>torch.optim.Adam</c> without weight decay), the one
/// definition MLStyle uses: on spans (<see cref="Update"/>: <see cref="AdamOptimizer"/>, the dense-network trainer) and as
/// ONNX nodes (<see cref="Emit"/>: optimisation loops inside a model). Step t (from 1):
/// <c>m ← β₁m + (1−β₁)g</c>, <c>v ← β₂v + (1−β₂)g²</c>, <c>x ← x − s_t · m / (√v / c_t + ε)</c> with
/// <c>s_t = lr / (1−β₁ᵗ)</c> and <c>c_t = √(1−β₂ᵗ)</c> (<see cref="Coefficients"/>). Both forms perform the same operations
/// in the same order with the same coefficients; they agree to rounding (the span form's first-moment update is
/// <c>TensorPrimitives.Lerp</c>, which may fuse its multiply-add).
/// </summary>
/// <param name="LearningRate">Step size lr.</param>
/// <param name="Beta1">Decay of the first moment.</param>
/// <param name="Beta2">Decay of the second moment.</param>
/// <param name="Epsilon">Added to the bias-corrected RMS.</param>
public readonly record struct AdamRule(float LearningRate, float Beta1 = 0.9f, float Beta2 = 0.999f, float Epsilon = 1e-8f)
{
    /// <summary>The bias-corrected step size s_t and √(1−β₂ᵗ) of step <paramref name="t"/> (from 1), computed in double.</summary>
    public (float StepSize, float SecondMomentScale) Coefficients(long t) =>
        ((float)(LearningRate / (1 - Math.Pow(Beta1, t))), (float)Math.Sqrt(1 - Math.Pow(Beta2, t)));

    /// <summary>
    /// Step <paramref name="t"/> (from 1) in place: updates <paramref name="m"/>, <paramref name="v"/> and <paramref name="x"/>;
    /// <paramref name="g"/> is used as scratch and overwritten.
    /// </summary>
    public void Update(Span<float> x, Span<float> g, Span<float> m, Span<float> v, long t)
    {
        var (stepSize, scale) = Coefficients(t);
        TensorPrimitives.Lerp(m, g, 1f - Beta1, m);          // m = β₁m + (1-β₁)g
        TensorPrimitives.Multiply(g, g, g);                  // g := g²
        TensorPrimitives.Multiply(v, Beta2, v);
        TensorPrimitives.MultiplyAdd(g, 1f - Beta2, v, v);   // v = β₂v + (1-β₂)g²
        Span<float> q = g;                                   // reuse the gradient buffer
        TensorPrimitives.Sqrt(v, q);
        TensorPrimitives.Divide(q, scale, q);
        TensorPrimitives.Add(q, Epsilon, q);
        TensorPrimitives.Divide(m, q, q);                    // m / (√v / c + ε)
        TensorPrimitives.MultiplyAdd(q, -stepSize, x, x);    // x -= s · m / (√v / c + ε)
    }

    /// <summary>
    /// Emits the step as ONNX nodes: returns (x', m', v') for the int64 scalar <paramref name="iteration"/> (from 0, as an ONNX
    /// <c>Loop</c> counts). The coefficients of iterations 0 … <paramref name="iterations"/>−1 are a table computed by
    /// <see cref="Coefficients"/> and gathered by the iteration.
    /// </summary>
    public (string X, string M, string V) Emit(GraphBuilder b, string iteration, int iterations, string x, string g, string m, string v)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        var rule = this;
        var table = Enumerable.Range(1, iterations).Select(t => rule.Coefficients(t)).ToArray();
        string Coefficient(float[] values, string hint)
        {
            var c = b.Node("Gather", new[] { b.Constant(values, new long[] { iterations }, hint), iteration }, null, ("axis", 0L));
            b.SetInfo(c, TensorInfo.Float());
            return c;
        }
        var stepSize = Coefficient(table.Select(c => c.StepSize).ToArray(), "adam_step_size");
        var scale = Coefficient(table.Select(c => c.SecondMomentScale).ToArray(), "adam_second_moment_scale");
        var info = b.Info(x);
        var m2 = b.Add(b.Mul(m, Beta1), b.Mul(g, 1f - Beta1));
        var v2 = b.Add(b.Mul(v, Beta2), b.Mul(b.Square(g), 1f - Beta2));
        var q = b.Div(m2, b.Add(b.Div(b.Sqrt(v2), scale), b.Scalar(Epsilon)));
        var x2 = b.Add(b.Mul(q, b.Neg(stepSize)), x);
        foreach (var n in new[] { m2, v2, x2 }) if (info is not null) b.SetInfo(n, info);
        return (x2, m2, v2);
    }
}
