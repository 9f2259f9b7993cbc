using MLStyle.Onnx;

namespace MLStyle.Autodiff;

// ReduceSum, ReduceMean, ReduceMax, Softmax, LogSoftmax.
public static partial class GradientRules
{
    static void RegisterReduction(Dictionary<string, GradientRule> d)
    {
        d["ReduceSum"] = c => ReduceRule(c, mean: false);
        d["ReduceMean"] = c => ReduceRule(c, mean: true);
        d["ReduceMax"] = ReduceMaxRule;
        d["Softmax"] = c =>
        {
            var b = c.B;
            var y = c.Y();
            long axis = c.Node.GetInt("axis", -1);
            var dot = b.ReduceSum(b.Mul(c.DY, y), new[] { axis }, keepdims: true);
            return new[] { b.Mul(y, b.Sub(c.DY, dot)) };
        };
        d["LogSoftmax"] = c =>
        {
            var b = c.B;
            long axis = c.Node.GetInt("axis", -1);
            var sum = b.ReduceSum(c.DY, new[] { axis }, keepdims: true);
            return new[] { b.Sub(c.DY, b.Mul(b.Exp(c.Y()), sum)) };
        };
    }

    /// <summary>
    /// ReduceMax: the gradient flows to the maximal entries, shared equally between ties (a subgradient, as PyTorch's amax).
    /// </summary>
    static string?[] ReduceMaxRule(GradientContext c)
    {
        var b = c.B;
        var x = c.X(0);
        int rank = b.Rank(x);
        var axes = ReduceAxes(c, rank);
        if (axes is null) return new[] { c.DY, null };
        var y = KeepDims(c, c.Y(), axes);
        var dy = KeepDims(c, c.DY, axes);
        var mask = b.Cast(b.Equal(x, y), ElementType.Float);
        var ties = b.ReduceSum(mask, axes, keepdims: true);
        var g = c.Grads();
        g[0] = b.Mul(mask, b.Div(dy, ties));
        return g;
    }

    /// <summary>The (sorted, non-negative) axes a Reduce* node reduces, or null for a no-op reduction.</summary>
    static long[]? ReduceAxes(GradientContext c, int rank)
    {
        var n = c.Node;
        long[]? axes = n.GetInts("axes");
        if (axes is null && n.Input.Count > 1 && n.Input[1].Length > 0)
            axes = TensorProtos.ToInt64s(c.B.ConstantValue(n.Input[1]) ?? throw c.Unsupported("non-constant axes"));
        if (axes is null || axes.Length == 0)
        {
            if (n.GetInt("noop_with_empty_axes", 0) != 0) return null;
            axes = Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        }
        return axes.Select(a => a < 0 ? a + rank : a).OrderBy(a => a).ToArray();
    }

    /// <summary>A reduced tensor <paramref name="t"/> with its reduced axes restored as size 1 (a no-op for keepdims=1).</summary>
    static string KeepDims(GradientContext c, string t, long[] axes)
    {
        var b = c.B;
        if (c.Node.GetInt("keepdims", 1) != 0) return t;
        var x = c.X(0);
        int rank = b.Rank(x);
        var xd = b.Dims(x);
        if (xd is not null && Enumerable.Range(0, rank).All(i => axes.Contains(i) || xd[i] >= 0))
            return b.Reshape(t, Enumerable.Range(0, rank).Select(i => axes.Contains(i) ? 1L : xd[i]).ToArray());
        return b.Node("Unsqueeze", new[] { t, b.Ints(axes) });
    }

    static string?[] ReduceRule(GradientContext c, bool mean)
    {
        var b = c.B;
        var n = c.Node;
        var x = c.X(0);
        int rank = b.Rank(x);
        long[]? axes = n.GetInts("axes");
        if (axes is null && n.Input.Count > 1 && n.Input[1].Length > 0)
            axes = TensorProtos.ToInt64s(b.ConstantValue(n.Input[1]) ?? throw c.Unsupported("non-constant axes"));
        bool keep = n.GetInt("keepdims", 1) != 0;
        if (axes is null || axes.Length == 0)
        {
            if (n.GetInt("noop_with_empty_axes", 0) != 0) return new[] { c.DY, null };
            axes = Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        }
        axes = axes.Select(a => a < 0 ? a + rank : a).OrderBy(a => a).ToArray();
        var dy = c.DY;
        if (!keep)
        {
            var kd = Enumerable.Range(0, rank).Select(i => axes.Contains(i) ? 1L : -2L).ToArray();
            var xd = b.Dims(x);
            if (xd is not null && Enumerable.Range(0, rank).All(i => axes.Contains(i) || xd[i] >= 0))
                dy = b.Reshape(dy, Enumerable.Range(0, rank).Select(i => axes.Contains(i) ? 1L : xd[i]).ToArray());
            else
                dy = b.Node("Unsqueeze", new[] { dy, b.Ints(axes) });
        }
        var dx = b.ExpandLike(dy, x);
        if (mean)
        {
            var xd = b.Dims(x);
            string count;
            if (xd is not null && axes.All(a => xd[a] >= 0)) count = b.Scalar(axes.Aggregate(1L, (p, a) => p * xd[a]));
            else
            {
                var dims = b.Node("Gather", new[] { b.ShapeOf(x), b.Ints(axes) }, null, ("axis", 0L));
                count = b.Cast(b.Node("ReduceProd", new[] { dims }, null, ("keepdims", 0)), ElementType.Float);
            }
            dx = b.Div(dx, count);
        }
        var g = c.Grads();
        g[0] = dx;
        return g;
    }
}
