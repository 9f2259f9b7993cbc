using MLStyle.Onnx;

namespace MLStyle.Autodiff;

// MaxPool, AveragePool, GlobalAveragePool and nearest Resize.
public static partial class GradientRules
{
    static void RegisterPooling(Dictionary<string, GradientRule> d)
    {
        d["MaxPool"] = MaxPoolRule;
        d["AveragePool"] = AveragePoolRule;
        d["GlobalAveragePool"] = c =>
        {
            var b = c.B;
            var x = c.X(0);
            int r = b.Rank(x);
            var dx = b.ExpandLike(c.DY, x);
            return new[] { b.Div(dx, SpatialCount(b, x, r)) };
        };
        d["Resize"] = ResizeRule;
    }

    /// <summary>H·W·… of a tensor as a float scalar (a constant when known).</summary>
    internal static string SpatialCount(GraphBuilder b, string x, int rank)
    {
        var dims = b.Dims(x);
        if (dims is not null && dims.Skip(2).All(v => v >= 0)) return b.Scalar(dims.Skip(2).Aggregate(1L, (p, v) => p * v));
        var prod = b.Node("ReduceProd", new[] { b.ShapeSlice(x, 2, rank) }, null, ("keepdims", 0));
        return b.Cast(prod, ElementType.Float);
    }

    static string?[] MaxPoolRule(GradientContext c)
    {
        var b = c.B;
        var n = c.Node;
        if (n.GetInt("storage_order", 0) != 0) throw c.Unsupported("storage_order=1");
        if (n.Output.Count < 2 || n.Output[1].Length == 0)
        {
            // Ask the forward MaxPool for the arg-max indices.
            if (n.Output.Count < 2) n.Output.Add(b.UniqueName(n.Output[0] + "_indices"));
            else n.Output[1] = b.UniqueName(n.Output[0] + "_indices");
            b.Infer(n);
        }
        var x = c.X(0);
        var flatIdx = b.Reshape(n.Output[1], -1L);
        var flatDy = b.Reshape(c.DY, -1L);
        var zeros = b.Reshape(b.ZerosLike(x), -1L);
        var scattered = b.Node("ScatterElements", new[] { zeros, flatIdx, flatDy }, "maxpool_dx", ("axis", 0L), ("reduction", "add"));
        return new[] { b.ReshapeLike(scattered, x) };
    }

    static string?[] AveragePoolRule(GradientContext c)
    {
        var b = c.B;
        var n = c.Node;
        var x = c.X(0);
        var xd = c.Dims(x);
        int sp = xd.Length - 2;
        long channels = xd[1];
        if (channels < 0) throw c.Unsupported("the channel count is unknown");
        var kernel = n.GetInts("kernel_shape")!;
        var geo = Geometry(c, xd, kernel);
        bool includePad = n.GetInt("count_include_pad", 0) != 0;
        bool ceil = n.GetInt("ceil_mode", 0) != 0;
        long window = kernel.Aggregate(1L, (p, v) => p * v);
        string scaled = !ceil && (includePad || geo.Pads.All(p => p == 0))
            ? b.Mul(c.DY, 1f / window)                          // every window holds kH·kW counted positions
            : b.Div(c.DY, WindowCounts(b, x, c.DY, geo, includePad, ceil));
        var kernelOnes = Enumerable.Repeat(1f, (int)(channels * window)).ToArray();
        var wk = b.Constant(kernelOnes, new[] { channels, 1L }.Concat(kernel).ToArray(), "avgpool_kernel");
        return new[] { BackToInput(b, scaled, wk, x, geo, channels) };
    }

