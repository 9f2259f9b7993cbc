using MLStyle.Onnx;

namespace MLStyle.Autodiff;

// Shape-changing operators: Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Concat, Slice, Pad, Expand.
public static partial class GradientRules
{
    static void RegisterStructure(Dictionary<string, GradientRule> d)
    {
        GradientRule reshapeBack = c =>
        {
            var g = c.Grads();
            g[0] = c.B.ReshapeLike(c.DY, c.X(0));
            return g;
        };
        d["Flatten"] = reshapeBack;
        d["Reshape"] = reshapeBack;
        d["Squeeze"] = reshapeBack;
        d["Unsqueeze"] = reshapeBack;
        d["Expand"] = c =>
        {
            var g = c.Grads();
            g[0] = c.B.ReduceToShape(c.DY, c.X(0));
            return g;
        };
        d["Transpose"] = c =>
        {
            var b = c.B;
            int r = b.Rank(c.X(0));
            var perm = c.Node.GetInts("perm") ?? Enumerable.Range(0, r).Reverse().Select(i => (long)i).ToArray();
            var inv = new long[r];
            for (int i = 0; i < r; i++) inv[perm[i]] = i;
            return new[] { b.Transpose(c.DY, inv) };
        };
        d["Concat"] = ConcatRule;
        d["Slice"] = SliceRule;
        d["Pad"] = PadRule;
    }

    static string?[] ConcatRule(GradientContext c)
    {
        var b = c.B;
        int rank = b.Rank(c.X(0));
        long axis = c.Node.GetInt("axis", 0);
        if (axis < 0) axis += rank;
        var sizes = c.Node.Input.Select(i => b.Dims(i)?[axis] ?? -1).ToArray();
        string split = sizes.All(s => s >= 0)
            ? b.Ints(sizes)
            : b.Concat(0, c.Node.Input.Select(i => b.ShapeSlice(i, (int)axis, (int)axis + 1)).ToArray());
        var parts = b.NodeMulti("Split", new[] { c.DY, split }, c.Node.Input.Count, "concat_dx", ("axis", axis));
        var g = c.Grads();
        for (int i = 0; i < parts.Length; i++) if (c.Needs(i)) g[i] = parts[i];
        return g;
    }

    /// <summary>A 1-D int64 tensor holding dimension <paramref name="axis"/> of <paramref name="x"/>.</summary>
    static string DimOf(GraphBuilder b, string x, int axis) => b.ShapeSlice(x, axis, axis + 1);

    static string?[] SliceRule(GradientContext c)
    {
        var b = c.B;
        var x = c.X(0);
        int rank = b.Rank(x);
        var xd = b.Dims(x)!;
        long[] Const(int i, string what) => i < c.Node.Input.Count && c.Node.Input[i].Length > 0
            ? (b.ConstantValue(c.Node.Input[i]) is { } t ? TensorProtos.ToInt64s(t) : throw c.Unsupported($"non-constant {what}"))
            : Array.Empty<long>();
        var starts = Const(1, "starts"); var ends = Const(2, "ends");
        var axes = Const(3, "axes"); if (axes.Length == 0) axes = Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        var steps = Const(4, "steps"); if (steps.Length == 0) steps = Enumerable.Repeat(1L, starts.Length).ToArray();
        // Pad the gradient with zeros back to X's shape: before = first index taken, after = dim − (last index taken + 1).
        // An axis with step ≠ 1 first spreads its gradient back over the step (see SpreadStrided).
        var dy = c.DY;
        var before = new string[rank]; var after = new string[rank];
        bool dynamic = false;
        var padsStatic = new long[2 * rank];
        for (int i = 0; i < rank; i++) { before[i] = b.Ints(0); after[i] = b.Ints(0); }
        for (int k = 0; k < axes.Length; k++)
        {
            int a = (int)(axes[k] < 0 ? axes[k] + rank : axes[k]);
            long dim = xd[a];
            long step = steps[k];
            if (step == 0) throw c.Unsupported("Slice with step 0");
            if (dim >= 0)
            {
                var (s, e) = ShapeInference.SliceBounds(dim, starts[k], ends[k], step);
                long n = ShapeInference.SliceLength(dim, starts[k], ends[k], step);
                long first = 0, span = 0;   // the taken indices span [first, first + span)
                if (n > 0)
                {
                    first = step > 0 ? s : s + (n - 1) * step;
                    span = (n - 1) * Math.Abs(step) + 1;
                    if (step != 1) dy = SpreadStrided(b, dy, a, rank, n, step);
                }
                padsStatic[a] = first; padsStatic[a + rank] = dim - first - span;
                before[a] = b.Ints(first); after[a] = b.Ints(dim - first - span);
            }
            else
            {
                if (step != 1) throw c.Unsupported("Slice with step other than 1 along a dimension of unknown size");
                dynamic = true;
                var dimT = DimOf(b, x, a);
                // start' = clamp(start < 0 ? start + dim : start, 0, dim), likewise end; pads = start', dim − max(end', start').
                string Norm(long v)
                {
                    var t = v < 0 ? b.Add(b.Ints(v), dimT) : b.Ints(Math.Min(v, long.MaxValue / 2));
                    return b.Node("Min", new[] { b.Node("Max", new[] { t, b.Ints(0) }), dimT });
                }
                var sT = Norm(starts[k]); var eT = b.Node("Max", new[] { Norm(ends[k]), sT });
                before[a] = sT; after[a] = b.Sub(dimT, eT);
            }
        }
        var g = c.Grads();
        g[0] = dynamic
            ? b.Node("Pad", new[] { dy, b.Concat(0, before.Concat(after).ToArray()) }, "slice_dx", ("mode", "constant"))
            : b.Pad(dy, padsStatic);
        return g;
    }

