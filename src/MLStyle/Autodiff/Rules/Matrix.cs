using MLStyle.Onnx;

namespace MLStyle.Autodiff;

// MatMul and Gemm.
public static partial class GradientRules
{
    static void RegisterMatrix(Dictionary<string, GradientRule> d)
    {
        d["MatMul"] = c =>
        {
            var b = c.B;
            var a = c.X(0); var m = c.X(1);
            if (b.Rank(a) < 2 || b.Rank(m) < 2) throw c.Unsupported("MatMul with a 1-D operand");
            var g = c.Grads();
            if (c.Needs(0) && IsTransposeOf(b, m, a))
            {
                // A Gram product Y = A·Aᵀ: both paths to A in one product, dA = (dY + dYᵀ)·A, instead of dY·A plus the
                // transpose of Aᵀ·dY (a second product as large as A, and a transpose of it). The Transpose node gets no
                // gradient from here; its other consumers, if any, still send theirs through it.
                g[0] = b.ReduceToShape(b.MatMul(b.Add(c.DY, b.TransposeLast2(c.DY)), a), a);
                return g;
            }
            if (c.Needs(0)) g[0] = b.ReduceToShape(b.MatMul(c.DY, b.TransposeLast2(m)), a);
            if (c.Needs(1)) g[1] = b.ReduceToShape(b.MatMul(b.TransposeLast2(a), c.DY), m);
            return g;
        };
        d["Gemm"] = c =>
        {
            var b = c.B;
            var n = c.Node;
            float alpha = n.GetFloat("alpha", 1f), beta = n.GetFloat("beta", 1f);
            bool ta = n.GetInt("transA", 0) != 0, tb = n.GetInt("transB", 0) != 0;
            var a = c.X(0); var m = c.X(1);
            var dy = c.DY;
            var g = c.Grads();
            if (c.Needs(0))
            {
                // Y = α·A'·B' with A' = op(A): dA' = α·dY·B'ᵀ; dA = dA' or dA'ᵀ.
                var bT = tb ? m : b.Transpose(m, 1, 0);             // B'ᵀ
                var dA = b.MatMul(dy, bT);
                if (ta) dA = b.Transpose(dA, 1, 0);
                g[0] = b.Mul(dA, alpha);
            }
            if (c.Needs(1))
            {
                var aT = ta ? a : b.Transpose(a, 1, 0);             // A'ᵀ
                var dB = b.MatMul(aT, dy);
                if (tb) dB = b.Transpose(dB, 1, 0);
                g[1] = b.Mul(dB, alpha);
            }
            if (n.Input.Count > 2 && c.Needs(2)) g[2] = b.ReduceToShape(b.Mul(dy, beta), c.X(2));
            return g;
        };
    }

    /// <summary>Whether <paramref name="t"/> is the output of a Transpose of <paramref name="x"/> that swaps its last two axes only.</summary>
    static bool IsTransposeOf(GraphBuilder b, string t, string x)
    {
        var producer = b.Graph.Node.FirstOrDefault(n => n.Output.Contains(t));
        if (producer is not { OpType: "Transpose" } || producer.Input[0] != x) return false;
        var perm = producer.Attribute.FirstOrDefault(a => a.Name == "perm")?.Ints;
        int r = perm?.Count ?? 0;
        if (r < 2) return false;
        for (int i = 0; i < r - 2; i++) if (perm![i] != i) return false;
        return perm![r - 2] == r - 1 && perm[r - 1] == r - 2;
    }
}