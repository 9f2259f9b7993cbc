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
}