    /// <summary>
    /// The gradient of <paramref name="n"/> elements taken every <paramref name="step"/> along <paramref name="axis"/>, laid out
    /// densely from the lowest taken index: reversed first when the step is negative, then each element followed by |step| − 1
    /// zeros (Unsqueeze, Pad the new axis, Reshape it away), cut after the last taken element: length (n − 1)·|step| + 1.
    /// </summary>
    static string SpreadStrided(GraphBuilder b, string dy, int axis, int rank, long n, long step)
    {
        if (step < 0) dy = b.Slice(dy, new[] { -1L }, new[] { long.MinValue }, new long[] { axis }, new[] { -1L });
        long m = Math.Abs(step);
        if (m == 1) return dy;
        var u = b.Node("Unsqueeze", new[] { dy, b.Ints(axis + 1) });
        var pads = new long[2 * (rank + 1)];
        pads[rank + 1 + axis + 1] = m - 1;
        var spread = b.Pad(u, pads);
        var parts = new List<string>();
        if (axis > 0) parts.Add(b.ShapeSlice(dy, 0, axis));
        parts.Add(b.Ints(n * m));
        if (axis + 1 < rank) parts.Add(b.ShapeSlice(dy, axis + 1, rank));
        var shape = parts.Count == 1 ? parts[0] : b.Concat(0, parts.ToArray());
        var flat = b.Reshape(spread, shape);
        return b.Slice(flat, new[] { 0L }, new[] { (n - 1) * m + 1 }, new long[] { axis });
    }

    static string?[] PadRule(GradientContext c)
    {
        var b = c.B;
        var n = c.Node;
        var x = c.X(0);
        int rank = b.Rank(x);
        var padsT = b.ConstantValue(n.Input[1]) ?? throw c.Unsupported("non-constant pads");
        var raw = TensorProtos.ToInt64s(padsT);
        var axes = n.Input.Count > 3 && n.Input[3].Length > 0
            ? TensorProtos.ToInt64s(b.ConstantValue(n.Input[3]) ?? throw c.Unsupported("non-constant axes"))
            : Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        if (raw.Length != 2 * axes.Length) throw c.Unsupported($"{raw.Length} pads for {axes.Length} axes");
        var pb = new long[rank]; var pe = new long[rank];
        for (int k = 0; k < axes.Length; k++)
        {
            if (axes[k] < -rank || axes[k] >= rank) throw c.Unsupported($"axis {axes[k]} of a rank-{rank} tensor");
            int a = (int)(axes[k] < 0 ? axes[k] + rank : axes[k]);
            pb[a] = raw[k]; pe[a] = raw[k + axes.Length];
        }
        if (pb.Concat(pe).Any(p => p < 0)) throw c.Unsupported("negative pads");
        string mode = n.GetString("mode", "constant");
        var g = c.Grads();
        if (n.Input.Count > 2 && c.Needs(2)) throw c.Unsupported("the gradient of the constant pad value");
        var dy = c.DY;
        if (mode == "constant")
        {
            var ax = Enumerable.Range(0, rank).Where(i => pb[i] != 0 || pe[i] != 0).Select(i => (long)i).ToArray();
            if (ax.Length == 0) { g[0] = dy; return g; }
            g[0] = b.Slice(dy, ax.Select(a => pb[a]).ToArray(), ax.Select(a => pe[a] == 0 ? long.MaxValue : -pe[a]).ToArray(), ax);
            return g;
        }
        if (mode != "reflect" && mode != "edge") throw c.Unsupported($"pad mode '{mode}'");
        // Undo the padding one axis at a time (padding axes one after another is the same as padding them together).
        var cur = dy;
        for (int a = rank - 1; a >= 0; a--)
        {
            if (pb[a] == 0 && pe[a] == 0) continue;
            cur = mode == "reflect" ? UnReflect(b, cur, x, a, pb[a], pe[a]) : UnEdge(b, cur, x, a, pb[a], pe[a]);
        }
        g[0] = cur;
        return g;
    }

