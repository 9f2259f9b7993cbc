using MLStyle.Onnx;

namespace MLStyle.Autodiff;

// BatchNormalization (inference) and InstanceNormalization.
public static partial class GradientRules
{
    static void RegisterNormalization(Dictionary<string, GradientRule> d)
    {
        d["BatchNormalization"] = BatchNormRule;
        d["InstanceNormalization"] = InstanceNormRule;
    }

    /// <summary>Reshapes a per-channel vector [C] to [1, C, 1, …] for broadcasting against a rank-r tensor.</summary>
    static string PerChannel(GraphBuilder b, string v, int rank) =>
        b.Reshape(v, new long[] { 1, -1 }.Concat(Enumerable.Repeat(1L, rank - 2)).ToArray());

    static long[] NonChannelAxes(int rank) => new long[] { 0 }.Concat(Enumerable.Range(2, rank - 2).Select(i => (long)i)).ToArray();

    static string?[] BatchNormRule(GradientContext c)
    {
        var b = c.B;
        var n = c.Node;
        if (n.GetInt("training_mode", 0) != 0) throw c.Unsupported("training_mode=1");
        float eps = n.GetFloat("epsilon", 1e-5f);
        var x = c.X(0);
        int rank = b.Rank(x);
        var dy = c.DY;
        var g = c.Grads();
        string? a = null; // scale / sqrt(var + eps), shaped [1,C,1,1]
        var scaleT = b.ConstantValue(c.X(1)); var varT = b.ConstantValue(c.X(4));
        if (scaleT is not null && varT is not null && !c.Needs(1) && !c.Needs(4))
        {
            var sc = TensorProtos.ToFloats(scaleT); var va = TensorProtos.ToFloats(varT);
            var av = sc.Select((s, i) => s / MathF.Sqrt(va[i] + eps)).ToArray();
            a = b.Constant(av, new long[] { 1, av.Length }.Concat(Enumerable.Repeat(1L, rank - 2)).ToArray(), "bn_grad_scale");
        }
        string invStd() => b.Div(b.Scalar(1f), b.Sqrt(b.Add(PerChannel(b, c.X(4), rank), b.Scalar(eps))));
        a ??= b.Mul(PerChannel(b, c.X(1), rank), invStd());
        if (c.Needs(0)) g[0] = b.Mul(dy, a);
        var axes = NonChannelAxes(rank);
        if (c.Needs(2)) g[2] = b.ReduceSum(dy, axes, keepdims: false);
        if (c.Needs(1) || c.Needs(3) || c.Needs(4))
        {
            var centered = b.Sub(x, PerChannel(b, c.X(3), rank));
            var inv = invStd();
            if (c.Needs(1)) g[1] = b.ReduceSum(b.Mul(dy, b.Mul(centered, inv)), axes, keepdims: false);
            if (c.Needs(3)) g[3] = b.Neg(b.ReduceSum(b.Mul(dy, a), axes, keepdims: false));
            if (c.Needs(4))
            {
                // dVar = Σ dy·scale·(x−mean)·(−½)(var+ε)^(−3/2)
                var inv3 = b.Mul(inv, b.Mul(inv, inv));
                var t = b.Mul(b.Mul(dy, PerChannel(b, c.X(1), rank)), b.Mul(centered, b.Mul(inv3, -0.5f)));
                g[4] = b.ReduceSum(t, axes, keepdims: false);
            }
        }
        return g;
    }

    static string?[] InstanceNormRule(GradientContext c)
    {
        var b = c.B;
        float eps = c.Node.GetFloat("epsilon", 1e-5f);
        var x = c.X(0);
        int rank = b.Rank(x);
        var sp = Enumerable.Range(2, rank - 2).Select(i => (long)i).ToArray();
        var dy = c.DY;
        var mean = b.ReduceMean(x, sp, keepdims: true);
        var xc = b.Sub(x, mean);
        var variance = b.ReduceMean(b.Square(xc), sp, keepdims: true);
        var inv = b.Div(b.Scalar(1f), b.Sqrt(b.Add(variance, b.Scalar(eps))));
        var xhat = b.Mul(xc, inv);
        var g = c.Grads();
        if (c.Needs(0))
        {
            var gamma = PerChannel(b, c.X(1), rank);
            var meanDy = b.ReduceMean(dy, sp, keepdims: true);
            var meanDyXhat = b.ReduceMean(b.Mul(dy, xhat), sp, keepdims: true);
            var inner = b.Sub(b.Sub(dy, meanDy), b.Mul(xhat, meanDyXhat));
            g[0] = b.Mul(b.Mul(gamma, inv), inner);
        }
        var axes = NonChannelAxes(rank);
        if (c.Needs(1)) g[1] = b.ReduceSum(b.Mul(dy, xhat), axes, keepdims: false);
        if (c.Needs(2)) g[2] = b.ReduceSum(dy, axes, keepdims: false);
        return g;
    }
}