    /// <summary>
    /// The divisor ONNX Runtime uses for each output position of an AveragePool: the number of real input positions in the
    /// window (count_include_pad = 0), or the number of positions inside the padded input (count_include_pad = 1; with
    /// ceil_mode a last window can reach past the end padding, and only the part inside it counts). Computed as a Conv of
    /// ones with a ones kernel, shaped [1, 1, out…] (ONNX Runtime folds it to a constant for fixed shapes).
    /// </summary>
    static string WindowCounts(GraphBuilder b, string x, string dy, ConvGeometry geo, bool includePad, bool ceil)
    {
        int sp = geo.Spatial, rank = sp + 2;
        var padTotal = Enumerable.Range(0, sp).Select(i => includePad ? geo.Pads[i] + geo.Pads[i + sp] : 0L).ToArray();
        var spatial = b.ShapeSlice(x, 2, rank);
        if (padTotal.Any(p => p != 0)) spatial = b.Add(spatial, b.Ints(padTotal));
        var ones = b.Node("ConstantOfShape", new[] { b.Concat(0, b.Ints(1, 1), spatial) }, "pool_ones",
            ("value", TensorProtos.FromFloats("", new[] { 1f }, 1)));
        if (b.Dims(x) is { } xd)
            b.SetInfo(ones, TensorInfo.Float(new long[] { 1, 1 }.Concat(Enumerable.Range(0, sp).Select(i => xd[i + 2] < 0 ? -1 : xd[i + 2] + padTotal[i])).ToArray()));
        // Zero padding contributes nothing to the count; ceil_mode windows may reach up to stride − 1 past the end padding.
        var pads = new long[2 * sp];
        for (int i = 0; i < sp; i++)
        {
            pads[i] = includePad ? 0 : geo.Pads[i];
            pads[i + sp] = (includePad ? 0 : geo.Pads[i + sp]) + (ceil ? geo.Strides[i] - 1 : 0);
        }
        var kOnes = b.Constant(Enumerable.Repeat(1f, (int)geo.Kernel.Aggregate(1L, (p, v) => p * v)).ToArray(),
            new long[] { 1, 1 }.Concat(geo.Kernel).ToArray(), "pool_count_kernel");
        var counts = b.Node("Conv", new[] { ones, kOnes }, "pool_count",
            ("kernel_shape", geo.Kernel), ("strides", geo.Strides), ("pads", pads), ("dilations", geo.Dilations));
        return b.FitSpatial(counts, dy);
    }

    /// <summary>
    /// Spreads a pooled gradient back over the input: ConvTranspose with the pooling geometry, cropping only the leading
    /// padding, then cropping or zero-filling the end to X's size. (ConvTranspose's own end crop would drop real rows
    /// whenever the windows stop short of the end padding, e.g. odd sizes or asymmetric pads.)
    /// </summary>
    internal static string BackToInput(GraphBuilder b, string dy, string w, string x, ConvGeometry geo, long group)
    {
        int sp = geo.Spatial;
        var leadPads = geo.Pads.Select((p, i) => i < sp ? p : 0L).ToArray();
        var ct = b.Node("ConvTranspose", new[] { dy, w }, "pool_dx",
            ("strides", geo.Strides), ("pads", leadPads), ("group", group), ("kernel_shape", geo.Kernel), ("dilations", geo.Dilations));
        return b.FitSpatial(ct, x);
    }

    static string?[] ResizeRule(GradientContext c)
    {
        var b = c.B;
        var n = c.Node;
        var x = c.X(0);
        var xd = c.Dims(x);
        if (n.GetString("mode", "nearest") != "nearest") throw c.Unsupported("only mode 'nearest' is differentiable");
        string ctm = n.GetString("coordinate_transformation_mode", "half_pixel");
        string nearest = n.GetString("nearest_mode", "round_prefer_floor");
        float[]? scales = null;
        if (n.Input.Count > 2 && n.Input[2].Length > 0 && b.ConstantValue(n.Input[2]) is { } st) scales = TensorProtos.ToFloats(st);
        if ((scales is null || scales.Length == 0) && n.Input.Count > 3 && b.ConstantValue(n.Input[3]) is { } sz)
        {
            var sizes = TensorProtos.ToInt64s(sz);
            if (xd.Any(v => v < 0)) throw c.Unsupported("Resize by 'sizes' needs a known input shape");
            scales = sizes.Select((s, i) => (float)s / xd[i]).ToArray();
        }
        if (scales is null || scales.Length != xd.Length) throw c.Unsupported("Resize needs constant scales");
        if (scales[0] != 1f || scales[1] != 1f || scales.Any(s => s < 1f || s != MathF.Round(s)))
            throw c.Unsupported("only integer spatial upscaling is differentiable");
        bool blockExact = ctm switch
        {
            "asymmetric" => nearest == "floor",
            // Source index (x + ½)/k − ½ is never a half-integer for integer k, so rounding maps blocks of k; floor/ceil do not.
            "half_pixel" or "pytorch_half_pixel" => nearest is "round_prefer_floor" or "round_prefer_ceil",
            _ => false,
        };
        if (!blockExact) throw c.Unsupported($"coordinate_transformation_mode '{ctm}' with nearest_mode '{nearest}' is not a block upscaling");
        var k = scales.Skip(2).Select(s => (long)s).ToArray();
        if (k.All(v => v == 1)) return new[] { c.DY, null, null, null };
        var pooled = b.Node("AveragePool", new[] { c.DY }, "resize_dx", ("kernel_shape", k), ("strides", k));
        var g = c.Grads();
        g[0] = b.Mul(pooled, (float)k.Aggregate(1L, (p, v) => p * v));
        return g;
    }
}