    /// <summary>Pads along one axis with int64 tensors for the amounts (before, after).</summary>
    static string PadAxis(GraphBuilder b, string t, int rank, int axis, string before, string after)
    {
        var parts = new string[2 * rank];
        for (int i = 0; i < rank; i++) { parts[i] = b.Ints(0); parts[i + rank] = b.Ints(0); }
        parts[axis] = before; parts[axis + rank] = after;
        return b.Node("Pad", new[] { t, b.Concat(0, parts) }, null, ("mode", "constant"));
    }

    static string Reverse(GraphBuilder b, string t, int axis) =>
        b.Slice(t, new[] { -1L }, new[] { long.MinValue }, new long[] { axis }, new[] { -1L });

    static string UnReflect(GraphBuilder b, string dy, string x, int axis, long pb, long pe)
    {
        int rank = b.Rank(x);
        long size = b.Dims(x)?[axis] ?? -1;
        if (size > pb + pe + 1)
        {
            // Known size, disjoint borders: add each reversed border strip onto its few rows only and concatenate the pieces
            // (one copy of the tensor) instead of padding the strips to full size and summing three full tensors.
            var parts = new List<string>();
            long at = pb;
            void Centre(long from, long to) { if (to > from) parts.Add(b.Slice(dy, new[] { at + from }, new[] { at + to }, new long[] { axis })); }
            Centre(0, 1);
            if (pb > 0) parts.Add(b.Add(b.Slice(dy, new[] { at + 1 }, new[] { at + 1 + pb }, new long[] { axis }),
                Reverse(b, b.Slice(dy, new[] { 0L }, new[] { pb }, new long[] { axis }), axis)));
            Centre(1 + pb, size - 1 - pe);
            if (pe > 0) parts.Add(b.Add(b.Slice(dy, new[] { at + size - 1 - pe }, new[] { at + size - 1 }, new long[] { axis }),
                Reverse(b, b.Slice(dy, new[] { at + size }, new[] { at + size + pe }, new long[] { axis }), axis)));
            Centre(size - 1, size);
            return parts.Count == 1 ? parts[0] : b.Concat(axis, parts.ToArray());
        }
        var n = DimOf(b, x, axis);
        var center = b.Slice(dy, new[] { pb }, new[] { pe == 0 ? long.MaxValue : -pe }, new long[] { axis });
        var terms = new List<string> { center };
        if (pb > 0)
        {
            // dY[i] for i < pb came from x[pb − i]: reversed, it lands on x[1 … pb].
            var left = Reverse(b, b.Slice(dy, new[] { 0L }, new[] { pb }, new long[] { axis }), axis);
            terms.Add(PadAxis(b, left, rank, axis, b.Ints(1), b.Sub(n, b.Ints(1 + pb))));
        }
        if (pe > 0)
        {
            // dY[pb + n + j] came from x[n − 2 − j]: reversed, it lands on x[n − 1 − pe … n − 2].
            var right = Reverse(b, b.Slice(dy, new[] { -pe }, new[] { long.MaxValue }, new long[] { axis }), axis);
            terms.Add(PadAxis(b, right, rank, axis, b.Sub(n, b.Ints(1 + pe)), b.Ints(1)));
        }
        return b.Sum(terms);
    }

    static string UnEdge(GraphBuilder b, string dy, string x, int axis, long pb, long pe)
    {
        int rank = b.Rank(x);
        var n = DimOf(b, x, axis);
        var center = b.Slice(dy, new[] { pb }, new[] { pe == 0 ? long.MaxValue : -pe }, new long[] { axis });
        var terms = new List<string> { center };
        if (pb > 0)
        {
            var left = b.ReduceSum(b.Slice(dy, new[] { 0L }, new[] { pb }, new long[] { axis }), new long[] { axis }, keepdims: true);
            terms.Add(PadAxis(b, left, rank, axis, b.Ints(0), b.Sub(n, b.Ints(1))));
        }
        if (pe > 0)
        {
            var right = b.ReduceSum(b.Slice(dy, new[] { -pe }, new[] { long.MaxValue }, new long[] { axis }), new long[] { axis }, keepdims: true);
            terms.Add(PadAxis(b, right, rank, axis, b.Sub(n, b.Ints(1)), b.Ints(0)));
        }
        return b.Sum(terms);
    }
}
